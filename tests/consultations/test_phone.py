"""A visit continued by phone: without Twilio, the numbers each side sees and the minutes the doctor
records (bad minutes refused beside the field); with Twilio (a recorded HTTP client), the call that
rings the doctor, the TwiML that bridges the patient, forged webhooks refused, and a status callback
that counts once however often Twilio retries it."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.consultations import phone, services, twilio_voice
from app.consultations.models import Consultation, PhoneCall
from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.records.models import Patient
from app.scheduling.models import Appointment
from tests.consultations.test_ending import admitted
from tests.consultations.test_views_room import signed_in_as

SID, TOKEN, FROM = "AC" + "0" * 32, "twilio-auth-token", "+254700999000"
CALL_SID = "CA" + "1" * 32
DOCTOR_PHONE, PATIENT_PHONE = "+254700000001", "+254712000101"
TWILIO = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": FROM}
BRIDGE, STATUS = "http://localhost/twilio/visit/1/bridge", "http://localhost/twilio/visit/1/status"


class RecordedTwilio(HttpClient):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(logger=None, is_async=False)
        self.status, self.body, self.requests = status, body, []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth})
        return Response(self.status, json.dumps(self.body))


CALL_CREATED = {"sid": CALL_SID, "account_sid": SID, "to": DOCTOR_PHONE, "from": FROM, "status": "queued",
                "direction": "outbound-api", "date_created": "Mon, 01 Mar 2027 06:16:00 +0000"}


@pytest.fixture
def phones(app, visit):
    with app.app_context():
        db.session.execute(update(User).where(User.id == visit.doctor.id).values(phone=DOCTOR_PHONE))
        db.session.execute(update(Patient).where(Patient.id == visit.patient_id).values(phone=PATIENT_PHONE))
        db.session.commit()


@pytest.fixture
def twilio(app, monkeypatch):
    http = RecordedTwilio(201, CALL_CREATED)
    monkeypatch.setattr(twilio_voice, "twilio_http_client", http)
    for key, value in TWILIO.items():
        monkeypatch.setitem(app.config, key, value)
    return http


def doctor_of(visit):
    from tests.consultations.conftest import actor_of
    return actor_of(visit.doctor)


def continue_by_phone(app, visit, consultation_id, config=None):
    with app.app_context():
        started = phone.phone_continue(actor=doctor_of(visit), consultation_id=consultation_id,
                                       config=config if config is not None else app.config,
                                       bridge_url=BRIDGE, status_url=STATUS)
        db.session.commit()
        return started.call.call_sid if started.call else None, started.failure


# -- without Twilio ------------------------------------------------------------------------------------

def test_without_twilio_each_side_sees_the_number_and_the_doctor_records_the_minutes(app, visit, phones, monkeypatch):
    monkeypatch.setitem(app.config, "CLINIC_PHONE", "+254202000000")
    consultation_id = admitted(app, visit)
    assert continue_by_phone(app, visit, consultation_id) == (None, None)
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.phone_since == clock.now() and services.room_state(consultation)["phone"]
        numbers = phone.numbers_for(consultation, app.config)
        assert (numbers.patient, numbers.for_the_patient_to_call) == (PATIENT_PHONE, "+254202000000")
    patient_page = signed_in_as(app, visit.patient_user).get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "The doctor will call you on +254712000101" in patient_page and 'href="tel:+254202000000"' in patient_page
    doctor = signed_in_as(app, visit.doctor)
    assert 'href="tel:+254712000101"' in doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    clock.advance(dt.timedelta(minutes=20))
    done = doctor.post(f"/visit/{visit.token}/phone/minutes", {"minutes": "14"}, page=f"/visit/{visit.token}")
    assert done.status_code == 303
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert (consultation.mode, consultation.duration_seconds) == ("phone", 14 * 60)
        assert db.session.get(Appointment, visit.appointment_id).status == "completed"
    assert "Held by phone · 14 min" in doctor.get(f"/visit/{visit.token}").get_data(as_text=True)


def test_without_a_clinic_number_the_patient_is_given_the_doctors(app, visit, phones):
    consultation_id = admitted(app, visit)
    with app.app_context():
        numbers = phone.numbers_for(db.session.get(Consultation, consultation_id), {"CLINIC_PHONE": None})
        assert numbers.for_the_patient_to_call == DOCTOR_PHONE


@pytest.mark.parametrize("typed, message", [("0", "from 1 to 180"), ("181", "from 1 to 180"), ("ten", "as a number"),
                                            ("", "Enter the minutes")])
def test_bad_minutes_are_refused_beside_the_field_and_nothing_changes(app, visit, phones, typed, message):
    consultation_id = admitted(app, visit)
    continue_by_phone(app, visit, consultation_id)
    doctor = signed_in_as(app, visit.doctor)
    page = doctor.post(f"/visit/{visit.token}/phone/minutes", {"minutes": typed}, page=f"/visit/{visit.token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and message in html
    assert 'id="minutes-error"' in html and f'value="{typed}"' in html if typed else 'id="minutes-error"' in html
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).ended_at is None
        assert db.session.get(Appointment, visit.appointment_id).status == "in_consultation"


def test_minutes_before_the_switch_and_by_the_patient_are_refused(app, visit, phones):
    consultation_id = admitted(app, visit)
    with app.app_context():
        with pytest.raises(DomainError, match="Continue by phone first"):
            phone.phone_minutes_record(actor=doctor_of(visit), consultation_id=consultation_id, minutes=5)
        db.session.rollback()
        from tests.consultations.conftest import actor_of
        with pytest.raises(NotFound):
            phone.phone_minutes_record(actor=actor_of(visit.patient_user), consultation_id=consultation_id, minutes=5)


# -- with Twilio ---------------------------------------------------------------------------------------

def test_with_twilio_one_click_rings_the_doctor_once(app, visit, phones, twilio):
    consultation_id = admitted(app, visit)
    assert continue_by_phone(app, visit, consultation_id) == (CALL_SID, None)
    [request] = twilio.requests
    assert request["method"] == "POST" and request["uri"].endswith(f"/Accounts/{SID}/Calls.json")
    assert request["auth"] == (SID, TOKEN)
    data = request["data"]
    assert (data["To"], data["From"], data["Url"], data["StatusCallback"]) == (DOCTOR_PHONE, FROM, BRIDGE, STATUS)
    # A second click while that call is live finds it: no second call.
    assert continue_by_phone(app, visit, consultation_id) == (CALL_SID, None)
    assert len(twilio.requests) == 1
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PhoneCall)).scalar() == 1
        assert services.room_state(db.session.get(Consultation, consultation_id))["call"] == "queued"


def test_twilio_refusing_the_call_is_said_not_pretended(app, visit, phones, twilio):
    twilio.status, twilio.body = 400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                       "status": 400}
    consultation_id = admitted(app, visit)
    call_sid, failure = continue_by_phone(app, visit, consultation_id)
    assert call_sid is None and "could not be placed" in failure
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PhoneCall)).scalar() == 0
        assert db.session.get(Consultation, consultation_id).phone_since is not None  # the numbers are shown


def signed(url: str, params: dict, token: str = TOKEN) -> dict:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


def test_the_answered_call_bridges_the_patient_and_forgeries_get_403(app, visit, phones, twilio):
    consultation_id = admitted(app, visit)
    continue_by_phone(app, visit, consultation_id)
    client, path = app.test_client(), f"/twilio/visit/{consultation_id}/bridge"
    url = "http://localhost" + path
    params = {"CallSid": CALL_SID, "AccountSid": SID, "From": FROM, "To": DOCTOR_PHONE, "CallStatus": "in-progress"}
    answer = client.post(path, data=params, headers=signed(url, params))
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    twiml = answer.get_data(as_text=True)
    dialed = f"http://localhost/twilio/visit/{consultation_id}/dialed"
    assert f'<Dial action="{dialed}" callerId="{FROM}" method="POST">{PATIENT_PHONE}</Dial>' in twiml
    # Unsigned, signed with another token, or a signature over other fields: refused, nothing told.
    assert client.post(path, data=params).status_code == 403
    assert client.post(path, data=params, headers=signed(url, params, "another-token")).status_code == 403
    assert client.post(path, data={**params, "CallSid": "CA" + "2" * 32}, headers=signed(url, params)).status_code == 403
    # Signed, but not this visit's call: a goodbye, not the patient's number.
    other = {**params, "CallSid": "CA" + "3" * 32}
    stray = client.post(path, data=other, headers=signed(url, other)).get_data(as_text=True)
    assert PATIENT_PHONE not in stray and "<Hangup" in stray


def twilio_posts(client, consultation_id: int, hook: str, params: dict):
    path = f"/twilio/visit/{consultation_id}/{hook}"
    return client.post(path, data=params, headers=signed("http://localhost" + path, params))


def patient_leg(status: str, seconds: int) -> dict:
    return {"CallSid": CALL_SID, "AccountSid": SID, "CallStatus": "in-progress", "DialCallStatus": status,
            "DialCallSid": "CA" + "5" * 32, "DialCallDuration": str(seconds)}


@pytest.mark.parametrize("patient_first", [True, False], ids=["patient's leg first", "doctor's call first"])
def test_the_callbacks_end_the_visit_once_for_as_long_as_the_patient_was_on_the_line(app, visit, phones, twilio,
                                                                                     patient_first):
    consultation_id = admitted(app, visit)
    continue_by_phone(app, visit, consultation_id)
    client, path = app.test_client(), f"/twilio/visit/{consultation_id}/status"
    forged = {"CallSid": CALL_SID, "CallStatus": "completed", "CallDuration": "9999"}
    assert client.post(path, data=forged, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}).status_code == 403
    clock.advance(dt.timedelta(minutes=11))
    # The doctor's leg is the longer: it began when the doctor answered, before the patient's phone rang.
    params = {"CallSid": CALL_SID, "AccountSid": SID, "CallStatus": "completed", "CallDuration": "612"}
    hooks = [("dialed", patient_leg("completed", 590)), ("status", params)]
    for hook, posted in (hooks if patient_first else hooks[::-1]):
        for _retry in range(3):  # Twilio retries a callback it thinks was lost
            answer = twilio_posts(client, consultation_id, hook, posted)
            assert answer.status_code == (200 if hook == "dialed" else 204)
            clock.advance(dt.timedelta(minutes=1))
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert (consultation.mode, consultation.duration_seconds) == ("phone", 590)
        call = db.session.execute(select(PhoneCall)).scalar_one()
        assert (call.status, call.duration_seconds, call.patient_seconds) == ("completed", 612, 590)
        assert db.session.get(Appointment, visit.appointment_id).status == "completed"
        ends = db.session.execute(select(AuditEvent).where(AuditEvent.action == "consultation.end.phone")).scalars().all()
        assert len(ends) == 1 and ends[0].actor_user_id is None
        completes = db.session.execute(select(func.count()).select_from(AuditEvent)
                                       .where(AuditEvent.action == "appointment.complete")).scalar()
        assert completes == 1


def test_a_patient_who_never_answers_leaves_the_visit_going(app, visit, phones, twilio):
    consultation_id = admitted(app, visit)
    continue_by_phone(app, visit, consultation_id)
    client = app.test_client()
    goodbye = twilio_posts(client, consultation_id, "dialed", patient_leg("no-answer", 0)).get_data(as_text=True)
    assert "The patient did not answer" in goodbye and "<Hangup" in goodbye
    params = {"CallSid": CALL_SID, "AccountSid": SID, "CallStatus": "completed", "CallDuration": "41"}
    assert twilio_posts(client, consultation_id, "status", params).status_code == 204
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.ended_at is None and consultation.mode is None
        assert services.room_state(consultation)["call"] == "patient-unreached"
        assert db.session.get(Appointment, visit.appointment_id).status != "completed"
    page = signed_in_as(app, visit.doctor).get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "The patient did not answer the phone. Try again or call them yourself." in page


def test_a_busy_call_leaves_the_visit_going_and_the_doctor_may_ring_again(app, visit, phones, twilio):
    consultation_id = admitted(app, visit)
    continue_by_phone(app, visit, consultation_id)
    client, path = app.test_client(), f"/twilio/visit/{consultation_id}/status"
    params = {"CallSid": CALL_SID, "CallStatus": "busy", "CallDuration": "0"}
    assert client.post(path, data=params, headers=signed("http://localhost" + path, params)).status_code == 204
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.ended_at is None and services.room_state(consultation)["call"] == "busy"
    twilio.body = {**CALL_CREATED, "sid": "CA" + "4" * 32}
    assert continue_by_phone(app, visit, consultation_id) == ("CA" + "4" * 32, None)
    assert len(twilio.requests) == 2
