"""The technician's side of a lab order, only for orders sent to their own lab: find it by the
sample id on the tube, read it (the order, the patient's name, date of birth and sex, the doctor's
note: through the records gate with purpose "lab order", never the chart), and move it along the
one state machine (models.LAB_FLOW): collect a sample (a new sample id for its label), receive it
at the bench, start testing (results.py enters and releases them, which completes it); or reject the sample with a reason, which asks for a new one.

Two technicians moving the same order at once: the database decides (status.status_move), one
wins, the other is told to look again."""
from __future__ import annotations

import re
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.labs import notices
from app.labs.models import NOTE_MAX, LabOrder, LabOrderStatus, LabSample, RejectReason
from app.labs.purposes import LAB_ORDER
from app.labs.status import status_move
from app.records import services as records
from app.records.access import ChartPart

S = LabOrderStatus
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B: typed from a tube
CODE_PREFIX = "S"
CODE_LENGTH = 7


def order_at_lab(site_id: int, order_id: int) -> LabOrder:
    order = db.session.execute(select(LabOrder).where(LabOrder.id == order_id, LabOrder.site_id == site_id)
                               ).scalar_one_or_none()
    if order is None:
        raise NotFound(_("No such order at this lab."))
    return order


def normalise_code(code: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())[:12]


def sample_find(*, site_id: int, code: str) -> LabOrder:
    """The order a sample id belongs to, at this lab (a rejected sample's id still finds its order)."""
    normalised = normalise_code(code)
    order = db.session.execute(
        select(LabOrder).join(LabSample, LabSample.order_id == LabOrder.id)
        .where(LabSample.code == normalised, LabOrder.site_id == site_id)).scalar_one_or_none() if normalised else None
    if order is None:
        raise DomainError(_("No sample with the id %(code)s at this lab. Check the label and type it again.",
                            code=normalised or "—"), field="code")
    return order


def gate(actor: Actor, order: LabOrder, action: str, *, write: bool) -> None:
    records.clinical_access(actor=actor, patient_id=order.patient_id, part=ChartPart.LAB, action=action,
                            target=f"lab_order:{order.id}", write=write, purpose=LAB_ORDER)


def order_read(*, actor: Actor, site_id: int, order_id: int) -> LabOrder:
    """The order as the technician sees it: audited, purpose "lab order"."""
    order = order_at_lab(site_id, order_id)
    gate(actor, order, "lab_order.read", write=False)
    return order


def _new_code() -> str:
    while True:
        code = CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _position in range(CODE_LENGTH - 1))
        if db.session.execute(select(LabSample.id).where(LabSample.code == code)).first() is None:
            return code


def _step(actor: Actor, site_id: int, order_id: int, status: LabOrderStatus) -> LabOrder:
    order = order_at_lab(site_id, order_id)
    if not order.may_become(status):
        raise DomainError(_("This order is at \u201c%(status)s\u201d: it cannot become \u201c%(next)s\u201d.",
                            status=order.status_enum.label, next=status.label))
    status_move(order, status)
    gate(actor, order, f"lab_order.{status.value}", write=True)
    notices.publish_after_commit(order)
    return order


def sample_collect(*, actor: Actor, site_id: int, order_id: int) -> LabSample:
    """The sample is taken: a new sample id for its label (after a rejection, a new one again)."""
    order = _step(actor, site_id, order_id, S.COLLECTED)
    sample = LabSample(order_id=order.id, code=_new_code(), collected_at=clock.now(), collected_by_id=actor.user_id)
    db.session.add(sample)
    db.session.flush()
    db.session.expire(order, ["samples"])
    return sample


def sample_receive(*, actor: Actor, site_id: int, order_id: int) -> LabOrder:
    order = _step(actor, site_id, order_id, S.RECEIVED)
    if order.sample is not None:
        order.sample.received_at = clock.now()
        db.session.flush()
    return order


def analysis_start(*, actor: Actor, site_id: int, order_id: int) -> LabOrder:
    return _step(actor, site_id, order_id, S.IN_PROGRESS)


def sample_reject(*, actor: Actor, site_id: int, order_id: int, reason: str, note: str | None = None) -> LabOrder:
    """The sample cannot be used (haemolysed, not enough, mislabelled ...): kept with why, and the
    patient is asked for a new one."""
    if reason not in {r.value for r in RejectReason}:
        raise DomainError(_("Choose why the sample cannot be used."), field="reason")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DomainError(_("Use at most %(max)d characters.", max=NOTE_MAX), field="note")
    if reason == RejectReason.OTHER.value and note is None:
        raise DomainError(_("Say what was wrong with the sample."), field="note")
    order = order_at_lab(site_id, order_id)
    sample = order.sample
    order = _step(actor, site_id, order_id, S.REJECTED)
    if sample is not None:
        sample.rejected_at, sample.rejected_by_id = clock.now(), actor.user_id
        sample.reject_reason, sample.reject_note = reason, note
        db.session.flush()
    rejected = db.session.execute(select(LabSample.id).where(LabSample.order_id == order.id,
                                                             LabSample.rejected_at.is_not(None))).all()
    notices.new_sample_needed(order, number=len(rejected))
    return order
