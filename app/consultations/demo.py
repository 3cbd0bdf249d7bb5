"""Demo data for the video room: a video visit between the demo patient and doctor@demo.test that
starts a few minutes after seeding, so the room is open when someone tries `make run`; and one that
took place yesterday over a weak link, so Admin -> Call quality has something to show."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

from app.consultations.models import CallQualitySample, Consultation
from app.core.clock import clock
from app.extensions import db
from app.scheduling.models import ACTIVE_STATUS_VALUES, Appointment, VisitMode

LENGTH = dt.timedelta(minutes=20)


def _free(doctor_id: int, patient_id: int, start: dt.datetime) -> bool:
    return db.session.execute(select(Appointment.id).where(
        (Appointment.doctor_id == doctor_id) | (Appointment.patient_id == patient_id),
        Appointment.status.in_(ACTIVE_STATUS_VALUES),
        Appointment.starts_at < start + LENGTH, Appointment.ends_at > start).limit(1)).first() is None


def _seed_past_call(*, doctor, patient, now: dt.datetime) -> None:
    """Yesterday's video visit, 10 minutes measured every 4 s by both sides: fine at first, then a
    weak patch in which the patient's side went down to audio only, then better again."""
    start = now - dt.timedelta(days=1)
    if not _free(doctor.id, patient.id, start):
        return
    appointment = Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=start, ends_at=start + LENGTH,
                              status="completed", mode=VisitMode.VIDEO.value, video_token=secrets.token_urlsafe(24),
                              reason="Follow-up by video", reminder_stage=2, created_at=start - dt.timedelta(days=3))
    db.session.add(appointment)
    db.session.flush()
    consultation = Consultation(appointment_id=appointment.id, admitted_at=start, admitted_by_id=doctor.id, last_seq=0)
    db.session.add(consultation)
    db.session.flush()
    for n in range(150):
        weak = 60 <= n < 100
        for member in ("patient", "doctor"):
            level = (3 if member == "patient" and weak else 1) if weak else 0
            db.session.add(CallQualitySample(
                consultation_id=consultation.id, member=member, measured_at=start + dt.timedelta(seconds=4 * n),
                rtt_ms=(620 if weak else 140) + n % 7 * 10, loss_pct=(9.5 if weak else 0.8) + n % 3 * 0.5,
                bitrate_kbps=70 if weak else 420, fps=(0 if level == 3 else 14.5), level=level, audio_only=level == 3))


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
    _seed_past_call(doctor=doctor, patient=patient, now=now)
    return appointment
