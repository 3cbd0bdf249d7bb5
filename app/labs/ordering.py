"""A doctor orders lab tests for a patient: through the records gate with purpose "lab order"
(only for a patient in their care, or under their emergency grant), one or more tests from the
catalogue, routine or urgent, a note for the lab, at one lab. The patient is told where to go and
how to prepare, in their language. The ordering doctor may cancel it until testing begins."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.accounts.models import Role, Site, SiteKind
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import AccessDenied, DomainError, NotFound
from app.extensions import db
from app.labs import notices
from app.labs.models import NOTE_MAX, LabChargeLine, LabOrder, LabOrderStatus, LabTest, SampleType, Urgency
from app.labs.purposes import LAB_ORDER
from app.labs.status import status_move
from app.records import services as records
from app.records.access import ChartPart

MAX_TESTS = 10


def _lab(site_id: int | None) -> Site:
    site = db.session.get(Site, site_id) if site_id else None
    if site is None or site.kind != SiteKind.LAB.value:
        raise DomainError(_("Choose a lab from the list."), field="site_id")
    return site


def _tests(test_ids: list[int]) -> list[LabTest]:
    ids = list(dict.fromkeys(test_ids or []))
    if not ids:
        raise DomainError(_("Choose at least one test."), field="test_ids")
    if len(ids) > MAX_TESTS:
        raise DomainError(_("Choose at most %(max)d tests in one order.", max=MAX_TESTS), field="test_ids")
    found = {t.id: t for t in db.session.execute(
        select(LabTest).where(LabTest.id.in_(ids), LabTest.active.is_(True))).scalars()}
    if len(found) != len(ids):
        raise DomainError(_("Choose tests from the list."), field="test_ids")
    return [found[i] for i in ids]


def lab_order_place(*, actor: Actor, patient_id: int, site_id: int, test_ids: list[int], urgency: str,
                    note: str | None) -> LabOrder:
    if actor.role != Role.DOCTOR.value:
        raise AccessDenied(_("Only a doctor orders lab tests."))
    records.patient_get(patient_id)
    tests = _tests(test_ids)
    _lab(site_id)
    if urgency not in {u.value for u in Urgency}:
        raise DomainError(_("Choose routine or urgent."), field="urgency")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DomainError(_("Use at most %(max)d characters.", max=NOTE_MAX), field="note")
    now = clock.now()
    order = LabOrder(patient_id=patient_id, doctor_id=actor.user_id, site_id=site_id, urgency=urgency, note=note,
                     tests=[{"test_id": t.id, "code": t.code, "name": t.name, "sample_type": t.sample_type,
                             "loinc": t.loinc, "price_cents": t.price_cents} for t in tests],
                     target_minutes=max(t.turnaround_minutes for t in tests), ordered_at=now, status_changed_at=now)
    db.session.add(order)
    db.session.flush()
    db.session.add_all([LabChargeLine(order_id=order.id, patient_id=patient_id, description=t.name,
                                      price_cents=t.price_cents, created_at=now) for t in tests])
    records.clinical_access(actor=actor, patient_id=patient_id, part=ChartPart.LAB, action="lab_order.create",
                            target=f"lab_order:{order.id}", write=True, purpose=LAB_ORDER)
    fasting = max((t.fasting_hours or 0 for t in tests), default=0) or None
    notices.order_placed(order, fasting_hours=fasting,
                         bring_urine=any(t.sample_type == SampleType.URINE.value for t in tests))
    notices.publish_after_commit(order)
    return order


def order_for_doctor(*, actor: Actor, order_id: int) -> LabOrder:
    """An order, for the doctor who may see this patient's lab part (the gate decides and audits);
    anyone else is told there is no such order."""
    order = db.session.get(LabOrder, order_id)
    if order is None or actor.role != Role.DOCTOR.value:
        raise NotFound(_("No such lab order."))
    try:
        records.clinical_access(actor=actor, patient_id=order.patient_id, part=ChartPart.LAB,
                                action="lab_order.read", target=f"lab_order:{order.id}", purpose=LAB_ORDER)
    except records.access.ChartAccessDenied:
        raise NotFound(_("No such lab order.")) from None
    return order


def lab_order_cancel(*, actor: Actor, order_id: int) -> LabOrder:
    """The ordering doctor calls the order off before testing begins: it leaves the lab's queue, its
    charges not yet billed go, and the patient is told they need not go (or need do nothing more)."""
    order = order_for_doctor(actor=actor, order_id=order_id)
    if order.doctor_id != actor.user_id:
        raise DomainError(_("Only the doctor who ordered these tests can cancel them."))
    if order.status == LabOrderStatus.CANCELLED.value:
        raise DomainError(_("This order is already cancelled."))
    if not order.may_become(LabOrderStatus.CANCELLED):
        raise DomainError(_("The lab has already started testing: call the lab to stop it."))
    sample_taken = order.status != LabOrderStatus.ORDERED.value
    status_move(order, LabOrderStatus.CANCELLED)
    db.session.execute(delete(LabChargeLine).where(LabChargeLine.order_id == order.id,
                                                   LabChargeLine.billed_at.is_(None)))
    records.clinical_access(actor=actor, patient_id=order.patient_id, part=ChartPart.LAB, action="lab_order.cancel",
                            target=f"lab_order:{order.id}", write=True, purpose=LAB_ORDER)
    notices.order_cancelled(order, sample_taken=sample_taken)
    notices.publish_after_commit(order)
    return order
