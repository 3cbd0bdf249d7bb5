"""The formulary (medicines, their drug classes, interactions between classes) and each pharmacy's
stock (batches with expiry, and every movement of stock).

Stock is never read-then-written in Python: a batch's quantity changes only by a conditional UPDATE
("... WHERE quantity >= :n"), and a CHECK keeps it at zero or above whatever code runs, so two
pharmacists taking the last box at once cannot both succeed."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import EncryptedJSON, EncryptedText

medicine_classes = Table(
    "medicine_classes", Base.metadata,
    Column("medicine_id", ForeignKey("medicines.id", ondelete="CASCADE"), primary_key=True),
    Column("class_id", ForeignKey("drug_classes.id", ondelete="CASCADE"), primary_key=True),
)


class DrugClass(Base):
    __tablename__ = "drug_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Medicine(Base):
    """One product of the formulary: a medicine in one form and strength, with its usual adult single
    dose (for the dose check), the unit it is dispensed in and its price per unit."""

    __tablename__ = "medicines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    form: Mapped[str] = mapped_column(String(60))
    strength: Mapped[str] = mapped_column(String(80))
    route: Mapped[str] = mapped_column(String(30))
    dose_unit: Mapped[str] = mapped_column(String(20))
    dose_min: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    dose_max: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(20))  # what one unit dispensed is: tablet, bottle, vial ...
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    # At or below this many units on hand (not expired), the pharmacy's low-stock list shows it.
    reorder_level: Mapped[int] = mapped_column(Integer, default=20, server_default="20")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    name_search: Mapped[str] = mapped_column(String(200), index=True)  # lower-cased name, for search

    classes: Mapped[list[DrugClass]] = relationship(secondary=medicine_classes, order_by=DrugClass.name)

    __table_args__ = (
        UniqueConstraint("name", "form", "strength", name="uq_medicines_product"),
        CheckConstraint("dose_min > 0 AND dose_min <= dose_max", name="dose_range"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
    )

    @property
    def label(self) -> str:
        return f"{self.name} {self.strength} ({self.form})"


class InteractionSeverity(str, enum.Enum):
    MODERATE = "moderate"
    MAJOR = "major"

    @property
    def label(self) -> str:
        return {"moderate": _l("Moderate"), "major": _l("Major")}[self.value]


class Interaction(Base):
    """Two drug classes that should not be given together without thought; stored once per pair,
    the lower class id first."""

    __tablename__ = "drug_interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_a_id: Mapped[int] = mapped_column(ForeignKey("drug_classes.id", ondelete="CASCADE"))
    class_b_id: Mapped[int] = mapped_column(ForeignKey("drug_classes.id", ondelete="CASCADE"))
    severity: Mapped[str] = mapped_column(String(10))
    advice: Mapped[str] = mapped_column(String(300))

    class_a: Mapped[DrugClass] = relationship(foreign_keys=[class_a_id])
    class_b: Mapped[DrugClass] = relationship(foreign_keys=[class_b_id])

    __table_args__ = (
        UniqueConstraint("class_a_id", "class_b_id", name="uq_drug_interactions_pair"),
        CheckConstraint("class_a_id < class_b_id", name="ordered_pair"),
    )


class StockBatch(Base):
    """Units of one medicine from one delivery at one pharmacy: its batch number, expiry and what is left."""

    __tablename__ = "stock_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    medicine_id: Mapped[int] = mapped_column(ForeignKey("medicines.id"))
    batch_number: Mapped[str] = mapped_column(String(40))
    expires_on: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    medicine: Mapped[Medicine] = relationship()

    __table_args__ = (
        UniqueConstraint("site_id", "medicine_id", "batch_number", name="uq_stock_batches_batch"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_stock_batches_site_medicine_expiry", "site_id", "medicine_id", "expires_on"),
    )


class MovementKind(str, enum.Enum):
    RECEIVED = "received"
    ADJUSTED = "adjusted"
    DISPENSED = "dispensed"


class AdjustmentReason(str, enum.Enum):
    COUNT = "count"          # a stock count found a different number
    DAMAGED = "damaged"
    EXPIRED = "expired"      # removed from the shelf
    RETURNED = "returned"    # returned to the supplier
    OTHER = "other"

    @property
    def label(self) -> str:
        return ADJUSTMENT_LABELS[self]


ADJUSTMENT_LABELS = {
    AdjustmentReason.COUNT: _l("Stock count correction"), AdjustmentReason.DAMAGED: _l("Damaged"),
    AdjustmentReason.EXPIRED: _l("Expired, removed"), AdjustmentReason.RETURNED: _l("Returned to supplier"),
    AdjustmentReason.OTHER: _l("Other"),
}


NOTE_MAX = 200  # a stock adjustment's note


class StockMovement(Base):
    """Every change of a batch's quantity, who made it and why: the batch's ledger."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("stock_batches.id", ondelete="CASCADE"), index=True)
    change: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(EncryptedText)  # free text: may name a patient
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[StockBatch] = relationship()
    by = relationship("User")

    __table_args__ = (CheckConstraint("change <> 0", name="change_not_zero"),)


class PrescriptionStatus(str, enum.Enum):
    SENT = "sent"              # signed and sent to the pharmacy: new in its queue
    PREPARING = "preparing"
    READY = "ready"            # the patient has been told to collect
    DISPENSED = "dispensed"
    QUERIED = "queried"        # the pharmacist asked the prescriber a question
    REJECTED = "rejected"
    CANCELLED = "cancelled"    # by the prescriber
    SUPERSEDED = "superseded"  # replaced by a newer prescription

    @property
    def label(self) -> str:
        return PRESCRIPTION_STATUS_LABELS[self]

    @property
    def badge(self) -> str:
        return {"sent": "badge-info", "preparing": "badge-warn", "ready": "badge-ok", "dispensed": "",
                "queried": "badge-danger", "rejected": "badge-danger", "cancelled": "", "superseded": ""}[self.value]


PRESCRIPTION_STATUS_LABELS = {
    PrescriptionStatus.SENT: _l("New"), PrescriptionStatus.PREPARING: _l("Being prepared"),
    PrescriptionStatus.READY: _l("Ready to collect"), PrescriptionStatus.DISPENSED: _l("Collected"),
    PrescriptionStatus.QUERIED: _l("Question from the pharmacy"), PrescriptionStatus.REJECTED: _l("Not dispensed"),
    PrescriptionStatus.CANCELLED: _l("Cancelled"), PrescriptionStatus.SUPERSEDED: _l("Replaced"),
}
P = PrescriptionStatus
# The one state machine: which status may follow which (views show only these moves).
PRESCRIPTION_FLOW = {
    P.SENT: (P.PREPARING, P.QUERIED, P.REJECTED, P.CANCELLED, P.SUPERSEDED),
    P.PREPARING: (P.READY, P.QUERIED, P.REJECTED),
    P.READY: (P.DISPENSED, P.PREPARING),
    P.QUERIED: (P.PREPARING, P.CANCELLED, P.SUPERSEDED),
    P.DISPENSED: (P.SENT,),  # an approved refill sends it to the pharmacy again
    P.REJECTED: (P.SUPERSEDED,),
    P.CANCELLED: (),
    P.SUPERSEDED: (),
}
OPEN_STATUSES = (P.SENT, P.PREPARING, P.READY, P.QUERIED)


class Prescription(Base):
    """A signed prescription: immutable once signed (a change is a new prescription that supersedes
    it). What it prescribes lives only in `items`, encrypted; the plain columns are what the
    pharmacy's queue sorts and filters on."""

    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    status: Mapped[str] = mapped_column(String(12), default=PrescriptionStatus.SENT.value)
    # [{medicine_id, medicine, dose, dose_unit, route, frequency, days, quantity, unit, instructions}]
    items: Mapped[list] = mapped_column(EncryptedJSON)
    # The warnings the prescriber saw and why each was overridden: [{kind, message, reason}].
    overrides: Mapped[list] = mapped_column(EncryptedJSON, default=list)
    refills_allowed: Mapped[int] = mapped_column(Integer, default=0)
    refills_used: Mapped[int] = mapped_column(Integer, default=0)
    # What the patient shows at the counter (short, unambiguous letters); the printed QR carries
    # the long verification token instead.
    collection_code: Mapped[str] = mapped_column(String(8), unique=True)
    verification_token: Mapped[str] = mapped_column(String(43), unique=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    status_note: Mapped[str | None] = mapped_column(EncryptedText)  # the pharmacist's question or refusal
    # Ready for the patient to collect (False) or going out to them (True): what they are told.
    delivery: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    patient = relationship("Patient")
    prescriber = relationship("User", foreign_keys=[prescriber_id])
    pharmacy = relationship("Site")

    __table_args__ = (
        Index("ix_prescriptions_pharmacy_status", "pharmacy_id", "status", "signed_at"),
        Index("ix_prescriptions_patient_signed", "patient_id", "signed_at"),
        Index("ix_prescriptions_prescriber_status", "prescriber_id", "status"),
        CheckConstraint("refills_used >= 0 AND refills_used <= refills_allowed", name="refills_within_count"),
    )

    @property
    def status_enum(self) -> PrescriptionStatus:
        return PrescriptionStatus(self.status)

    def may_become(self, status: PrescriptionStatus) -> bool:
        return status in PRESCRIPTION_FLOW[self.status_enum]


class Dispense(Base):
    """One handing over of a prescription (the first, then one per refill): who, when, which batches."""

    __tablename__ = "dispenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 0: the first; n: the n-th refill
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # [{medicine_id, batch_number, expires_on, quantity}] and what it cost: clinical, so encrypted.
    batches: Mapped[list] = mapped_column(EncryptedJSON)
    charge_cents: Mapped[int] = mapped_column(Integer, default=0)

    by = relationship("User")

    __table_args__ = (UniqueConstraint("prescription_id", "number", name="uq_dispenses_prescription_number"),)


class RefillStatus(str, enum.Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"


class RefillRequest(Base):
    """A patient asking for the next refill; the prescriber approves (the prescription goes to the
    pharmacy again, its own dispense) or declines. One request per refill number: a double tap or a
    second device finds the first."""

    __tablename__ = "refill_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    number: Mapped[int] = mapped_column(Integer)  # which refill: refills_used + 1 when asked
    status: Mapped[str] = mapped_column(String(10), default=RefillStatus.REQUESTED.value)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(EncryptedText)  # why declined

    prescription: Mapped[Prescription] = relationship()

    __table_args__ = (UniqueConstraint("prescription_id", "number", name="uq_refill_requests_number"),
                      Index("ix_refill_requests_status", "status", "requested_at"))
