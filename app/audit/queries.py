"""Reads of the audit trail for the administrator."""
from __future__ import annotations

from sqlalchemy import literal_column, select

from app.audit.models import AuditEvent
from app.extensions import db

# A literal, not a bound parameter: PostgreSQL can then answer from the partial index
# ix_audit_events_emergency instead of walking the whole trail for a few rows.
EMERGENCY_ROWS = AuditEvent.reason == literal_column("'emergency'")


def audit_recent(*, patient_id: int | None = None, emergency: bool = False, limit: int = 100) -> list[AuditEvent]:
    """The newest rows first (the free text of their reasons decrypted: for administrators only);
    `emergency`: only those made under emergency ("break the glass") access."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if emergency:
        query = query.where(EMERGENCY_ROWS)
    return list(db.session.execute(query).scalars())
