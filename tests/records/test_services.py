"""Patients and charts through the services: identifiers, the blind index, validation, the audit rows."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select, text

from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.core.errors import DomainError
from app.extensions import db
from app.records import access, services
from app.records.models import EntryKind, EntryStatus, Patient
from tests.conftest import SET_UP

CONTENT = {
    EntryKind.ALLERGY: {"substance": "Penicillin", "reaction": "rash", "severity": "severe", "verified": True},
    EntryKind.PROBLEM: {"condition": "Type 2 diabetes", "onset": "2019"},
    EntryKind.MEDICATION: {"drug": "Metformin", "dose": "500 mg", "frequency": "twice daily"},
    EntryKind.VITALS: {"systolic": 128, "diastolic": 82, "pulse": 71, "temperature_c": 36.8},
    EntryKind.NOTE: {"text": "Feels well; review in three months."},
}


def audit_rows(patient_id=None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    return list(db.session.execute(query.execution_options(populate_existing=True)).scalars())


def test_patient_gets_a_checked_mrn_and_plain_searchable_identifiers(app_ctx):
    patient = services.patient_create(given_name="  Wanjiru ", family_name="Kamau", phone="+254 712-345 678",
                                      date_of_birth=dt.date(1990, 5, 17))
    db.session.commit()
    assert patient.mrn == services.mrn_for(patient.id)
    assert patient.mrn.startswith("MA") and len(patient.mrn) == 10
    row = db.session.execute(text("SELECT given_name, name_search, phone, mrn FROM patients WHERE id = :id"),
                             {"id": patient.id}).one()
    assert row == ("Wanjiru", "wanjiru kamau", "+254712345678", patient.mrn)


@pytest.mark.parametrize("patient_id", [1, 10, 1234, 90817, 5550123])
def test_a_single_mistyped_digit_never_gives_another_valid_mrn(patient_id):
    mrn = services.mrn_for(patient_id)
    digits = mrn[2:9]
    for i in range(7):
        for replacement in "0123456789":
            typo = digits[:i] + replacement + digits[i + 1:]
            if typo != digits and int(typo) > 0:
                assert services.mrn_for(int(typo)) != f"MA{typo}{mrn[-1]}", (mrn, typo)


def test_patient_needs_a_given_name_and_a_past_date_of_birth(app_ctx):
    with pytest.raises(DomainError) as error:
        services.patient_create(given_name="  ", family_name="X")
    assert error.value.field == "given_name"
    with pytest.raises(DomainError) as error:
        services.patient_create(given_name="A", family_name="B", date_of_birth=dt.date.today() + dt.timedelta(days=1))
    assert error.value.field == "date_of_birth"


def test_national_id_is_found_by_exact_value_through_a_blind_index(app_ctx):
    patient = services.patient_create(given_name="Baraka", family_name="Mwangi", national_id="KE-30998877")
    other = services.patient_create(given_name="Zawadi", family_name="Njeri", national_id="KE-11112222")
    db.session.commit()

    found = services.patient_find_by_national_id("KE-30998877")
    assert found is not None and found.id == patient.id
    # the index normalises case and spacing, as typed at a desk
    assert services.patient_find_by_national_id(" ke-30998877 ").id == patient.id
    assert services.patient_find_by_national_id("KE-3099887") is None
    assert services.patient_find_by_national_id("KE-11112222").id == other.id

    stored_index, stored_value = db.session.execute(
        text("SELECT national_id_index, national_id FROM patients WHERE id = :id"), {"id": patient.id}).one()
    assert stored_index != "KE-30998877" and "30998877" not in stored_index
    assert len(stored_index) == 64 and int(stored_index, 16) >= 0
    assert b"30998877" not in bytes(stored_value)
    assert db.session.get(Patient, patient.id).national_id == "KE-30998877"


def test_a_national_id_registers_once(app_ctx):
    services.patient_create(given_name="Baraka", family_name="Mwangi", national_id="KE-30998877")
    db.session.commit()
    with pytest.raises(DomainError) as error:
        services.patient_create(given_name="Other", family_name="Person", national_id="ke-30998877")
    assert error.value.field == "national_id"


def test_every_kind_of_entry_is_stored_and_audited_as_a_create(app_ctx, make_user, care):
    doctor = make_user()
    patient = services.patient_create(given_name="Amani", family_name="Otieno")
    db.session.commit()
    care(doctor, patient.id)
    actor = Actor.for_user(doctor)
    created = {}
    for kind, content in CONTENT.items():
        created[kind] = services.entry_add(actor=actor, patient_id=patient.id, kind=kind, content=content)
    db.session.commit()

    rows = audit_rows(patient.id)
    assert [(r.action, r.target, r.outcome, r.reason) for r in rows] == [
        (f"{kind.value}.create", f"clinical_entry:{created[kind].id}", "allowed", "care") for kind in CONTENT
    ]
    assert all((r.actor_role, r.actor_user_id, r.patient_id) == ("doctor", doctor.id, patient.id) for r in rows)
    assert {entry.recorded_by_id for entry in created.values()} == {doctor.id}

    chart = services.chart_read(actor=actor, patient_id=patient.id)
    db.session.commit()
    for kind, content in CONTENT.items():
        assert [entry.content for entry in chart[kind]] == [content]
    assert audit_rows(patient.id)[-1].action == "chart.read"


def test_a_chart_read_is_audited_in_its_own_transaction_or_not_at_all(app_ctx, make_user):
    patient = services.patient_create(given_name="Amani", family_name="Otieno")
    db.session.commit()
    services.chart_read(actor=SET_UP, patient_id=patient.id)
    db.session.rollback()  # the read was abandoned: no row, and nothing left over for the next commit
    db.session.commit()
    assert audit_rows(patient.id) == []

    doctor = Actor.for_user(make_user())
    grant = access.emergency_grant(actor=doctor, patient_id=patient.id, why="unconscious on arrival")
    services.chart_read(actor=dataclasses.replace(doctor, grants=(grant,)), patient_id=patient.id)
    db.session.commit()
    [row] = [r for r in audit_rows(patient.id) if r.action == "chart.read"]
    assert (row.action, row.reason, row.reason_detail, row.target) == \
        ("chart.read", "emergency", "unconscious on arrival", None)


def test_entries_entered_in_error_stay_on_the_chart_and_the_change_is_audited(app_ctx):
    patient = services.patient_create(given_name="Amani", family_name="Otieno")
    entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY, content={"substance": "Latex"},
                               recorded_by_id=None)
    db.session.commit()
    services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=entry.id,
                              status=EntryStatus.ENTERED_IN_ERROR, reason="Wrong patient.")
    db.session.commit()
    [kept] = services.chart_read(actor=SET_UP, patient_id=patient.id)[EntryKind.ALLERGY]
    assert (kept.id, kept.status, kept.latest_version.reason) == (entry.id, "entered_in_error", "Wrong patient.")
    db.session.commit()
    assert [r.action for r in audit_rows(patient.id)] == ["allergy.create", "allergy.entered_in_error", "chart.read"]


def test_history_update_is_encrypted_and_audited(app_ctx):
    patient = services.patient_create(given_name="Amani", family_name="Otieno")
    services.history_update(actor=SET_UP, patient_id=patient.id, history="  Appendectomy 2004  ")
    db.session.commit()
    assert db.session.execute(text("SELECT history FROM patients")).scalar_one() != b"Appendectomy 2004"
    db.session.expire_all()
    assert services.patient_get(patient.id).history == "Appendectomy 2004"
    assert [r.action for r in audit_rows(patient.id)] == ["history.update"]


@pytest.mark.parametrize("kind, content, field", [
    (EntryKind.VITALS, {"systolic": 400}, "systolic"),
    (EntryKind.VITALS, {"pulse": "fast"}, "pulse"),
    (EntryKind.VITALS, {"mood": 3}, None),
    (EntryKind.VITALS, {"systolic": None, "pulse": ""}, None),
    (EntryKind.NOTE, {"text": "   "}, "subjective"),
    (EntryKind.NOTE, {"subjective": " ", "plan": ""}, "subjective"),
    (EntryKind.PROBLEM, {"onset": "2019"}, "condition"),
    (EntryKind.PROBLEM, {"code": "Z99.9"}, "code"),
    (EntryKind.ALLERGY, {"reaction": "hives"}, "substance"),
])
def test_invalid_entries_are_refused_with_a_domain_error(app_ctx, kind, content, field):
    patient = services.patient_create(given_name="Amani", family_name="Otieno")
    with pytest.raises(DomainError) as error:
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=kind, content=content, recorded_by_id=None)
    assert error.value.field == field


@pytest.mark.parametrize("kind, start, to, allowed", [
    (EntryKind.ALLERGY, EntryStatus.ACTIVE, EntryStatus.RESOLVED, True),
    (EntryKind.MEDICATION, EntryStatus.ACTIVE, EntryStatus.RESOLVED, True),
    (EntryKind.VITALS, EntryStatus.ACTIVE, EntryStatus.RESOLVED, False),   # a reading does not end
    (EntryKind.NOTE, EntryStatus.ACTIVE, EntryStatus.RESOLVED, False),
    (EntryKind.NOTE, EntryStatus.ACTIVE, EntryStatus.ENTERED_IN_ERROR, True),
    (EntryKind.PROBLEM, EntryStatus.RESOLVED, EntryStatus.RESOLVED, False),  # once is enough
    (EntryKind.PROBLEM, EntryStatus.RESOLVED, EntryStatus.ACTIVE, False),
    (EntryKind.PROBLEM, EntryStatus.ACTIVE, EntryStatus.ACTIVE, False),
])
def test_which_entries_may_be_resolved_or_struck_out_is_the_services_rule(app_ctx, kind, start, to, allowed):
    patient = services.patient_create(given_name="Amani", family_name="Otieno")
    entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=kind, content=CONTENT[kind])
    entry.status = start.value
    db.session.commit()
    assert entry.may_become(to) is allowed
    if allowed:
        services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=entry.id, status=to, reason="Wrong chart.")
    else:
        with pytest.raises(DomainError):
            services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=entry.id, status=to)
    db.session.rollback()
