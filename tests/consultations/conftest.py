"""A video visit between a doctor and a patient, starting at 09:20 (Nairobi) on a frozen Monday morning."""
from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import pytest

from app.accounts.models import Role
from app.core.clock import clock

START = dt.datetime(2027, 3, 1, 6, 20, tzinfo=dt.timezone.utc)  # 09:20 in Nairobi


@dataclasses.dataclass
class Visit:
    appointment_id: int
    token: str
    doctor: object
    patient_user: object
    patient_id: int


@pytest.fixture
def visit(app, make_user, make_patient):
    from app.extensions import db
    from app.scheduling.models import Appointment, VisitMode

    clock.freeze(START - dt.timedelta(minutes=5))  # the room is open (it opens at 09:10)
    doctor = make_user(Role.DOCTOR, full_name="Dr. Amina Odhiambo")
    patient_user = make_user(Role.PATIENT, full_name="Wanjiku Mwangi")
    patient = make_patient(given_name="Wanjiku", family_name="Mwangi", user_id=patient_user.id)
    token = secrets.token_urlsafe(24)
    with app.app_context():
        appointment = Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=START,
                                  ends_at=START + dt.timedelta(minutes=20), status="booked",
                                  mode=VisitMode.VIDEO.value, video_token=token, reminder_stage=2)
        db.session.add(appointment)
        db.session.commit()
        return Visit(appointment.id, token, doctor, patient_user, patient.id)


def actor_of(user):
    from app.core.actor import Actor

    return Actor(user_id=user.id, role=user.role)
