"""Reads for the lab's pages: the catalogue, the labs, the technician's queue, a patient's orders."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from app.core.clock import clock
from app.extensions import db
from app.labs.models import OPEN_LAB_STATUSES, LabOrder, LabOrderStatus, LabSample, LabTest, Urgency

QUEUE_SHOWN = 40
COMPLETED_SHOWN_FOR = dt.timedelta(hours=24)


def tests_all(*, active_only: bool = False) -> list[LabTest]:
    query = select(LabTest).order_by(LabTest.name)
    if active_only:
        query = query.where(LabTest.active.is_(True))
    return list(db.session.execute(query).scalars())


def test_get(test_id: int) -> LabTest | None:
    return db.session.get(LabTest, test_id)


def labs() -> list:
    from app.accounts.models import Site, SiteKind

    return list(db.session.execute(select(Site).where(Site.kind == SiteKind.LAB.value).order_by(Site.name)).scalars())


def lab_queue(*, site_id: int, status: str | None = None, urgency: str | None = None) -> list:
    """A lab's orders to work on, urgent first then oldest first: plain columns only (who, when, how
    urgent, the current sample id), read as rows, so nothing encrypted is decrypted. Completed orders
    stay listed for a day. One query: live pages fetch it on every queue event."""
    from app.records.models import Patient

    latest_sample = (select(LabSample.code).where(LabSample.order_id == LabOrder.id)
                     .order_by(LabSample.id.desc()).limit(1).correlate(LabOrder).scalar_subquery())
    query = (select(LabOrder.id, LabOrder.status, LabOrder.urgency, LabOrder.ordered_at, LabOrder.status_changed_at,
                    latest_sample.label("sample_code"),
                    (Patient.given_name + " " + Patient.family_name).label("patient_name"))
             .join(Patient, Patient.id == LabOrder.patient_id).where(LabOrder.site_id == site_id))
    if status in {s.value for s in LabOrderStatus}:
        query = query.where(LabOrder.status == status)
    else:
        query = query.where((LabOrder.status.in_([s.value for s in OPEN_LAB_STATUSES]))
                            | ((LabOrder.status == LabOrderStatus.COMPLETED.value)
                               & (LabOrder.status_changed_at >= clock.now() - COMPLETED_SHOWN_FOR)))
    if status == LabOrderStatus.COMPLETED.value:
        query = query.where(LabOrder.status_changed_at >= clock.now() - COMPLETED_SHOWN_FOR)
    if urgency in {u.value for u in Urgency}:
        query = query.where(LabOrder.urgency == urgency)
    urgent_first = case((LabOrder.urgency == Urgency.URGENT.value, 0), else_=1)
    return list(db.session.execute(query.order_by(urgent_first, LabOrder.ordered_at, LabOrder.id).limit(QUEUE_SHOWN)))


def queue_counts(*, site_id: int) -> dict[str, int]:
    """How many open orders per status (the filter buttons' numbers)."""
    rows = db.session.execute(select(LabOrder.status, func.count()).where(
        LabOrder.site_id == site_id, LabOrder.status.in_([s.value for s in OPEN_LAB_STATUSES]))
        .group_by(LabOrder.status)).all()
    return dict(rows)


def orders_of_patient(*, patient_id: int, limit: int = 20) -> list[LabOrder]:
    return list(db.session.execute(
        select(LabOrder).options(selectinload(LabOrder.site), selectinload(LabOrder.doctor))
        .where(LabOrder.patient_id == patient_id).order_by(LabOrder.ordered_at.desc(), LabOrder.id.desc())
        .limit(limit)).scalars())


def reports_to_review(*, doctor_id: int) -> list:
    """A doctor's results waiting for them: released and not yet marked reviewed, and critical values
    alerted before release; oldest first. Plain columns only."""
    from app.labs.models import LabReport
    from app.records.models import Patient

    return list(db.session.execute(
        select(LabOrder.id, LabOrder.patient_id, LabReport.released_at, LabReport.critical_alerted_at,
               LabReport.amended_at, (Patient.given_name + " " + Patient.family_name).label("patient_name"))
        .join(LabReport, LabReport.order_id == LabOrder.id).join(Patient, Patient.id == LabOrder.patient_id)
        .where(LabOrder.doctor_id == doctor_id, LabReport.reviewed_at.is_(None),
               LabReport.released_at.is_not(None) | LabReport.critical_alerted_at.is_not(None))
        .order_by(LabReport.critical_alerted_at.is_(None), LabOrder.ordered_at, LabOrder.id)))


def review_counts(*, doctor_id: int, overdue_after: dt.timedelta) -> dict[str, int]:
    """For the doctor's day: critical results not yet reviewed, and released ones unreviewed past the limit."""
    from app.labs.models import LabReport

    unreviewed = (select(func.count()).select_from(LabReport).join(LabOrder, LabOrder.id == LabReport.order_id)
                  .where(LabOrder.doctor_id == doctor_id, LabReport.reviewed_at.is_(None)))
    critical = db.session.execute(unreviewed.where(LabReport.critical_alerted_at.is_not(None))).scalar_one()
    overdue = db.session.execute(unreviewed.where(LabReport.released_at < clock.now() - overdue_after)).scalar_one()
    return {"critical": critical, "overdue": overdue}


def released_reports(*, patient_id: int, limit: int = 50) -> list:
    """A patient's released results, newest first (each with its order)."""
    from app.labs.models import LabReport

    return list(db.session.execute(
        select(LabReport).join(LabOrder, LabOrder.id == LabReport.order_id)
        .options(selectinload(LabReport.order).selectinload(LabOrder.site))
        .where(LabOrder.patient_id == patient_id, LabReport.released_at.is_not(None))
        .order_by(LabReport.released_at.desc(), LabReport.id.desc()).limit(limit)).scalars())
