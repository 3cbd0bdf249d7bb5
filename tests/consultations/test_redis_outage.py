"""Redis is down (nothing listens on its port) during a video visit: the pages, the plain-form chat,
recording consent, the SOAP note and the end of the visit all work and are saved; only the live
pushes are lost (the sockets' pages catch up when they reconnect). No request waits on Redis."""
from __future__ import annotations

from sqlalchemy import select

from app.consultations.models import ChatMessage
from app.extensions import db
from app.records.models import ClinicalEntry
from app.scheduling.models import Appointment
from tests.conftest import signed_in_as
from tests.consultations.recording_support import call_started
from tests.core.apps import another_app
from tests.notifications.peers import answered_quickly, free_port


def test_a_video_visit_goes_on_with_redis_down(app, visit):
    with app.app_context():
        call_started(visit)
    room = f"/visit/{visit.token}"
    with another_app(app, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as offline:
        patient, doctor = signed_in_as(offline, visit.patient_user), signed_in_as(offline, visit.doctor)
        assert answered_quickly(lambda: patient.get(room)).status_code == 200
        assert answered_quickly(lambda: doctor.get(f"{room}/panel", headers={"HX-Request": "true"})).status_code == 200
        chat = answered_quickly(lambda: patient.post(f"{room}/chat", {"body": "Nina homa", "client_id": "p-1"}, page=room))
        assert chat.status_code == 303
        for person in (patient, doctor):
            assert answered_quickly(lambda: person.post(f"{room}/recording/consent", page=room)).status_code == 303
        assert "Recording" in doctor.get(room).get_data(as_text=True)
        note = answered_quickly(lambda: doctor.post(f"{room}/note", {"subjective": "Fever two days", "plan": "Fluids"}, page=room))
        assert note.status_code in (200, 303)
        ended = answered_quickly(lambda: doctor.post(f"{room}/end", {"confirmed": "yes"}, page=f"{room}/end"))
        assert ended.status_code == 303
        assert "This video visit is over." in patient.get(room).get_data(as_text=True)

    with app.app_context():
        assert db.session.execute(select(ChatMessage.seq)).scalars().all() == [1]
        assert db.session.get(Appointment, visit.appointment_id).status == "completed"
        assert db.session.execute(select(ClinicalEntry.id).where(ClinicalEntry.patient_id == visit.patient_id)).first()
