"""Reads of the audit trail for the administrator."""
from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db


def audit_recent(*, patient_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    return list(db.session.execute(query).scalars())
