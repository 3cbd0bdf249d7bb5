"""The formulary and each pharmacy's stock: the writes.

A batch's quantity only ever changes through `_change_quantity`, one conditional UPDATE that the
database decides ("... WHERE quantity >= :n"), so two pharmacists taking the last box at once cannot
both succeed, and the CHECK on the column stops anything that slips past. Every change is a
StockMovement row (the batch's ledger) and an audit row."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from app.accounts.models import Site, SiteKind, StaffProfile
from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.prescriptions import formulary_data
from app.prescriptions.models import (
    NOTE_MAX,
    AdjustmentReason,
    DrugClass,
    Interaction,
    Medicine,
    MovementKind,
    StockBatch,
    StockMovement,
)
from app.scheduling.clinic_time import local_today

QUANTITY_MAX = 100_000  # more units than any delivery or count at a small clinic's pharmacy: a typo
TAKE_ATTEMPTS = 5


def formulary_ensure() -> None:
    """Seed the formulary into an empty database (the migration seeds it; tests and a demo on
    emptied tables call this)."""
    if db.session.execute(select(func.count()).select_from(Medicine)).scalar_one():
        return
    from app.core.db import Base

    for table, rows in formulary_data.rows().items():
        db.session.execute(insert(Base.metadata.tables[table]), rows)
    if db.is_postgres:
        for table in ("drug_classes", "medicines"):
            db.session.execute(func.setval(func.pg_get_serial_sequence(table, "id"),
                                           select(func.max(Base.metadata.tables[table].c.id)).scalar_subquery()))
    db.session.flush()


# -- the formulary (admins) ---------------------------------------------------------------------------

@dataclasses.dataclass
class MedicineInput:
    name: str
    form: str
    strength: str
    route: str
    dose_unit: str
    dose_min: Decimal
    dose_max: Decimal
    unit: str
    price_cents: int
    reorder_level: int
    active: bool
    class_ids: list[int]


def _checked(values: MedicineInput) -> MedicineInput:
    for name in ("name", "form", "strength", "route", "dose_unit", "unit"):
        setattr(values, name, (getattr(values, name) or "").strip())
        if not getattr(values, name):
            raise DomainError(_("This cannot be empty."), field=name)
    if values.dose_min is None or values.dose_max is None or values.dose_min <= 0:
        raise DomainError(_("Enter a dose above zero."), field="dose_min")
    if values.dose_max < values.dose_min:
        raise DomainError(_("The highest usual dose is below the lowest."), field="dose_max")
    if values.price_cents < 0:
        raise DomainError(_("A price cannot be negative."), field="price")
    if values.reorder_level < 0:
        raise DomainError(_("Enter zero or more."), field="reorder_level")
    return values


def _classes(class_ids: list[int]) -> list[DrugClass]:
    classes = db.session.execute(select(DrugClass).where(DrugClass.id.in_(class_ids or [-1]))).scalars().all()
    if len(classes) != len(set(class_ids or [])):
        raise DomainError(_("Choose classes from the list."), field="class_ids")
    return list(classes)


def _refuse_duplicate(values: MedicineInput, *, except_id: int | None = None) -> None:
    query = select(Medicine.id).where(func.lower(Medicine.name) == values.name.casefold(),
                                      func.lower(Medicine.form) == values.form.casefold(),
                                      func.lower(Medicine.strength) == values.strength.casefold())
    if except_id is not None:
        query = query.where(Medicine.id != except_id)
    if db.session.execute(query).first() is not None:
        raise DomainError(_("The formulary already has this medicine in this form and strength."), field="strength")


def _fill(medicine: Medicine, values: MedicineInput) -> None:
    for name in ("name", "form", "strength", "route", "dose_unit", "dose_min", "dose_max", "unit",
                 "price_cents", "reorder_level", "active"):
        setattr(medicine, name, getattr(values, name))
    medicine.name_search = values.name.casefold()
    medicine.classes = _classes(values.class_ids)


def medicine_add(*, actor: Actor, values: MedicineInput) -> Medicine:
    values = _checked(values)
    _refuse_duplicate(values)
    medicine = Medicine()
    _fill(medicine, values)
    db.session.add(medicine)
    db.session.flush()
    audit_access(actor=actor, patient_id=None, action="formulary.add", reason="formulary", target=f"medicine:{medicine.id}")
    return medicine


def medicine_update(*, actor: Actor, medicine_id: int, values: MedicineInput) -> Medicine:
    medicine = db.session.get(Medicine, medicine_id)
    if medicine is None:
        raise NotFound(_("No such medicine."))
    values = _checked(values)
    _refuse_duplicate(values, except_id=medicine_id)
    _fill(medicine, values)
    db.session.flush()
    audit_access(actor=actor, patient_id=None, action="formulary.update", reason="formulary",
                 target=f"medicine:{medicine.id}")
    return medicine


# -- stock (pharmacists) -----------------------------------------------------------------------------

class NoPharmacy(DomainError):
    """The signed-in pharmacist works at no pharmacy: an admin assigns one."""


def pharmacy_of(*, user_id: int) -> Site:
    site = db.session.execute(
        select(Site).join(StaffProfile, StaffProfile.site_id == Site.id)
        .where(StaffProfile.user_id == user_id, Site.kind == SiteKind.PHARMACY.value)).scalar_one_or_none()
    if site is None:
        raise NoPharmacy(_("Your account is not assigned to a pharmacy yet: ask an administrator to assign one."))
    return site


class StockShort(DomainError):
    """Not enough unexpired stock: says what is short."""

    def __init__(self, *, medicine: Medicine, wanted: int, available: int) -> None:
        super().__init__(_("Only %(available)s %(unit)s of %(medicine)s in stock (not expired): %(short)s short.",
                           available=available, unit=medicine.unit, medicine=medicine.label,
                           short=wanted - available), field="quantity")
        self.wanted, self.available = wanted, available


def _quantity(value: int, *, field: str = "quantity") -> int:
    if value is None or not 1 <= value <= QUANTITY_MAX:
        raise DomainError(_("Enter a quantity from 1 to %(max)s.", max=f"{QUANTITY_MAX:,}"), field=field)
    return value


def _medicine(medicine_id: int) -> Medicine:
    medicine = db.session.get(Medicine, medicine_id)
    if medicine is None:
        raise NotFound(_("No such medicine."))
    return medicine


def _batch_at(site_id: int, batch_id: int) -> StockBatch:
    batch = db.session.execute(
        select(StockBatch).where(StockBatch.id == batch_id, StockBatch.site_id == site_id)).scalar_one_or_none()
    if batch is None:
        raise NotFound(_("No such batch at this pharmacy."))
    return batch


def _change_quantity(batch_id: int, change: int) -> bool:
    """Add `change` (negative: take) to a batch, only if it stays at zero or above: decided by the
    database in one statement, whoever else is changing the batch at the same moment."""
    statement = update(StockBatch).where(StockBatch.id == batch_id).values(quantity=StockBatch.quantity + change)
    if change < 0:
        statement = statement.where(StockBatch.quantity >= -change)
    changed = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount == 1
    return changed


def _record(*, actor: Actor, batch: StockBatch, change: int, kind: MovementKind, reason: str | None = None,
            note: str | None = None) -> StockMovement:
    movement = StockMovement(batch_id=batch.id, change=change, kind=kind.value, reason=reason, note=note,
                             by_id=actor.user_id)
    db.session.add(movement)
    db.session.flush()
    db.session.expire(batch, ["quantity"])
    audit_access(actor=actor, patient_id=None, action=f"stock.{kind.value}", reason="stock",
                 target=f"stock_batch:{batch.id}")
    return movement


def stock_receive(*, actor: Actor, site_id: int, medicine_id: int, batch_number: str, expires_on: dt.date,
                  quantity: int) -> StockBatch:
    """Units of a delivery onto the shelf: a new batch, or more of a batch already here (same expiry)."""
    medicine = _medicine(medicine_id)
    if not medicine.active:
        raise DomainError(_("This medicine is no longer in the formulary."), field="medicine_id")
    batch_number = (batch_number or "").strip()
    if not batch_number:
        raise DomainError(_("Enter the batch number printed on the pack."), field="batch_number")
    if expires_on is None or expires_on <= local_today():
        raise DomainError(_("This batch has expired: it cannot be received."), field="expires_on")
    quantity = _quantity(quantity)
    batch = db.session.execute(select(StockBatch).where(
        StockBatch.site_id == site_id, StockBatch.medicine_id == medicine_id,
        StockBatch.batch_number == batch_number)).scalar_one_or_none()
    if batch is None:
        batch = StockBatch(site_id=site_id, medicine_id=medicine_id, batch_number=batch_number,
                           expires_on=expires_on, quantity=quantity)
        db.session.add(batch)
        db.session.flush()
    else:
        if batch.expires_on != expires_on:
            raise DomainError(_("Batch %(batch)s is already here with expiry %(date)s: check the pack.",
                                batch=batch_number, date=batch.expires_on.isoformat()), field="expires_on")
        _change_quantity(batch.id, quantity)
    _record(actor=actor, batch=batch, change=quantity, kind=MovementKind.RECEIVED)
    return batch


def stock_adjust(*, actor: Actor, site_id: int, batch_id: int, change: int, reason: AdjustmentReason,
                 note: str | None = None) -> StockBatch:
    """Correct a batch (a count, damage, removal): any change needs a reason, "other" a note too."""
    batch = _batch_at(site_id, batch_id)
    if change is None or change == 0 or abs(change) > QUANTITY_MAX:
        raise DomainError(_("Enter the change, e.g. -3 or 10 (not zero)."), field="change")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DomainError(_("Use at most %(max)d characters.", max=NOTE_MAX), field="note")
    if reason == AdjustmentReason.OTHER and note is None:
        raise DomainError(_("Say what happened."), field="note")
    if not _change_quantity(batch.id, change):
        db.session.refresh(batch)
        raise DomainError(_("Batch %(batch)s has only %(quantity)s left.", batch=batch.batch_number,
                            quantity=batch.quantity), field="change")
    _record(actor=actor, batch=batch, change=change, kind=MovementKind.ADJUSTED, reason=reason.value, note=note)
    return batch


def stock_take(*, actor: Actor, site_id: int, medicine_id: int, quantity: int) -> list[tuple[StockBatch, int]]:
    """Take units off the shelf for a dispense: earliest expiry first, never an expired batch. All or
    nothing: a shortfall raises StockShort and the request's transaction undoes any part taken."""
    medicine = _medicine(medicine_id)
    quantity = _quantity(quantity)
    for _attempt in range(TAKE_ATTEMPTS):
        batches = db.session.execute(
            select(StockBatch).where(StockBatch.site_id == site_id, StockBatch.medicine_id == medicine_id,
                                     StockBatch.quantity > 0, StockBatch.expires_on > local_today())
            .order_by(StockBatch.expires_on, StockBatch.id).execution_options(populate_existing=True)).scalars().all()
        available = sum(batch.quantity for batch in batches)
        if available < quantity:
            raise StockShort(medicine=medicine, wanted=quantity, available=available)
        taken, remaining = [], quantity
        for batch in batches:
            if remaining == 0:
                break
            part = min(batch.quantity, remaining)
            if not _change_quantity(batch.id, -part):
                break  # someone took from this batch since we read it: read again
            taken.append((batch, part))
            remaining -= part
        if remaining == 0:
            for batch, part in taken:
                _record(actor=actor, batch=batch, change=-part, kind=MovementKind.DISPENSED)
            return taken
        for batch, part in taken:  # put back what this attempt took, then read the shelf again
            _change_quantity(batch.id, part)
    raise StockShort(medicine=medicine, wanted=quantity, available=0)


ADVICE_MAX = 300


def interaction_add(*, actor: Actor, class_a_id: int, class_b_id: int, severity: str, advice: str) -> Interaction:
    """A clinically important pair of drug classes, with advice: the prescribing check warns on it."""
    from app.prescriptions.models import InteractionSeverity

    if class_a_id == class_b_id:
        raise DomainError(_("Choose two different classes."), field="class_b_id")
    if len(_classes([class_a_id, class_b_id])) != 2:
        raise DomainError(_("Choose classes from the list."), field="class_a_id")
    if severity not in {s.value for s in InteractionSeverity}:
        raise DomainError(_("Choose how severe it is."), field="severity")
    advice = (advice or "").strip()
    if not advice or len(advice) > ADVICE_MAX:
        raise DomainError(_("Write the advice in up to %(max)d characters.", max=ADVICE_MAX), field="advice")
    low, high = sorted((class_a_id, class_b_id))
    if db.session.execute(select(Interaction.id).where(Interaction.class_a_id == low,
                                                       Interaction.class_b_id == high)).first() is not None:
        raise DomainError(_("These two classes already have an interaction: remove it first to change it."),
                          field="class_b_id")
    interaction = Interaction(class_a_id=low, class_b_id=high, severity=severity, advice=advice)
    db.session.add(interaction)
    db.session.flush()
    audit_access(actor=actor, patient_id=None, action="formulary.interaction.add", reason="formulary",
                 target=f"interaction:{interaction.id}")
    return interaction


def interaction_remove(*, actor: Actor, interaction_id: int) -> None:
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound(_("No such interaction."))
    db.session.delete(interaction)
    db.session.flush()
    audit_access(actor=actor, patient_id=None, action="formulary.interaction.remove", reason="formulary",
                 target=f"interaction:{interaction_id}")
