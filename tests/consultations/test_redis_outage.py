"""Redis is down (nothing listens on its port) during a video visit: the pages, the plain-form chat,
recording consent, the SOAP note and the end of the visit all work and are saved; only the live
pushes are lost (the sockets' pages catch up when they reconnect). No request waits on Redis."""
from __future__ import annotations

import time

from sqlalchemy import select

from app.consultations.models import ChatMessage
from app.extensions import db
from app.records.models import ClinicalEntry
from app.scheduling.models import Appointment
from tests.conftest import Browser
from tests.consultations.recording_support import call_started
from tests.core.apps import another_app
from tests.notifications.peers import free_port


def _signed_in(app, user) -> Browser:
    b = Browser(app.test_client())
    assert b.login(user.email).status_code == 303
    return b


def _timed(call):
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < 5, "a request waited on the missing Redis"
    return response


def test_a_video_visit_goes_on_with_redis_down(app, visit):
    with app.app_context():
        call_started(visit)
    room = f"/visit/{visit.token}"
    with another_app(app, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as offline:
        patient, doctor = _signed_in(offline, visit.patient_user), _signed_in(offline, visit.doctor)
        assert _timed(lambda: patient.get(room)).status_code == 200
        assert _timed(lambda: doctor.get(f"{room}/panel", headers={"HX-Request": "true"})).status_code == 200
        chat = _timed(lambda: patient.post(f"{room}/chat", {"body": "Nina homa", "client_id": "p-1"}, page=room))
        assert chat.status_code == 303
        for person in (patient, doctor):
            assert _timed(lambda: person.post(f"{room}/recording/consent", page=room)).status_code == 303
        assert "Recording" in doctor.get(room).get_data(as_text=True)
        note = _timed(lambda: doctor.post(f"{room}/note", {"subjective": "Fever two days", "plan": "Fluids"}, page=room))
        assert note.status_code in (200, 303)
        ended = _timed(lambda: doctor.post(f"{room}/end", {"confirmed": "yes"}, page=f"{room}/end"))
        assert ended.status_code == 303
        assert "This video visit is over." in patient.get(room).get_data(as_text=True)

    with app.app_context():
        assert db.session.execute(select(ChatMessage.seq)).scalars().all() == [1]
        assert db.session.get(Appointment, visit.appointment_id).status == "completed"
        assert db.session.execute(select(ClinicalEntry.id).where(ClinicalEntry.patient_id == visit.patient_id)).first()
