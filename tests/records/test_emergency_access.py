"""Charts open to a doctor with a care relationship; any other doctor gets the emergency ("break the
glass") form: a reason, a 60-minute grant for that patient in that session, every use audited as
"emergency" with the reason (encrypted) and listed for the administrator's review."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core import request_actor
from app.core.clock import clock
from app.extensions import db
from app.records import access, services
from app.records.models import ClinicalEntry, EntryKind, EntryStatus
from app.scheduling.models import Appointment, AppointmentStatus
from tests.conftest import SET_UP, Browser

CANARY = "CANARY-7f3e"
WHY = "Brought in unconscious after a road accident; need allergies before giving drugs."


def rows(**filters) -> list[AuditEvent]:
    """The audit rows people made (not the set-up's, written as "system")."""
    query = select(AuditEvent).where(AuditEvent.actor_role != "system").order_by(AuditEvent.seq)
    for name, value in filters.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db.session.execute(query.execution_options(populate_existing=True)).scalars())


def entry_count(patient_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(ClinicalEntry)
                              .where(ClinicalEntry.patient_id == patient_id)).scalar_one()


@pytest.fixture
def charted(app, make_patient, make_user):
    """make() -> patient with a chart kept by another doctor (canary text in it)."""
    keeper = make_user(Role.DOCTOR, full_name="Dr Keeper")

    def make(given_name="Amani", family_name="Otieno"):
        patient = make_patient(given_name=given_name, family_name=family_name, date_of_birth=dt.date(1980, 5, 17))
        with app.app_context():
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY, recorded_by_id=keeper.id,
                               content={"substance": f"Penicillin {CANARY}", "severity": "severe"})
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, recorded_by_id=keeper.id,
                               content={"text": f"Seen last week. {CANARY}"})
            db.session.commit()
        return patient

    return make


@pytest.fixture
def patient(charted):
    return charted()


@pytest.fixture
def doctor(signed_in):
    """(browser, user): a doctor with no care relationship with anyone yet."""
    return signed_in(Role.DOCTOR)


def chart_url(patient) -> str:
    return f"/doctor/patients/{patient.id}"


def ask(browser, patient, why=WHY):
    return browser.post(f"{chart_url(patient)}/emergency-access", {"reason": why}, page=chart_url(patient))


def shows_form(response) -> bool:
    return 'id="emergency-access"' in response.get_data(as_text=True)


# -- the care relationship ------------------------------------------------------------------------

def _visit(doctor_id, patient_id, starts_at, status=AppointmentStatus.COMPLETED):
    db.session.add(Appointment(doctor_id=doctor_id, patient_id=patient_id, starts_at=starts_at,
                               ends_at=starts_at + dt.timedelta(minutes=20), status=status.value))
    db.session.commit()


@pytest.mark.parametrize("offset_days,status,expected", [
    (-30, AppointmentStatus.COMPLETED, True),
    (-700, AppointmentStatus.NO_SHOW, True),           # within two years, whatever happened
    (-740, AppointmentStatus.COMPLETED, False),         # more than two years ago
    (0, AppointmentStatus.IN_CONSULTATION, True),
    (85, AppointmentStatus.BOOKED, True),               # booked within the next 90 days
    (95, AppointmentStatus.BOOKED, False),              # too far ahead
    (-10, AppointmentStatus.CANCELLED, False),          # a cancelled visit is no relationship
    (10, AppointmentStatus.CANCELLED, False),
])
def test_an_appointment_makes_a_care_relationship(app_ctx, make_user, make_patient, offset_days, status, expected):
    doctor, other, patient = make_user(Role.DOCTOR), make_user(Role.DOCTOR), make_patient()
    now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.timezone.utc)
    clock.freeze(now)
    assert access.care_relationship(doctor_id=doctor.id, patient_id=patient.id) is False
    _visit(doctor.id, patient.id, now + dt.timedelta(days=offset_days), status)
    assert access.care_relationship(doctor_id=doctor.id, patient_id=patient.id) is expected
    assert access.care_relationship(doctor_id=other.id, patient_id=patient.id) is False


def test_an_entry_written_under_emergency_access_does_not_open_the_chart_for_good(app_ctx, make_user, make_patient):
    doctor, patient = make_user(Role.DOCTOR), make_patient()
    services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": "Seen."},
                       recorded_by_id=doctor.id)
    db.session.commit()
    assert access.care_relationship(doctor_id=doctor.id, patient_id=patient.id) is False


def test_the_session_cookie_holds_no_reason_text(doctor, patient):
    browser, _ = doctor
    assert ask(browser, patient, "Unconscious in the waiting room").status_code == 303
    with browser.client.session_transaction() as stored:
        assert "Unconscious" not in repr(dict(stored))
    assert "Unconscious" not in (browser.client.get_cookie("myafya_session").value or "")


# -- without care: who the patient is, and the form -----------------------------------------------

def test_without_care_the_chart_is_closed_and_the_form_is_shown(app, doctor, patient):
    browser, _ = doctor
    response = browser.get(chart_url(patient))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and shows_form(response)
    assert "Amani Otieno" in body and patient.mrn in body and f"({patient.age} y)" in body
    assert "Emergency access" in body and "recorded" in body and "reviewed" in body
    assert 'name="reason"' in body and 'name="csrf_token"' in body
    assert CANARY not in body and "Penicillin" not in body and "Allergies" not in body
    assert f'action="{chart_url(patient)}/entries/' not in body
    with app.app_context():
        assert rows(action="chart.read") == []


@pytest.mark.parametrize("why,message", [
    ("", "Say why you need this chart."),
    ("          ", "Say why you need this chart."),
    ("urgent", "Write between 10 and 300 characters."),
    ("x" * 301, "Write between 10 and 300 characters."),
])
def test_a_bad_reason_is_refused_beside_the_field(app, doctor, patient, why, message):
    browser, _ = doctor
    response = ask(browser, patient, why)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<p class="error" id="reason-error">' + re.escape(message), body), body[-3000:]
    assert 'aria-invalid="true"' in body
    if why.strip():
        assert why in body  # what was typed is kept
    assert CANARY not in body
    assert shows_form(browser.get(chart_url(patient)))  # no grant
    with app.app_context():
        assert rows() == []


def test_a_good_reason_opens_the_chart_and_both_are_audited(app, doctor, patient):
    browser, user = doctor
    response = ask(browser, patient)
    assert response.status_code == 303 and response.headers["Location"] == chart_url(patient)
    page = browser.get(chart_url(patient))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and CANARY in body and not shows_form(page)
    assert 'id="emergency-grant"' in body and "Emergency access" in body
    with app.app_context():
        grant, read = rows()
        assert (grant.action, grant.reason, grant.reason_detail, grant.outcome) == \
            ("chart.emergency_access", "emergency", WHY, "allowed")
        assert (grant.actor_user_id, grant.actor_role, grant.patient_id) == (user.id, "doctor", patient.id)
        assert (read.action, read.reason, read.reason_detail, read.actor_user_id) == ("chart.read", "emergency", WHY, user.id)
    assert app.test_cli_runner().invoke(args=["audit-verify"]).exit_code == 0


def test_a_long_reason_is_kept_whole_on_one_line(app, doctor, patient):
    browser, _ = doctor
    why = "Collapsed in the waiting room,\n  " + "no history available " * 12
    assert len(why.strip()) <= 300
    assert ask(browser, patient, why).status_code == 303
    with app.app_context():
        (grant,) = rows(action="chart.emergency_access")
        assert grant.reason == "emergency"
        assert grant.reason_detail == " ".join(why.split()) and len(grant.reason_detail) > 200


def test_while_the_grant_lasts_writes_are_audited_as_emergency(app, doctor, patient):
    browser, user = doctor
    ask(browser, patient)
    response = browser.post(f"{chart_url(patient)}/entries/note", {"subjective": "Given IV fluids."}, page=chart_url(patient))
    assert response.status_code == 303
    with app.app_context():
        (created,) = rows(action="note.create")
        assert (created.reason, created.reason_detail, created.actor_user_id) == ("emergency", WHY, user.id)
        entry_id = int(created.target.split(":")[1])
    response = browser.post(f"{chart_url(patient)}/entries/{entry_id}/status", {"status": "entered_in_error", "reason": "Wrong patient."},
                            page=chart_url(patient))
    assert response.status_code == 303
    with app.app_context():
        (changed,) = rows(action="note.entered_in_error")
        assert (changed.reason, changed.reason_detail) == ("emergency", WHY)
        assert not [r for r in rows() if r.reason == "care"]


def test_the_grant_ends_after_60_minutes(app, doctor, patient):
    browser, _ = doctor
    clock.freeze(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    ask(browser, patient)
    clock.advance(dt.timedelta(minutes=59))
    assert CANARY in browser.get(chart_url(patient)).get_data(as_text=True)
    clock.advance(dt.timedelta(minutes=1))
    response = browser.get(chart_url(patient))
    assert shows_form(response) and CANARY not in response.get_data(as_text=True)
    refused = browser.post(f"{chart_url(patient)}/entries/note", {"subjective": "Late note."}, page=chart_url(patient))
    assert refused.status_code == 403
    with app.app_context():
        assert len(rows(action="chart.read")) == 1
        assert entry_count(patient.id) == 2


def test_the_grant_is_for_one_patient(app, doctor, charted):
    browser, _ = doctor
    first, second = charted("Amani", "Otieno"), charted("Baraka", "Wafula")
    ask(browser, first)
    assert CANARY in browser.get(chart_url(first)).get_data(as_text=True)
    assert shows_form(browser.get(chart_url(second)))
    assert browser.post(f"{chart_url(second)}/entries/note", {"subjective": "Wrong chart."},
                        page=chart_url(first)).status_code == 403


def test_signing_out_ends_the_grant(app, doctor, patient):
    browser, user = doctor
    ask(browser, patient)
    assert not shows_form(browser.get(chart_url(patient)))
    assert browser.post("/logout").status_code == 303
    assert browser.login(user.email).status_code == 303
    assert shows_form(browser.get(chart_url(patient)))


def test_a_grant_is_bound_to_the_session_that_asked(app, doctor, patient):
    """Grants carried into another signed-in session of the same doctor open nothing there: a grant
    names the session it was made in."""
    browser, user = doctor
    ask(browser, patient)
    with browser.client.session_transaction() as flask_session:
        grants = dict(flask_session[request_actor.GRANTS_KEY])
    other = app.test_client()
    other_browser = Browser(other)
    assert other_browser.login(user.email).status_code == 303  # the same doctor, another session
    with other.session_transaction() as flask_session:
        flask_session[request_actor.GRANTS_KEY] = grants
    assert shows_form(other_browser.get(chart_url(patient)))


# -- with care ------------------------------------------------------------------------------------

def test_a_doctor_with_care_reads_the_chart_directly_for_care(app, doctor, patient, care):
    browser, user = doctor
    care(user, patient)
    response = browser.get(chart_url(patient))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and CANARY in body and not shows_form(response)
    assert 'id="emergency-grant"' not in body
    with app.app_context():
        (read,) = rows()
        assert (read.action, read.reason, read.actor_user_id) == ("chart.read", "care", user.id)
    # nothing to break: asking anyway grants nothing and records nothing
    assert ask(browser, patient).status_code == 303
    with app.app_context():
        assert rows(action="chart.emergency_access") == []


# -- writes without care or grant -----------------------------------------------------------------

def test_writing_without_care_or_grant_is_refused_and_recorded(app, doctor, patient):
    browser, user = doctor
    with app.app_context():
        entry_id = db.session.execute(select(ClinicalEntry.id).where(ClinicalEntry.patient_id == patient.id)
                                      .order_by(ClinicalEntry.id)).scalars().first()
    response = browser.post(f"{chart_url(patient)}/entries/note", {"subjective": "Sneaky note."}, page=chart_url(patient))
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and "Not allowed" in body and "emergency access" in body
    assert CANARY not in body
    response = browser.post(f"{chart_url(patient)}/entries/{entry_id}/status", {"status": "entered_in_error"},
                            page=chart_url(patient))
    assert response.status_code == 403
    with app.app_context():
        assert entry_count(patient.id) == 2
        assert db.session.get(ClinicalEntry, entry_id).status == EntryStatus.ACTIVE.value
        denied = rows(outcome="denied")
        assert [(r.action, r.reason, r.patient_id, r.actor_user_id) for r in denied] == \
            [("access.denied", "no care relationship", patient.id, user.id)] * 2
        assert rows(outcome="allowed") == []


def test_missing_patients_are_404_before_any_access_check(doctor):
    browser, _ = doctor
    assert browser.get("/doctor/patients/999999").status_code == 404
    missing = "/doctor/patients/999999"
    assert browser.post(f"{missing}/emergency-access", {"reason": WHY}, page="/doctor/patients/").status_code == 404
    assert browser.post(f"{missing}/entries/note", {"subjective": "x"}, page="/doctor/patients/").status_code == 404


# -- the review, and who is unaffected ------------------------------------------------------------

def test_the_administrator_reviews_emergency_access(app, doctor, patient, care, charted, signed_in):
    browser, user = doctor
    seen = charted("Baraka", "Wafula")
    care(user, seen)
    browser.get(chart_url(seen))        # care: not for review
    ask(browser, patient)
    browser.get(chart_url(patient))     # emergency: for review
    admin, _ = signed_in(Role.ADMIN)

    everything = admin.get("/admin/people/audit").get_data(as_text=True)
    assert everything.count('class="audit-emergency"') == 2
    assert everything.count('<span class="badge badge-danger">Emergency</span>') == 2 + 1  # + the legend

    page = admin.get("/admin/people/audit?emergency=1")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    listed = re.findall(r'<tr class="audit-emergency"><td>(\d+)</td>', body)
    with app.app_context():
        expected = [str(r.seq) for r in reversed(rows()) if r.reason == "emergency"]
        assert len(expected) == 2 and listed == expected
    assert "Opened the record in an emergency" in body and WHY[:40] in body
    assert 'name="emergency" value="1" checked' in body
    fragment = admin.get(f"/admin/people/audit?emergency=1&patient={seen.id}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "No emergency access recorded." in fragment.get_data(as_text=True)


def test_the_patient_reads_their_own_record_for_themself(app, make_user, make_patient):
    account = make_user(Role.PATIENT, email="amani@patients.test")
    patient = make_patient(user_id=account.id)
    with app.app_context():
        services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": f"Hello {CANARY}"},
                           recorded_by_id=None)
        db.session.commit()
    browser = Browser(app.test_client())
    assert browser.login(account.email).status_code == 303
    page = browser.get("/patient/record/")
    assert page.status_code == 200 and CANARY in page.get_data(as_text=True)
    with app.app_context():
        (read,) = rows(action="chart.read")
        assert (read.reason, read.actor_user_id) == ("self", account.id)
