"""The desk corrects a patient's details (issue 12 item 2): on the desk's patient page, bad input
beside the field with what was typed kept, each change audited (which fields, old and new values),
"Saved." after; a save made from details someone changed since is refused. Doctors do not edit
identifiers: the desk owns them (a doctor's wrong edit would reach every booking and message)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.core.errors import AccessDenied
from app.extensions import db
from app.records import demographics
from app.records.models import Patient

BORN = dt.date(1985, 3, 14)


def _details(patient, **changes):
    values = {"given_name": patient.given_name, "family_name": patient.family_name,
              "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else "",
              "sex": patient.sex or "", "phone": patient.phone or "", "national_id": ""}
    return {**values, **changes}


def _version(browser, url):
    page = browser.get(url).get_data(as_text=True)
    return re.search(r'id="version" name="version" type="hidden" value="([0-9a-f]+)"', page).group(1)


def test_the_desk_corrects_details_audited_with_old_and_new_values(app, signed_in, make_patient):
    patient = make_patient(given_name="Daniel", family_name="Kamua", phone="0722 333 444", date_of_birth=BORN)
    browser, desk = signed_in(Role.RECEPTION)
    url = f"/reception/patients/{patient.id}"
    page = browser.get(url).get_data(as_text=True)
    assert 'id="patient-details"' in page and 'value="Kamua"' in page and 'value="+254722333444"' in page
    saved = browser.post(url, {**_details(patient, family_name="Kamau", phone="0711 222 333", sex="male"),
                               "version": _version(browser, url)}, page=url)
    assert saved.status_code == 303 and saved.headers["Location"] == url
    assert "Saved." in browser.get(url).get_data(as_text=True)
    with app.app_context():
        fixed = db.session.get(Patient, patient.id)
        assert (fixed.family_name, fixed.phone, fixed.sex, fixed.name_search) == (
            "Kamau", "+254711222333", "male", "daniel kamau")
        row = db.session.execute(select(AuditEvent).where(AuditEvent.action == "patient.update")).scalar_one()
        assert (row.patient_id, row.actor_user_id, row.reason) == (patient.id, desk.id, "administration")
        assert row.target == "patient_details:family_name,sex,phone"
        assert row.reason_detail == ("family_name: 'Kamua' -> 'Kamau'; sex: - -> 'male'; "
                                     "phone: '+254722333444' -> '+254711222333'")


def test_bad_input_is_told_beside_the_field_and_what_was_typed_stays(app, signed_in, make_patient):
    patient = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444", date_of_birth=BORN)
    make_patient(given_name="Other", family_name="Person", national_id="12345678")
    browser, _desk = signed_in(Role.RECEPTION)
    url = f"/reception/patients/{patient.id}"
    version = _version(browser, url)
    for changes, field, message in [
        ({"phone": "0722 33"}, "phone", "Enter a mobile number"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "Enter a date of birth in the last 130 years."),
        ({"given_name": ""}, "given_name", "Enter the given name."),
        ({"national_id": "12345678"}, "national_id", "A patient with this national ID is already registered."),
    ]:
        response = browser.post(url, {**_details(patient, family_name="Kamau-Typed", **changes), "version": version},
                                page=url)
        body = response.get_data(as_text=True)
        assert response.status_code == 422, field
        assert re.search(rf'id="{field}-error">{re.escape(message)}', body), (field, body[body.find("error"):][:300])
        assert 'value="Kamau-Typed"' in body and "<details id=\"patient-details\" open>" in body
    with app.app_context():
        assert db.session.get(Patient, patient.id).family_name == "Kamau"
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "patient.update")).first() is None


def test_a_save_from_stale_details_is_refused_and_the_first_change_stays(app, signed_in, make_patient):
    patient = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444", date_of_birth=BORN)
    first, _ = signed_in(Role.RECEPTION)
    second, _ = signed_in(Role.RECEPTION)
    url = f"/reception/patients/{patient.id}"
    first_version, second_version = _version(first, url), _version(second, url)
    assert first.post(url, {**_details(patient, phone="0711 222 333"), "version": first_version},
                      page=url).status_code == 303
    stale = second.post(url, {**_details(patient, family_name="Kamaau"), "version": second_version}, page=url)
    body = stale.get_data(as_text=True)
    assert stale.status_code == 422 and "Someone else changed these details since you opened them." in body
    assert 'value="+254711222333"' in body  # the details as saved now, to make the change again from
    with app.app_context():
        kept = db.session.get(Patient, patient.id)
        assert (kept.family_name, kept.phone) == ("Kamau", "+254711222333")


def test_an_unchanged_save_writes_nothing(app, signed_in, make_patient):
    patient = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444", date_of_birth=BORN)
    browser, _desk = signed_in(Role.RECEPTION)
    url = f"/reception/patients/{patient.id}"
    response = browser.post(url, {**_details(patient), "version": _version(browser, url)}, page=url)
    assert response.status_code == 303 and "Nothing changed." in browser.get(url).get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "patient.update")).first() is None


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.PATIENT, Role.LAB])
def test_only_the_desk_edits_details(app, signed_in, make_patient, role):
    patient = make_patient(given_name="Daniel", family_name="Kamau", date_of_birth=BORN)
    browser, user = signed_in(role)
    response = browser.post(f"/reception/patients/{patient.id}", {**_details(patient, family_name="X")})
    assert response.status_code == 403
    with app.app_context():
        with pytest.raises(AccessDenied):
            demographics.patient_details_update(
                actor=Actor(user_id=user.id, role=role.value), patient_id=patient.id, version="", given_name="Daniel",
                family_name="X", date_of_birth=BORN, sex=None, phone=None, national_id=None)
        db.session.rollback()
        assert db.session.get(Patient, patient.id).family_name == "Kamau"
        denied = db.session.execute(select(AuditEvent.target).where(AuditEvent.outcome == "denied")).scalars().all()
        assert "patient.update" in denied
