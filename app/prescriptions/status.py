"""A prescription's status changes, decided by the database."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from app.core.clock import clock
from app.core.errors import DomainError
from app.extensions import db
from app.prescriptions.models import Prescription, PrescriptionStatus


def status_move(prescription: Prescription, status: PrescriptionStatus, *, note: str | None = None) -> None:
    """Change the status only from the one it was read in: a second click, or a second person, finds
    it changed and is refused instead of moving it twice."""
    changed = db.session.execute(
        update(Prescription).where(Prescription.id == prescription.id, Prescription.status == prescription.status)
        .values(status=status.value, status_changed_at=clock.now(), status_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise DomainError(_("Someone else changed this prescription a moment ago: look again."))
    db.session.expire(prescription)
