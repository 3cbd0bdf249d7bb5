"""Reads for the formulary and stock pages."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.orm import load_only, selectinload

from app.extensions import db
from app.prescriptions.models import DrugClass, Interaction, Medicine, StockBatch, StockMovement

NEAR_EXPIRY_DAYS = 90
SEARCH_LIMIT = 30


def _matching(query, text: str | None):
    words = (text or "").casefold().split()
    for word in words[:5]:
        query = query.where(Medicine.name_search.contains(word, autoescape=True))
    return query


def medicines_search(text: str | None = None, *, active_only: bool = False, limit: int | None = SEARCH_LIMIT) -> list[Medicine]:
    query = select(Medicine).options(selectinload(Medicine.classes)).order_by(Medicine.name, Medicine.strength)
    if active_only:
        query = query.where(Medicine.active.is_(True))
    return list(db.session.execute(_matching(query, text).limit(limit)).scalars())


def medicine_get(medicine_id: int) -> Medicine | None:
    return db.session.get(Medicine, medicine_id)


def classes_all() -> list[DrugClass]:
    return list(db.session.execute(select(DrugClass).order_by(DrugClass.name)).scalars())


def interactions_all() -> list[Interaction]:
    return list(db.session.execute(
        select(Interaction).options(selectinload(Interaction.class_a), selectinload(Interaction.class_b))
        .order_by(Interaction.severity, Interaction.id)).scalars())


@dataclasses.dataclass(frozen=True)
class StockLine:
    medicine: Medicine
    on_hand: int            # units in batches not yet expired
    expired: int            # units still on the shelf past their expiry
    next_expiry: dt.date | None

    @property
    def low(self) -> bool:
        return self.on_hand <= self.medicine.reorder_level


def stock_lines(*, site_id: int, today: dt.date, text: str | None = None, low_only: bool = False) -> list[StockLine]:
    """Per medicine this pharmacy has ever received: what is usable, what has expired, the next expiry."""
    usable = StockBatch.expires_on > today
    on_hand = func.coalesce(func.sum(case((usable, StockBatch.quantity), else_=0)), 0)
    query = (select(Medicine, on_hand, func.coalesce(func.sum(case((usable, 0), else_=StockBatch.quantity)), 0),
                    func.min(case((usable & (StockBatch.quantity > 0), StockBatch.expires_on))))
             .join(StockBatch, StockBatch.medicine_id == Medicine.id)
             .where(StockBatch.site_id == site_id).group_by(Medicine.id).order_by(Medicine.name, Medicine.strength))
    if low_only:
        query = query.having(on_hand <= Medicine.reorder_level)
    return [StockLine(*row) for row in db.session.execute(_matching(query, text))]


def near_expiry(*, site_id: int, today: dt.date, days: int = NEAR_EXPIRY_DAYS) -> list[StockBatch]:
    """Batches with units left that expire within `days` (or already have: they must come off the shelf)."""
    return list(db.session.execute(
        select(StockBatch).options(selectinload(StockBatch.medicine))
        .where(StockBatch.site_id == site_id, StockBatch.quantity > 0,
               StockBatch.expires_on <= today + dt.timedelta(days=days))
        .order_by(StockBatch.expires_on, StockBatch.id)).scalars())


def batches(*, site_id: int, medicine_id: int) -> list[StockBatch]:
    return list(db.session.execute(
        select(StockBatch).where(StockBatch.site_id == site_id, StockBatch.medicine_id == medicine_id)
        .order_by(StockBatch.expires_on, StockBatch.id)).scalars())


def movements(*, site_id: int, medicine_id: int, limit: int = 20) -> list[StockMovement]:
    return list(db.session.execute(
        select(StockMovement).join(StockBatch).options(selectinload(StockMovement.by), selectinload(StockMovement.batch))
        .where(StockBatch.site_id == site_id, StockBatch.medicine_id == medicine_id)
        .order_by(StockMovement.at.desc(), StockMovement.id.desc()).limit(limit)).scalars())




def stock_alert_counts(*, site_id: int, today: dt.date) -> dict[str, int]:
    """How many medicines are low and how many batches are near or past expiry: the home page's numbers."""
    return {"low": len(stock_lines(site_id=site_id, today=today, low_only=True)),
            "near_expiry": len(near_expiry(site_id=site_id, today=today))}


def pharmacy_queue(*, site_id: int) -> dict[str, list]:
    """The open prescriptions at a pharmacy by status, oldest first: plain columns only (who, when,
    the code), read as rows: nothing encrypted is loaded, so nothing is decrypted. Live pages fetch
    this on every queue event, so it stays one query."""
    from app.accounts.models import User
    from app.prescriptions.models import OPEN_STATUSES, Prescription
    from app.records.models import Patient

    rows = db.session.execute(
        select(Prescription.id, Prescription.status, Prescription.signed_at, Prescription.collection_code,
               (Patient.given_name + " " + Patient.family_name).label("patient_name"),
               User.full_name.label("prescriber_name"))
        .join(Patient, Patient.id == Prescription.patient_id).join(User, User.id == Prescription.prescriber_id)
        .where(Prescription.pharmacy_id == site_id, Prescription.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Prescription.signed_at, Prescription.id))
    queue: dict[str, list] = {s.value: [] for s in OPEN_STATUSES}
    for row in rows:
        queue[row.status].append(row)
    return queue


def prescriptions_of_patient(*, patient_id: int, limit: int = 30) -> list:
    from app.prescriptions.models import Prescription

    return list(db.session.execute(
        select(Prescription).options(selectinload(Prescription.pharmacy), selectinload(Prescription.prescriber))
        .where(Prescription.patient_id == patient_id)
        .order_by(Prescription.signed_at.desc(), Prescription.id.desc()).limit(limit)).scalars())


def pharmacies() -> list:
    from app.accounts.models import Site, SiteKind

    return list(db.session.execute(select(Site).where(Site.kind == SiteKind.PHARMACY.value).order_by(Site.name)).scalars())


def prescriptions_by_prescriber(*, prescriber_id: int, limit: int = 50) -> list:
    """A doctor's own prescriptions, newest first: names and status only (the list shows no items)."""
    from app.prescriptions.models import Prescription
    from app.records.models import Patient

    return list(db.session.execute(
        select(Prescription).options(
            load_only(Prescription.id, Prescription.status, Prescription.signed_at, Prescription.status_changed_at,
                      Prescription.patient_id, Prescription.pharmacy_id),
            selectinload(Prescription.patient).load_only(Patient.given_name, Patient.family_name),
            selectinload(Prescription.pharmacy))
        .where(Prescription.prescriber_id == prescriber_id)
        .order_by(Prescription.status_changed_at.desc(), Prescription.id.desc()).limit(limit)).scalars())


def collectable_count(*, patient_id: int) -> int:
    """How many of a patient's prescriptions wait at a pharmacy, ready (a count: no clinical content)."""
    from app.prescriptions.models import Prescription, PrescriptionStatus

    return db.session.execute(select(func.count()).select_from(Prescription).where(
        Prescription.patient_id == patient_id, Prescription.status == PrescriptionStatus.READY.value)).scalar_one()


def refill_requests_for(*, prescriber_id: int) -> list:
    from app.prescriptions.models import Prescription, RefillRequest, RefillStatus

    return list(db.session.execute(
        select(RefillRequest).join(Prescription).options(selectinload(RefillRequest.prescription)
                                                        .selectinload(Prescription.patient))
        .where(Prescription.prescriber_id == prescriber_id, RefillRequest.status == RefillStatus.REQUESTED.value)
        .order_by(RefillRequest.requested_at)).scalars())


def refill_requests_of(*, prescription_ids: list[int]) -> dict[int, object]:
    """The latest refill request of each prescription, by prescription id."""
    from app.prescriptions.models import RefillRequest

    latest: dict[int, object] = {}
    for request in db.session.execute(select(RefillRequest).where(RefillRequest.prescription_id.in_(prescription_ids or [-1]))
                                      .order_by(RefillRequest.number)).scalars():
        latest[request.prescription_id] = request
    return latest


def prescriber_waiting_count(*, prescriber_id: int) -> int:
    """Pharmacy questions and refill requests waiting for this doctor (a count: nothing clinical)."""
    from app.prescriptions.models import Prescription, PrescriptionStatus, RefillRequest, RefillStatus

    queried = db.session.execute(select(func.count()).select_from(Prescription).where(
        Prescription.prescriber_id == prescriber_id, Prescription.status == PrescriptionStatus.QUERIED.value)).scalar_one()
    refills = db.session.execute(select(func.count()).select_from(RefillRequest).join(Prescription).where(
        Prescription.prescriber_id == prescriber_id, RefillRequest.status == RefillStatus.REQUESTED.value)).scalar_one()
    return queried + refills
