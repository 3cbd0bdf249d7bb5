"""One record per person, the admin's side (issue 12 item 2): the duplicates page pairs likely
duplicates (flagged at the desk or at self-registration) side by side by identifiers only, merges
after a confirmation and undoes after another; refusals are told, never a 500; nobody else gets in.
Self-registration tells nobody whether the clinic already holds a record like theirs. The audit
history of a kept record includes that of the records merged into it, until an undo."""
from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.services import audit_access
from app.core.actor import Actor
from app.extensions import db
from app.records import duplicates, merge, services
from app.records.models import ClinicalEntry, EntryKind, Patient, PatientMerge

BORN = dt.date(1985, 3, 14)
PAGE = "/admin/patients/duplicates"


def _pair(app):
    """Daniel Kamau twice (same birthday, names in the other order; one with an allergy), and a Mary born
    the same day who is someone else."""
    with app.app_context():
        first = services.patient_create(given_name="Daniel", family_name="Kamau", phone="0722 333 444",
                                        date_of_birth=BORN)
        second = services.patient_create(given_name="Kamau", family_name="Daniel", date_of_birth=BORN)
        other = services.patient_create(given_name="Mary", family_name="Wanjiru", date_of_birth=BORN)
        db.session.add(ClinicalEntry(patient_id=second.id, kind=EntryKind.ALLERGY.value,
                                     content={"substance": "Penicillin", "severity": "severe"}))
        db.session.commit()
        return first.id, second.id, other.id, first.mrn, second.mrn, other.mrn


def _merge_url(first_id, second_id):
    return f"{PAGE}/{first_id}/{second_id}/merge"


def _merged_into(app, patient_id):
    with app.app_context():
        return db.session.get(Patient, patient_id).merged_into_id


def test_the_pairs_are_found_in_sql_then_by_the_name_rule(app_ctx):
    daniel = services.patient_create(given_name="Daniel", family_name="Kamau", date_of_birth=BORN)
    kamau = services.patient_create(given_name="Kamau", family_name="Danel", date_of_birth=BORN)
    services.patient_create(given_name="Mary", family_name="Wanjiru", date_of_birth=BORN)
    mother = services.patient_create(given_name="Grace", family_name="Akinyi", phone="+254722111222")
    child = services.patient_create(given_name="Baraka", family_name="Otieno", phone="0722 111 222")
    db.session.commit()
    found = [(p.first.id, p.second.id, p.same_phone, p.same_birthday) for p in duplicates.duplicate_pairs()]
    assert found == [(mother.id, child.id, True, False), (daniel.id, kamau.id, False, True)]
    merge.patients_merge(actor=Actor(user_id=None, role=Role.ADMIN.value), kept_id=daniel.id, merged_id=kamau.id,
                         reason="same")
    assert [(p.first.id, p.second.id) for p in duplicates.duplicate_pairs()] == [(mother.id, child.id)]


def test_the_admin_sees_each_pair_side_by_side_by_identifiers_only(app, signed_in):
    first_id, second_id, other_id, first_mrn, second_mrn, other_mrn = _pair(app)
    browser, _admin = signed_in(Role.ADMIN)
    assert f'href="{PAGE}"' in browser.get("/admin/").get_data(as_text=True)
    response = browser.get(PAGE)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    card = body[body.index(f'id="pair-{first_id}-{second_id}"'):body.index('id="recent-merges"')]
    assert first_mrn in card and second_mrn in card and "+254722333444" in card
    assert re.search(r"<dt>Chart entries</dt><dd>0</dd>.*<dt>Chart entries</dt><dd>1</dd>", card, re.S)
    assert f'action="{_merge_url(first_id, second_id)}"' in card and 'data-confirm="Merge these two records?"' in card
    assert "Penicillin" not in body and "severe" not in body  # never the chart
    assert other_mrn not in body  # a shared birthday alone is not a pair


def test_merging_asks_first_and_undo_asks_again_then_restores(app, signed_in):
    first_id, second_id, *_ = _pair(app)
    browser, _admin = signed_in(Role.ADMIN)
    url = _merge_url(first_id, second_id)
    typed = {"kept": str(first_id), "reason": "Same person: same phone, names swapped"}
    # Without the confirmation (no JavaScript, or the dialog dismissed): the question, carrying the choice.
    question = browser.post(url, typed, page=PAGE)
    page = question.get_data(as_text=True)
    assert question.status_code == 200 and "Merge these two records?" in page
    assert f'name="kept" value="{first_id}"' in page and 'value="Same person: same phone, names swapped"' in page
    assert _merged_into(app, second_id) is None
    done = browser.post(url, {**typed, "confirmed": "yes"}, page=PAGE)
    assert done.status_code == 303 and done.headers["Location"] == PAGE
    assert _merged_into(app, second_id) == first_id
    listed = browser.get(PAGE).get_data(as_text=True)
    assert "was merged into" in listed and f'id="pair-{first_id}-{second_id}"' not in listed
    with app.app_context():
        merge_id = db.session.execute(select(PatientMerge.id)).scalar_one()
    undo = f"/admin/patients/merges/{merge_id}/undo"
    assert re.search(rf'action="{undo}" class="inline" data-confirm="Undo this merge\?"', listed)
    assert browser.post(undo, page=PAGE).headers["Location"] == undo  # asked first
    assert _merged_into(app, second_id) == first_id
    assert browser.post(undo, {"confirmed": "yes"}, page=undo).status_code == 303
    assert _merged_into(app, second_id) is None
    again = browser.get(PAGE).get_data(as_text=True)
    assert f'id="pair-{first_id}-{second_id}"' in again and "Undone" in again


def test_refusals_are_told_beside_the_field_or_above_never_a_500(app, signed_in):
    first_id, second_id, *_ = _pair(app)
    browser, _admin = signed_in(Role.ADMIN)
    url = _merge_url(first_id, second_id)
    no_reason = browser.post(url, {"kept": str(second_id), "reason": "  ", "confirmed": "yes"}, page=PAGE)
    body = no_reason.get_data(as_text=True)
    assert no_reason.status_code == 422
    assert f'id="reason-error-{first_id}-{second_id}">Say why these records are the same person.' in body
    assert re.search(rf'value="{second_id}" checked', body)  # the choice stays
    no_choice = browser.post(url, {"reason": "same person", "confirmed": "yes"}, page=PAGE)
    assert no_choice.status_code == 422 and "Choose the record to keep." in no_choice.get_data(as_text=True)
    assert browser.post(url, {"kept": str(first_id), "reason": "same", "confirmed": "yes"}, page=PAGE).status_code == 303
    # A second admin's form, opened before the merge: refused, and told why.
    second = browser.post(url, {"kept": str(second_id), "reason": "same", "confirmed": "yes"}, page=PAGE)
    assert second.status_code == 422 and "was itself merged into another" in second.get_data(as_text=True)
    twice = browser.post(url, {"kept": str(first_id), "reason": "same", "confirmed": "yes"}, page=PAGE)
    assert twice.status_code == 422 and "This record has already been merged." in twice.get_data(as_text=True)
    with app.app_context():
        merge_id = db.session.execute(select(PatientMerge.id)).scalar_one()
    undo = f"/admin/patients/merges/{merge_id}/undo"
    assert browser.post(undo, {"confirmed": "yes"}, page=PAGE).status_code == 303
    again = browser.post(undo, {"confirmed": "yes"}, page=PAGE)
    assert again.status_code == 422 and "This merge has already been undone." in again.get_data(as_text=True)
    assert _merged_into(app, second_id) is None


def test_two_admins_merging_the_same_pair_at_once_one_wins_the_other_is_told(app, make_user):
    first_id, second_id, *_ = _pair(app)
    admins = [make_user(Role.ADMIN), make_user(Role.ADMIN)]
    barrier, results = threading.Barrier(2), []

    def merge_as(admin, kept, merged):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                merge.patients_merge(actor=Actor(user_id=admin.id, role=Role.ADMIN.value), kept_id=kept,
                                     merged_id=merged, reason="same person")
                db.session.commit()
                results.append("merged")
            except merge.MergeRefused as refused:
                results.append(refused.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=merge_as, args=(admins[0], first_id, second_id)),
               threading.Thread(target=merge_as, args=(admins[1], second_id, first_id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results, key=len) == ["merged", "The record to keep was itself merged into another: keep that one."]
    with app.app_context():
        assert db.session.execute(select(PatientMerge)).scalars().all().__len__() == 1
        states = {p.id: p.merged_into_id for p in db.session.execute(select(Patient)).scalars()}
        assert sorted(v for v in (states[first_id], states[second_id]) if v) in ([first_id], [second_id])


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.DOCTOR, Role.PATIENT])
def test_nobody_but_an_admin_reaches_the_page_or_merges(app, signed_in, role):
    first_id, second_id, *_ = _pair(app)
    browser, _user = signed_in(role)
    assert browser.get(PAGE).status_code == 403
    merged = browser.post(_merge_url(first_id, second_id), {"kept": str(first_id), "reason": "same",
                                                             "confirmed": "yes"})
    assert merged.status_code == 403 and _merged_into(app, second_id) is None


REGISTRATION = {"full_name": "Daniel Kamau", "phone": "0722 333 444", "date_of_birth": BORN.isoformat(),
                "password": "a brand new sentence", "confirm": "a brand new sentence", "language": "en"}


def _register(app, **typed):
    from tests.conftest import Browser

    visitor = Browser(app.test_client())
    response = visitor.post("/register", {**REGISTRATION, **typed}, page="/register")
    next_page = visitor.get(response.headers["Location"]).get_data(as_text=True)
    return response, re.sub(r'value="[^"]{20,}"|"X-CSRFToken": "[^"]+"', "", next_page)


def test_self_registration_reveals_nothing_and_the_admin_sees_the_pair(app, signed_in):
    from app.notifications.models import Notification

    first_id, _second_id, *_ = _pair(app)
    known, known_next = _register(app, email="attacker@example.test")
    random, random_next = _register(app, email="someone@example.test", full_name="Zawadi Njeri",
                                    phone="0733 987 654", date_of_birth="1990-07-01")
    assert (known.status_code, known.headers["Location"]) == (random.status_code, random.headers["Location"])
    assert known.get_data() == random.get_data() and known_next == random_next
    with app.app_context():
        mails = {n.to_address: (n.channel, n.subject) for n in db.session.execute(select(Notification)).scalars()}
        assert mails["attacker@example.test"] == mails["someone@example.test"]
        attacker = db.session.execute(select(Patient).where(Patient.given_name == "Daniel",
                                                            Patient.user_id.is_not(None))).scalar_one()
        assert attacker.id != first_id and attacker.date_of_birth == BORN and attacker.merged_into_id is None
        assert db.session.get(Patient, first_id).user_id is None  # never linked to the known record
    browser, _admin = signed_in(Role.ADMIN)
    page = browser.get(PAGE).get_data(as_text=True)
    assert f'id="pair-{first_id}-{attacker.id}"' in page


def test_the_audit_history_follows_a_merge_and_separates_again_after_undo(app, signed_in, make_user):
    first_id, second_id, *_ = _pair(app)
    patient_browser, patient_user = signed_in(Role.PATIENT)
    doctor = make_user(Role.DOCTOR, full_name="Dr Achieng Odhiambo")
    with app.app_context():
        db.session.get(Patient, first_id).user_id = patient_user.id
        # Before the merge, a doctor opened the duplicate record.
        audit_access(actor=Actor(user_id=doctor.id, role=Role.DOCTOR.value), patient_id=second_id,
                     action="chart.read", reason="care")
        db.session.commit()
    admin_browser, admin = signed_in(Role.ADMIN)

    def seen():
        mine = patient_browser.get("/patient/record/access").get_data(as_text=True)
        trail = admin_browser.get(f"/admin/people/audit?patient={first_id}").get_data(as_text=True)
        return "Dr Achieng Odhiambo" in mine, "Opened the record" in trail

    assert seen() == (False, False)
    with app.app_context():
        done = merge.patients_merge(actor=Actor(user_id=admin.id, role=Role.ADMIN.value), kept_id=first_id,
                                    merged_id=second_id, reason="same")
        db.session.commit()
        merge_id = done.id
    assert seen() == (True, True)
    with app.app_context():
        merge.patients_merge_undo(actor=Actor(user_id=admin.id, role=Role.ADMIN.value), merge_id=merge_id)
        db.session.commit()
    assert seen() == (False, False)
