"""Refills (asked from the phone, approved or declined by the prescriber, the count enforced) and the
printed prescription with its QR and public check."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.notifications.models import Notification
from app.prescriptions import dispensing, refills
from app.prescriptions.models import Dispense, Prescription, RefillRequest
from tests.conftest import Browser
from tests.prescriptions.conftest import actor_for
from tests.prescriptions.test_prescribing import item, sign


def collected(app, clinic, refills_allowed=1) -> int:
    """A paracetamol prescription with refills, prepared, ready and handed over."""
    rx = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000", quantity=10)], refills=refills_allowed)
    pharmacist, site = actor_for(clinic["pharmacist"]), clinic["pharmacy"]
    with app.app_context():
        for step in (dispensing.prescription_prepare, dispensing.prescription_mark_ready,
                     dispensing.prescription_dispense):
            step(actor=pharmacist, site_id=site, prescription_id=rx)
        db.session.commit()
    return rx


def test_a_refill_asked_twice_is_one_request_and_approval_sends_it_to_the_pharmacy_again(app, clinic):
    rx = collected(app, clinic)
    patient = actor_for(clinic["patient_user"])
    with app.app_context():
        first = refills.refill_request(actor=patient, prescription_id=rx).id
        db.session.commit()
        assert refills.refill_request(actor=patient, prescription_id=rx).id == first
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(RefillRequest)).scalar_one() == 1
        refills.refill_approve(actor=actor_for(clinic["doctor"]), request_id=first)
        db.session.commit()
        prescription = db.session.get(Prescription, rx)
        assert (prescription.status, prescription.refills_used) == ("sent", 1)
        # the patient is told again, a new message (not the first dispense's)
        assert db.session.execute(select(Notification).where(Notification.dedupe_key == f"rx:{rx}:1:sent:sms")).first()
        with pytest.raises(DomainError, match="already been answered"):
            refills.refill_approve(actor=actor_for(clinic["doctor"]), request_id=first)
        db.session.rollback()
    pharmacist, site = actor_for(clinic["pharmacist"]), clinic["pharmacy"]
    with app.app_context():
        for step in (dispensing.prescription_prepare, dispensing.prescription_mark_ready,
                     dispensing.prescription_dispense):
            step(actor=pharmacist, site_id=site, prescription_id=rx)
        db.session.commit()
        assert db.session.execute(select(Dispense.number).order_by(Dispense.number)).scalars().all() == [0, 1]
        with pytest.raises(DomainError, match="No refills are left"):
            refills.refill_request(actor=patient, prescription_id=rx)


def test_a_declined_refill_tells_the_patient_to_look_and_keeps_the_reason_in_the_app(app, clinic):
    rx = collected(app, clinic)
    with app.app_context():
        request = refills.refill_request(actor=actor_for(clinic["patient_user"]), prescription_id=rx)
        db.session.commit()
        with pytest.raises(DomainError):
            refills.refill_decline(actor=actor_for(clinic["doctor"]), request_id=request.id, note="  ")
        refills.refill_decline(actor=actor_for(clinic["doctor"]), request_id=request.id,
                               note="Your liver tests first: book a visit")
        db.session.commit()
        sms = db.session.execute(select(Notification.body).where(
            Notification.dedupe_key == f"rx:{rx}:0:refill1-declined:sms")).scalar_one()
        assert "liver" not in sms
    browser = Browser(app.test_client())
    browser.login(clinic["patient_user"].email)
    assert "Your liver tests first: book a visit" in browser.get("/patient/prescriptions/").get_data(as_text=True)


def test_nobody_asks_a_refill_of_someone_elses_prescription_and_only_the_prescriber_decides(app, clinic, make_user):
    from app.accounts.models import Role

    rx = collected(app, clinic)
    with app.app_context():
        with pytest.raises(NotFound):
            refills.refill_request(actor=actor_for(make_user(Role.PATIENT)), prescription_id=rx)
        request = refills.refill_request(actor=actor_for(clinic["patient_user"]), prescription_id=rx)
        db.session.commit()
        with pytest.raises(NotFound):
            refills.refill_approve(actor=actor_for(make_user(Role.DOCTOR)), request_id=request.id)


def test_the_patient_asks_from_the_phone_and_the_doctor_approves_on_the_page(app, clinic):
    rx = collected(app, clinic, refills_allowed=2)
    patient = Browser(app.test_client())
    patient.login(clinic["patient_user"].email)
    mine = patient.get("/patient/prescriptions/").get_data(as_text=True)
    assert f"/patient/prescriptions/{rx}/refill" in mine
    assert patient.post(f"/patient/prescriptions/{rx}/refill", page="/patient/prescriptions/").status_code == 303
    doctor = Browser(app.test_client())
    doctor.login(clinic["doctor"].email)
    page = doctor.get("/doctor/prescriptions/").get_data(as_text=True)
    assert "Refill requests" in page and clinic["patient"].full_name in page
    with app.app_context():
        request_id = db.session.execute(select(RefillRequest.id)).scalar_one()
    assert doctor.post(f"/doctor/prescriptions/refills/{request_id}/approve", page="/doctor/prescriptions/").status_code == 303
    with app.app_context():
        assert db.session.get(Prescription, rx).status == "sent"


def test_the_printed_prescription_has_its_qr_and_the_public_check_shows_no_medicine_nor_name(app, clinic):
    rx = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000")])
    with app.app_context():
        prescription = db.session.get(Prescription, rx)
        token, code = prescription.verification_token, prescription.collection_code
    doctor = Browser(app.test_client())
    doctor.login(clinic["doctor"].email)
    printed = doctor.get(f"/doctor/prescriptions/{rx}/print").get_data(as_text=True)
    assert "<svg" in printed and code in printed and f"/rx/{token}" in printed and "Paracetamol 500 mg" in printed
    anyone = app.test_client()
    check = anyone.get(f"/rx/{token}")
    body = check.get_data(as_text=True)
    assert check.status_code == 200 and "Genuine MyAfya prescription" in body and "New" in body
    assert "Paracetamol" not in body and clinic["patient"].family_name not in body
    assert "no-store" in check.headers.get("Cache-Control", "")
    assert anyone.get("/rx/not-a-real-token").status_code == 404


def test_another_patient_cannot_print_it(app, clinic, make_user):
    from app.accounts.models import Role

    rx = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000")])
    other = Browser(app.test_client())
    other.login(make_user(Role.PATIENT).email)
    assert other.get(f"/patient/prescriptions/{rx}/print").status_code == 404
