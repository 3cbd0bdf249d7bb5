"""Reads for other pages: which appointments have their patient in the video waiting room; the
administrator's call-quality statistics."""
from __future__ import annotations

import dataclasses
import datetime as dt
import statistics

from sqlalchemy import select

from app.accounts.models import User
from app.consultations.models import CallQualitySample, Consultation
from app.core.clock import clock
from app.extensions import db
from app.scheduling.clinic_time import to_local
from app.scheduling.models import Appointment


def waiting_online(appointment_ids: list[int]) -> set[int]:
    """Of these appointments, those whose patient waits in the video room now (one query)."""
    if not appointment_ids:
        return set()
    return set(db.session.execute(
        select(Consultation.appointment_id).where(Consultation.appointment_id.in_(appointment_ids),
                                                  Consultation.waiting_since.is_not(None),
                                                  Consultation.admitted_at.is_(None))).scalars())


@dataclasses.dataclass(frozen=True)
class QualityRow:
    doctor_name: str
    day: dt.date
    calls: int
    median_rtt_ms: float | None
    median_loss_pct: float | None
    audio_only_share: float  # 0..1: of the samples, those taken while the video was off


def call_quality_by_doctor_day(*, days: int = 30) -> list[QualityRow]:
    """Per doctor and clinic day over the last `days`: calls measured, the median round-trip time and
    loss of their samples (both sides), and the share of time spent audio only (samples are evenly
    spaced, so a share of samples is a share of time). Newest day first. Medians in Python: the
    same on SQLite and PostgreSQL."""
    since = clock.now() - dt.timedelta(days=days)
    rows = db.session.execute(
        select(User.full_name, Appointment.doctor_id, CallQualitySample.consultation_id, CallQualitySample.measured_at,
               CallQualitySample.rtt_ms, CallQualitySample.loss_pct, CallQualitySample.audio_only)
        .join(Consultation, Consultation.id == CallQualitySample.consultation_id)
        .join(Appointment, Appointment.id == Consultation.appointment_id)
        .join(User, User.id == Appointment.doctor_id)
        .where(CallQualitySample.measured_at >= since))
    groups: dict[tuple, dict] = {}
    for name, doctor_id, consultation_id, at, rtt, loss, audio_only in rows:
        group = groups.setdefault((to_local(at).date(), name, doctor_id),
                                  {"calls": set(), "rtt": [], "loss": [], "audio": 0, "n": 0})
        group["calls"].add(consultation_id)
        group["n"] += 1
        group["audio"] += bool(audio_only)
        if rtt is not None:
            group["rtt"].append(rtt)
        if loss is not None:
            group["loss"].append(loss)
    result = [QualityRow(name, day, len(g["calls"]), statistics.median(g["rtt"]) if g["rtt"] else None,
                         statistics.median(g["loss"]) if g["loss"] else None, g["audio"] / g["n"])
              for (day, name, _doctor), g in groups.items()]
    return sorted(result, key=lambda r: (-r.day.toordinal(), r.doctor_name))
