"""Prescribing with safety checks, and the pharmacy's side of it: as a doctor, a pharmacist and a
patient see it. Checks run against the seeded formulary and the chart, through the records gate."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.notifications.models import Notification
from app.prescriptions import dispensing, prescribing
from app.prescriptions.models import Dispense, Prescription, StockBatch
from app.prescriptions.prescribing import ItemInput
from app.records.access import ChartAccessDenied
from tests.prescriptions.conftest import actor_for


def item(clinic, name, form=None, dose="500", quantity=10, frequency="tds", days_=5):
    return ItemInput(medicine_id=clinic["medicine"](name, form), dose=Decimal(dose), route="oral", frequency=frequency,
                     days=days_, quantity=quantity)


def sign(app, clinic, items, overrides=None, refills=0):
    with app.app_context():
        prescription = prescribing.prescription_sign(actor=actor_for(clinic["doctor"]), patient_id=clinic["patient"].id,
                                                     pharmacy_id=clinic["pharmacy"], items=items, refills=refills,
                                                     overrides=overrides or {})
        db.session.commit()
        return prescription.id


def findings(app, clinic, items):
    with app.app_context(), pytest.raises(prescribing.NeedsOverride) as needs:
        prescribing.prescription_sign(actor=actor_for(clinic["doctor"]), patient_id=clinic["patient"].id,
                                      pharmacy_id=clinic["pharmacy"], items=items, refills=0, overrides={})
    with app.app_context():
        assert db.session.execute(select(Prescription)).first() is None
    return needs.value.findings


def test_a_severe_allergy_to_the_class_is_a_hard_stop_no_reason_overrides(app, clinic):
    found = findings(app, clinic, [item(clinic, "Amoxicillin", "capsule")])
    assert [(f.kind, f.hard_stop) for f in found] == [("allergy", True)]
    assert "severe allergy to Penicillin" in found[0].message and "same class" in found[0].message
    with app.app_context(), pytest.raises(prescribing.NeedsOverride):
        prescribing.prescription_sign(actor=actor_for(clinic["doctor"]), patient_id=clinic["patient"].id,
                                      pharmacy_id=clinic["pharmacy"], items=[item(clinic, "Amoxicillin", "capsule")],
                                      refills=0, overrides={found[0].key: "I know the patient well"})


def test_warnings_need_a_reason_each_and_the_reasons_are_kept_and_audited(app, clinic):
    cotrimoxazole = item(clinic, "Sulfamethoxazole + trimethoprim", dose="960", frequency="bd")
    found = findings(app, clinic, [cotrimoxazole])
    assert sorted(f.kind for f in found) == ["allergy", "interaction"]
    assert not any(f.hard_stop for f in found)
    interaction = next(f for f in found if f.kind == "interaction")
    assert "Warfarin 5 mg" in interaction.message and "raises INR" in interaction.message
    with app.app_context(), pytest.raises(prescribing.NeedsOverride):  # one reason is not enough
        prescribing.prescription_sign(actor=actor_for(clinic["doctor"]), patient_id=clinic["patient"].id,
                                      pharmacy_id=clinic["pharmacy"], items=[cotrimoxazole], refills=0,
                                      overrides={found[0].key: "Rash only, years ago"})
    prescription_id = sign(app, clinic, [cotrimoxazole], {f.key: "PCP prophylaxis; INR check Friday" for f in found})
    with app.app_context():
        prescription = db.session.get(Prescription, prescription_id)
        assert [o["reason"] for o in prescription.overrides] == ["PCP prophylaxis; INR check Friday"] * 2
        actions = db.session.execute(select(AuditEvent.action, AuditEvent.reason).where(
            AuditEvent.target == f"prescription:{prescription_id}").order_by(AuditEvent.seq)).all()
        assert actions == [("prescription.sign", "prescribing"), ("prescription.override.allergy", "prescribing"),
                           ("prescription.override.interaction", "prescribing")]
        # the checks read allergies and medicines through the gate, audited with their purpose
        reads = db.session.execute(select(AuditEvent.action).where(AuditEvent.reason == "prescribing",
                                                                   AuditEvent.action.like("%.read"))).scalars().all()
        assert set(reads) == {"allergy.read", "medication.read"}


def test_a_dose_outside_the_usual_range_and_duplicate_therapy_are_warnings(app, clinic):
    found = findings(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="5000"),
                                   item(clinic, "Ibuprofen", dose="400"), item(clinic, "Diclofenac", dose="50")])
    kinds = sorted(f.kind for f in found)
    assert kinds.count("dose") == 1 and "usually 500 to 1000 mg" in next(f.message for f in found if f.kind == "dose")
    assert "duplicate" in kinds  # ibuprofen and diclofenac: two NSAIDs
    assert kinds.count("interaction") >= 2  # each NSAID with warfarin


def test_a_clean_prescription_is_signed_and_the_patient_is_told_the_code_without_the_drug(app, clinic):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000", quantity=20)])
    with app.app_context():
        prescription = db.session.get(Prescription, prescription_id)
        code = prescription.collection_code
        assert len(code) == 6 and prescription.status == "sent"
        messages = db.session.execute(select(Notification).where(Notification.dedupe_key.like(f"rx:{prescription_id}:%"))).scalars().all()
        assert sorted(m.channel for m in messages) == ["email", "in_app", "sms"]
        sms = next(m for m in messages if m.channel == "sms")
        assert code in sms.body and "Paracetamol" not in sms.body and "dawa" in sms.body.lower()  # in Swahili


def test_a_doctor_without_care_cannot_prescribe_and_learns_nothing(app, clinic, make_user):
    stranger = make_user(Role.DOCTOR)
    with app.app_context(), pytest.raises(ChartAccessDenied):
        prescribing.prescription_sign(actor=actor_for(stranger), patient_id=clinic["patient"].id,
                                      pharmacy_id=clinic["pharmacy"], items=[item(clinic, "Paracetamol", "tablet")],
                                      refills=0, overrides={})


def test_the_pharmacy_prepares_marks_ready_and_dispenses_from_stock(app, clinic):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000", quantity=20)])
    pharmacist = actor_for(clinic["pharmacist"])
    site = clinic["pharmacy"]
    with app.app_context():
        view = dispensing.prescription_read(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        assert sorted(a.content["substance"] for a in view.allergies) == ["Penicillin", "Sulfa drugs"]
        with pytest.raises(DomainError, match="Mark it ready"):
            dispensing.prescription_dispense(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        db.session.rollback()
        dispensing.prescription_prepare(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        dispensing.prescription_mark_ready(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        db.session.commit()
        ready = db.session.execute(select(Notification.body).where(
            Notification.dedupe_key == f"rx:{prescription_id}:0:ready:sms")).scalar_one()
        assert "Paracetamol" not in ready
        dispensing.prescription_dispense(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        db.session.commit()
        dispense = db.session.execute(select(Dispense)).scalar_one()
        assert dispense.batches[0]["quantity"] == 20 and dispense.charge_cents == 20 * 100
        assert db.session.execute(select(StockBatch.quantity).where(StockBatch.batch_number == "Par-1")).scalar_one() == 80
        assert db.session.get(Prescription, prescription_id).status == "dispensed"
        reasons = set(db.session.execute(select(AuditEvent.reason).where(AuditEvent.actor_user_id == clinic["pharmacist"].id,
                                                                          AuditEvent.patient_id.is_not(None))).scalars())
        assert reasons == {"dispensing"}


def test_a_dispense_that_cannot_be_filled_says_what_is_short_and_takes_nothing(app, clinic):
    found = findings(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000", quantity=20),
                                   item(clinic, "Ibuprofen", dose="400", quantity=40)])
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000", quantity=20),
                                         item(clinic, "Ibuprofen", dose="400", quantity=40)],
                           {f.key: "Short course, INR checked" for f in found})
    pharmacist, site = actor_for(clinic["pharmacist"]), clinic["pharmacy"]
    with app.app_context():
        dispensing.prescription_prepare(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        dispensing.prescription_mark_ready(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        db.session.commit()
        with pytest.raises(DomainError, match="Only 30 tablet of Ibuprofen 400 mg .*10 short"):
            dispensing.prescription_dispense(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        db.session.rollback()
        assert db.session.execute(select(StockBatch.quantity).where(StockBatch.batch_number == "Par-1")).scalar_one() == 100
        assert db.session.get(Prescription, prescription_id).status == "ready"


def test_another_pharmacy_cannot_see_or_move_it_and_a_query_reaches_the_prescriber(app, clinic, pharmacist_at):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000")])
    theirs = actor_for(pharmacist_at(clinic["other_pharmacy"]))
    with app.app_context():
        for attempt in (dispensing.prescription_read, dispensing.prescription_prepare):
            with pytest.raises(NotFound):
                attempt(actor=theirs, site_id=clinic["other_pharmacy"], prescription_id=prescription_id)
        with pytest.raises(DomainError):
            dispensing.prescription_find(site_id=clinic["other_pharmacy"],
                                         code=db.session.get(Prescription, prescription_id).collection_code)
        dispensing.prescription_query(actor=actor_for(clinic["pharmacist"]), site_id=clinic["pharmacy"],
                                      prescription_id=prescription_id, note="Tablets or syrup? She cannot swallow.")
        db.session.commit()
        notice = db.session.execute(select(Notification).where(Notification.user_id == clinic["doctor"].id)).scalar_one()
        assert clinic["patient"].full_name in notice.body and "question" in notice.body


def test_the_collection_code_is_found_however_the_patient_reads_it(app, clinic):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000")])
    with app.app_context():
        code = db.session.get(Prescription, prescription_id).collection_code
        typed = f" {code[:3].lower()}-{code[3:]} "
        assert dispensing.prescription_find(site_id=clinic["pharmacy"], code=typed).id == prescription_id


def test_two_pharmacists_marking_it_ready_at_once_move_it_once(app, clinic):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000")])
    with app.app_context():
        first = db.session.get(Prescription, prescription_id)
        db.session.execute(Prescription.__table__.update().where(Prescription.id == prescription_id)
                           .values(status="preparing"))  # another pharmacist moved it after we read it
        with pytest.raises(DomainError, match="Someone else changed"):
            from app.prescriptions.models import PrescriptionStatus
            from app.prescriptions.status import status_move
            status_move(first, PrescriptionStatus.PREPARING)


def test_ready_for_delivery_tells_the_patient_it_is_coming_not_to_collect(app, clinic):
    prescription_id = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000")])
    pharmacist, site = actor_for(clinic["pharmacist"]), clinic["pharmacy"]
    with app.app_context():
        dispensing.prescription_prepare(actor=pharmacist, site_id=site, prescription_id=prescription_id)
        dispensing.prescription_mark_ready(actor=pharmacist, site_id=site, prescription_id=prescription_id,
                                           delivery=True)
        db.session.commit()
        assert db.session.get(Prescription, prescription_id).delivery is True
        sms = db.session.execute(select(Notification.body).where(
            Notification.dedupe_key == f"rx:{prescription_id}:0:ready:sms")).scalar_one()
        code = db.session.get(Prescription, prescription_id).collection_code
        assert code in sms and "Paracetamol" not in sms and "counter" not in sms
