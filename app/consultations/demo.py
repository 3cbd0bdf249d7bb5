"""Demo data for the video room: a video visit between the demo patient and doctor@demo.test that
starts a few minutes after seeding, so the room is open when someone tries `make run`."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

from app.core.clock import clock
from app.extensions import db
from app.scheduling.models import ACTIVE_STATUS_VALUES, Appointment, VisitMode

LENGTH = dt.timedelta(minutes=20)


def _free(doctor_id: int, patient_id: int, start: dt.datetime) -> bool:
    return db.session.execute(select(Appointment.id).where(
        (Appointment.doctor_id == doctor_id) | (Appointment.patient_id == patient_id),
        Appointment.status.in_(ACTIVE_STATUS_VALUES),
        Appointment.starts_at < start + LENGTH, Appointment.ends_at > start).limit(1)).first() is None


def seed_consultations(*, doctor, patient) -> Appointment:
    """The first free 20 minutes of both, from five minutes from now (the room opens 10 minutes before)."""
    now = clock.now().replace(second=0, microsecond=0)
    start = now + dt.timedelta(minutes=5 - now.minute % 5 + 5)
    while not _free(doctor.id, patient.id, start):
        start += dt.timedelta(minutes=5)
    appointment = Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=start, ends_at=start + LENGTH,
                              status="booked", mode=VisitMode.VIDEO.value, video_token=secrets.token_urlsafe(24),
                              reason="Follow-up by video", reminder_stage=2, created_at=now)
    db.session.add(appointment)
    db.session.flush()
    return appointment
