"""Reads for other pages: which appointments have their patient in the video waiting room."""
from __future__ import annotations

from sqlalchemy import select

from app.consultations.models import Consultation
from app.extensions import db


def waiting_online(appointment_ids: list[int]) -> set[int]:
    """Of these appointments, those whose patient waits in the video room now (one query)."""
    if not appointment_ids:
        return set()
    return set(db.session.execute(
        select(Consultation.appointment_id).where(Consultation.appointment_id.in_(appointment_ids),
                                                  Consultation.waiting_since.is_not(None),
                                                  Consultation.admitted_at.is_(None))).scalars())
