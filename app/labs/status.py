"""A lab order's status changes, decided by the database."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from app.core.clock import clock
from app.core.errors import DomainError
from app.extensions import db
from app.labs.models import LabOrder, LabOrderStatus

# The step's own time, kept the first time the order reaches it (a new sample after a rejection
# moves collected_at on: the turnaround is measured from the sample that was used).
STEP_TIMES = {LabOrderStatus.COLLECTED: "collected_at", LabOrderStatus.RECEIVED: "received_at",
              LabOrderStatus.IN_PROGRESS: "started_at", LabOrderStatus.COMPLETED: "completed_at"}


class OrderChanged(DomainError):
    """Someone else moved the order first."""


def status_move(order: LabOrder, status: LabOrderStatus) -> None:
    """Change the status only from the one it was read in: a second click, or a second technician,
    finds it changed and is refused instead of moving it twice."""
    now = clock.now()
    values = {"status": status.value, "status_changed_at": now}
    if status in STEP_TIMES:
        values[STEP_TIMES[status]] = now
    changed = db.session.execute(
        update(LabOrder).where(LabOrder.id == order.id, LabOrder.status == order.status).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise OrderChanged(_("Someone else changed this order a moment ago: look again."))
    db.session.expire(order)
