"""One record per person (issue 12 item 2): the desk is shown likely duplicates before registering a
walk-in; an admin merges two records (what belongs to the duplicate moves, audited) and can undo it
exactly; nobody else can."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.extensions import db
from app.records import duplicates, merge, services
from app.records.models import ClinicalEntry, EntryKind, Patient
from app.records.queries import patients_search
from app.scheduling.models import Appointment

BORN = dt.date(1985, 3, 14)


@pytest.mark.parametrize("a, b, similar", [
    ("Daniel Kamau", "Kamau Daniel", True),
    ("Daniel Kamau", "Danel Kamau", True),
    ("Dan Kamau", "Daniel Kamau", True),
    ("Daniel Mwangi Kamau", "Kamau Daniel", True),
    ("Zoë Wanjiru", "zoe WANJIRU", True),
    ("Mary Wanjiru", "Mary Kamau", False),
    ("Daniel", "Daniel Kamau", False),
    ("Ann Otieno", "Anna Odhiambo", False),
])
def test_the_name_rule_is_order_insensitive_and_forgives_one_typo(a, b, similar):
    assert duplicates.names_similar(duplicates.name_words(a), duplicates.name_words(b)) is similar


@pytest.fixture
def admin(make_user):
    boss = make_user(Role.ADMIN)
    return lambda: Actor(user_id=boss.id, role=Role.ADMIN.value)


def desk() -> Actor:
    return Actor(user_id=2, role=Role.RECEPTION.value)


def test_a_duplicate_walk_in_is_caught_by_phone_or_by_birthday_and_name(app_ctx):
    daniel = services.patient_create(given_name="Daniel", family_name="Kamau", phone="0722 333 444",
                                     date_of_birth=BORN)
    db.session.commit()
    for typed in [dict(given_name="Kamau", family_name="Daniel", date_of_birth=BORN),
                  dict(given_name="Someone", family_name="Else", phone="+254722333444")]:
        with pytest.raises(services.LikelyDuplicates) as found:
            services.patient_register_at_desk(actor=desk(), **typed)
        assert [p.id for p in found.value.patients] == [daniel.id]
    with pytest.raises(services.LikelyDuplicates) as found:
        services.patient_register_at_desk(actor=desk(), given_name="Kamau", family_name="Daniel", date_of_birth=BORN,
                                          despite_duplicates="  ")
    assert found.value.field == "duplicate_reason"
    twin = services.patient_register_at_desk(actor=desk(), given_name="Kamau", family_name="Daniel",
                                             date_of_birth=BORN, despite_duplicates="Twin brother, different ID")
    db.session.commit()
    assert twin.id != daniel.id
    row = db.session.execute(select(AuditEvent).where(AuditEvent.patient_id == twin.id)).scalar_one()
    assert row.action == "patient.register_despite_duplicates" and row.target == f"patients:{daniel.id}"


def test_the_desk_is_offered_the_existing_record_before_a_second_one_is_made(app, signed_in, make_patient):
    daniel = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444", date_of_birth=BORN)
    browser, _ = signed_in(Role.RECEPTION)
    typed = {"given_name": "Daniel", "family_name": "Kamau", "phone": "+254 722 333 444",
             "date_of_birth": BORN.isoformat()}
    response = browser.post("/reception/patients/new", typed, page="/reception/patients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="likely-duplicates"' in body and daniel.mrn in body and "Use this record" in body
    assert f'href="/reception/patients/{daniel.id}"' in body and 'value="+254 722 333 444"' in body
    with app.app_context():
        assert db.session.execute(select(Patient.id).where(Patient.family_name == "Kamau")).scalars().all() == [daniel.id]
    anyway = browser.post("/reception/patients/new", {**typed, "register_anyway": "1",
                                                      "duplicate_reason": "Father, same name and phone"},
                          page="/reception/patients/new")
    assert anyway.status_code == 303


def _two_records_of_one_person(care, make_user):
    first = services.patient_create(given_name="Daniel", family_name="Kamau", phone="0722 333 444", date_of_birth=BORN)
    second = services.patient_create(given_name="Kamau", family_name="Daniel", date_of_birth=BORN)
    db.session.flush()
    db.session.add(ClinicalEntry(patient_id=second.id, kind=EntryKind.ALLERGY.value,
                                 content={"substance": "Penicillin", "severity": "severe"}))
    db.session.commit()
    return first, second


def test_a_merge_moves_what_the_duplicate_held_and_undo_moves_exactly_that_back(app, app_ctx, care, make_user, admin):
    doctor = make_user(Role.DOCTOR)
    first, second = _two_records_of_one_person(care, make_user)
    care(doctor, second)
    record = merge.patients_merge(actor=admin(), kept_id=first.id, merged_id=second.id, reason="Same person, twice")
    db.session.commit()
    assert db.session.execute(select(ClinicalEntry.patient_id)).scalars().all() == [first.id]
    assert db.session.execute(select(Appointment.patient_id)).scalars().all() == [first.id]
    assert [p.id for p in patients_search("kamau daniel")] == [first.id]
    assert merge.patient_ids_merged_into(first.id) == [first.id, second.id]
    # After the merge the kept record gains an entry of its own: undo leaves it there.
    db.session.add(ClinicalEntry(patient_id=first.id, kind=EntryKind.NOTE.value, content={"text": "after"}))
    db.session.commit()
    merge.patients_merge_undo(actor=admin(), merge_id=record.id)
    db.session.commit()
    rows = dict(db.session.execute(select(ClinicalEntry.kind, ClinicalEntry.patient_id)).all())
    assert rows == {"allergy": second.id, "note": first.id}
    assert db.session.execute(select(Appointment.patient_id)).scalars().all() == [second.id]
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.patient_id)
                                 .where(AuditEvent.action.like("patient.merge%"))).all()
    assert sorted(actions) == sorted([("patient.merge", first.id), ("patient.merge", second.id),
                                      ("patient.merge.undo", first.id), ("patient.merge.undo", second.id)])
    with pytest.raises(merge.MergeRefused):
        merge.patients_merge_undo(actor=admin(), merge_id=record.id)


def test_the_second_of_two_merges_of_the_same_pair_is_refused(app_ctx, care, make_user, admin):
    first, second = _two_records_of_one_person(care, make_user)
    merge.patients_merge(actor=admin(), kept_id=first.id, merged_id=second.id, reason="same")
    db.session.commit()
    for kept, merged in ((first.id, second.id), (second.id, first.id)):
        with pytest.raises(merge.MergeRefused):
            merge.patients_merge(actor=admin(), kept_id=kept, merged_id=merged, reason="same")
        db.session.rollback()


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.DOCTOR, Role.PATIENT])
def test_only_an_admin_merges(app_ctx, care, make_user, role):
    first, second = _two_records_of_one_person(care, make_user)
    with pytest.raises(merge.MergeRefused):
        merge.patients_merge(actor=Actor(user_id=5, role=role.value), kept_id=first.id, merged_id=second.id,
                             reason="same")
    db.session.rollback()
    assert db.session.get(Patient, second.id).merged_into_id is None
