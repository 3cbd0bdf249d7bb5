"""The lab: its test catalogue (tests, their analytes with units, reference ranges and critical
limits) and lab orders (a doctor's request for one or more tests at one lab) with the samples taken
for them.

What an order asks for (its tests) and the doctor's note are clinical, so encrypted; the plain
columns are what the lab's queue sorts and filters on (status, urgency, when, which lab, whose).
A sample's id is plain: it is printed on the tube and typed or scanned to find the order."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import true

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import EncryptedJSON, EncryptedText


class SampleType(str, enum.Enum):
    EDTA_BLOOD = "edta_blood"
    SERUM = "serum"
    FLUORIDE_BLOOD = "fluoride_blood"
    CAPILLARY_BLOOD = "capillary_blood"
    URINE = "urine"

    @property
    def label(self) -> str:
        return SAMPLE_TYPE_LABELS[self]


SAMPLE_TYPE_LABELS = {
    SampleType.EDTA_BLOOD: _l("Venous blood, EDTA (purple top)"),
    SampleType.SERUM: _l("Venous blood, serum (red or yellow top)"),
    SampleType.FLUORIDE_BLOOD: _l("Venous blood, fluoride (grey top)"),
    SampleType.CAPILLARY_BLOOD: _l("Finger-prick blood"),
    SampleType.URINE: _l("Urine"),
}


class LabTest(Base):
    """One test of the catalogue: what the doctor orders and the lab runs on one sample."""

    __tablename__ = "lab_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    loinc: Mapped[str | None] = mapped_column(String(12))
    sample_type: Mapped[str] = mapped_column(String(20))
    fasting_hours: Mapped[int | None] = mapped_column(Integer)  # nothing but water for this long before
    preparation: Mapped[str | None] = mapped_column(String(300))  # what the patient does before the sample
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    turnaround_minutes: Mapped[int] = mapped_column(Integer)  # the target, from sample received to result
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    analytes: Mapped[list[LabAnalyte]] = relationship(order_by="LabAnalyte.position", back_populates="test")

    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("turnaround_minutes > 0", name="turnaround_positive"),
    )

    @property
    def sample_type_enum(self) -> SampleType:
        return SampleType(self.sample_type)


class AnalyteKind(str, enum.Enum):
    NUMBER = "number"   # a measurement, flagged against the reference range
    CHOICE = "choice"   # one of a few answers (positive / negative ...), some of them flagged


class LabAnalyte(Base):
    """One thing a test measures. A number has a unit, reference ranges
    ([{sex: "female"|"male"|None, age_min, age_max, low, high}], ages in whole years, the first that
    fits the patient applies) and critical limits; a choice has its answers and the abnormal ones."""

    __tablename__ = "lab_analytes"

    id: Mapped[int] = mapped_column(primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("lab_tests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    loinc: Mapped[str | None] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str | None] = mapped_column(String(20))
    decimals: Mapped[int] = mapped_column(Integer, default=1)
    ranges: Mapped[list] = mapped_column(JSON, default=list)
    critical_low: Mapped[float | None] = mapped_column(Float)
    critical_high: Mapped[float | None] = mapped_column(Float)
    choices: Mapped[list | None] = mapped_column(JSON)
    abnormal: Mapped[list | None] = mapped_column(JSON)

    test: Mapped[LabTest] = relationship(back_populates="analytes")

    __table_args__ = (UniqueConstraint("test_id", "code", name="uq_lab_analytes_test_code"),)


class Urgency(str, enum.Enum):
    ROUTINE = "routine"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return {"routine": _l("Routine"), "urgent": _l("Urgent")}[self.value]


class LabOrderStatus(str, enum.Enum):
    ORDERED = "ordered"          # waiting for the sample to be taken
    COLLECTED = "collected"      # the sample is taken and labelled
    RECEIVED = "received"        # the lab bench has the sample
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"        # the sample cannot be used: a new one is needed
    CANCELLED = "cancelled"      # the ordering doctor called it off before testing began

    @property
    def label(self) -> str:
        return LAB_STATUS_LABELS[self]

    @property
    def badge(self) -> str:
        return {"ordered": "badge-info", "collected": "badge-warn", "received": "badge-warn",
                "in_progress": "badge-warn", "completed": "badge-ok", "rejected": "badge-danger",
                "cancelled": "badge-danger"}[self.value]


LAB_STATUS_LABELS = {
    LabOrderStatus.ORDERED: _l("Waiting for the sample"), LabOrderStatus.COLLECTED: _l("Sample taken"),
    LabOrderStatus.RECEIVED: _l("Sample received at the bench"), LabOrderStatus.IN_PROGRESS: _l("Being tested"),
    LabOrderStatus.COMPLETED: _l("Completed"), LabOrderStatus.REJECTED: _l("New sample needed"),
    LabOrderStatus.CANCELLED: _l("Cancelled by the doctor"),
}
L = LabOrderStatus
# The one state machine: which status may follow which (views show only these moves). No step is
# skipped and none goes back, except a rejected sample, after which a new one is collected. The
# doctor may cancel until testing begins (the bench shows no button for that move).
LAB_FLOW = {
    L.ORDERED: (L.COLLECTED, L.CANCELLED),
    L.COLLECTED: (L.RECEIVED, L.REJECTED, L.CANCELLED),
    L.RECEIVED: (L.IN_PROGRESS, L.REJECTED, L.CANCELLED),
    L.IN_PROGRESS: (L.COMPLETED, L.REJECTED),
    L.REJECTED: (L.COLLECTED, L.CANCELLED),
    L.COMPLETED: (),
    L.CANCELLED: (),
}
OPEN_LAB_STATUSES = (L.ORDERED, L.COLLECTED, L.RECEIVED, L.IN_PROGRESS, L.REJECTED)


class RejectReason(str, enum.Enum):
    HAEMOLYSED = "haemolysed"
    INSUFFICIENT = "insufficient"
    MISLABELLED = "mislabelled"
    CLOTTED = "clotted"
    OTHER = "other"

    @property
    def label(self) -> str:
        return REJECT_LABELS[self]


REJECT_LABELS = {
    RejectReason.HAEMOLYSED: _l("Haemolysed"), RejectReason.INSUFFICIENT: _l("Not enough sample"),
    RejectReason.MISLABELLED: _l("Mislabelled or unlabelled"), RejectReason.CLOTTED: _l("Clotted"),
    RejectReason.OTHER: _l("Other"),
}

NOTE_MAX = 500  # the doctor's note for the lab


class LabOrder(Base):
    """A doctor's request for one or more tests at one lab, for one patient."""

    __tablename__ = "lab_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    urgency: Mapped[str] = mapped_column(String(8), default=Urgency.ROUTINE.value)
    status: Mapped[str] = mapped_column(String(12), default=LabOrderStatus.ORDERED.value)
    # [{test_id, code, name, sample_type, loinc, price_cents}] as ordered (the catalogue may change later)
    tests: Mapped[list] = mapped_column(EncryptedJSON)
    note: Mapped[str | None] = mapped_column(EncryptedText)  # the doctor's clinical note for the lab
    # The target from sample received to results released: the longest of its tests' when ordered.
    target_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ordered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When each step was first reached (turnaround); a new sample after a rejection moves them on.
    collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    patient = relationship("Patient")
    doctor = relationship("User", foreign_keys=[doctor_id])
    site = relationship("Site")
    samples: Mapped[list[LabSample]] = relationship(order_by="LabSample.id", back_populates="order")
    report: Mapped[LabReport | None] = relationship(back_populates="order", uselist=False)

    __table_args__ = (
        Index("ix_lab_orders_site_status", "site_id", "status", "ordered_at"),
        Index("ix_lab_orders_patient_ordered", "patient_id", "ordered_at"),
        Index("ix_lab_orders_doctor_status", "doctor_id", "status"),
    )

    @property
    def status_enum(self) -> LabOrderStatus:
        return LabOrderStatus(self.status)

    @property
    def urgency_enum(self) -> Urgency:
        return Urgency(self.urgency)

    def may_become(self, status: LabOrderStatus | str) -> bool:
        return LabOrderStatus(status) in LAB_FLOW[self.status_enum]

    @property
    def sample(self) -> LabSample | None:
        """The sample in use: the latest one, unless it was rejected."""
        latest = self.samples[-1] if self.samples else None
        return latest if latest is not None and latest.rejected_at is None else None


class LabSample(Base):
    """One sample taken for an order; a rejected one stays, with why, and a new one follows it."""

    __tablename__ = "lab_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("lab_orders.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # printed on the label, as text and QR
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[str | None] = mapped_column(String(12))
    reject_note: Mapped[str | None] = mapped_column(EncryptedText)

    order: Mapped[LabOrder] = relationship(back_populates="samples")

    @property
    def reject_reason_enum(self) -> RejectReason | None:
        return RejectReason(self.reject_reason) if self.reject_reason else None


class ReportStatus(str, enum.Enum):
    ENTERED = "entered"      # typed at the bench, not yet out of the lab
    VERIFIED = "verified"    # checked by a second technician
    RELEASED = "released"    # to the doctor and the patient

    @property
    def label(self) -> str:
        return {"entered": _l("Entered, not released"), "verified": _l("Verified, not released"),
                "released": _l("Released")}[self.value]


class Flag(str, enum.Enum):
    NORMAL = ""
    LOW = "L"
    HIGH = "H"
    CRITICAL_LOW = "LL"
    CRITICAL_HIGH = "HH"
    ABNORMAL = "A"           # an abnormal answer of a choice (positive, reactive ...)

    @property
    def label(self) -> str:
        return FLAG_LABELS[self]

    @property
    def critical(self) -> bool:
        return self in (Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH)


FLAG_LABELS = {Flag.NORMAL: _l("Normal"), Flag.LOW: _l("Low"), Flag.HIGH: _l("High"),
               Flag.CRITICAL_LOW: _l("Critically low"), Flag.CRITICAL_HIGH: _l("Critically high"),
               Flag.ABNORMAL: _l("Abnormal")}


class LabReport(Base):
    """An order's results: what was found for each analyte, flagged against the reference range for
    the patient's sex and age, entered (and, when the clinic asks for it, verified by a second
    technician) at the bench, then released. A released report changes only by an amendment with a
    reason; every earlier version stays (LabReportVersion).

    `results` (encrypted): {"<test code>.<analyte code>": {test, analyte, name, value, unit, flag,
    low, high, loinc}} in the order the tests list them. The plain columns are who and when, and
    whether a critical value was alerted (so the alert goes once, and the doctor's day finds it)."""

    __tablename__ = "lab_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("lab_orders.id", ondelete="CASCADE"), unique=True)
    results: Mapped[dict] = mapped_column(EncryptedJSON)
    comment: Mapped[str | None] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(10), default=ReportStatus.ENTERED.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    critical_alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The analyser's or reference lab's report, a PDF (its type from its bytes), encrypted in the
    # storage every process reaches (app/core/files.py): its key and size.
    attachment_key: Mapped[str | None] = mapped_column(String(64))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[LabOrder] = relationship(back_populates="report")
    entered_by = relationship("User", foreign_keys=[entered_by_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])
    versions: Mapped[list[LabReportVersion]] = relationship(order_by="LabReportVersion.number.desc()")

    __table_args__ = (Index("ix_lab_reports_review", "released_at", "reviewed_at"),)

    @property
    def status_enum(self) -> ReportStatus:
        return ReportStatus(self.status)

    @property
    def released(self) -> bool:
        return self.status == ReportStatus.RELEASED.value

    @property
    def critical(self) -> bool:
        return any(Flag(r.get("flag") or "").critical for r in self.results.values())


class LabReportVersion(Base):
    """A report as it stood before an amendment, who changed it and why. Only ever added."""

    __tablename__ = "lab_report_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("lab_reports.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    results: Mapped[dict] = mapped_column(EncryptedJSON)
    comment: Mapped[str | None] = mapped_column(EncryptedText)
    reason: Mapped[str] = mapped_column(EncryptedText)  # why it was amended (the next version's reason)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by = relationship("User")

    __table_args__ = (UniqueConstraint("report_id", "number", name="uq_lab_report_versions_number"),)


class LabChargeLine(Base):
    """What an order costs, a line per test at its catalogue price when ordered: the lines the
    billing domain will bill (`billed_at` set then). The description names the test, so it is
    encrypted like the order's tests."""

    __tablename__ = "lab_charge_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("lab_orders.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    description: Mapped[str] = mapped_column(EncryptedText)
    price_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    billed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("price_cents >= 0", name="price_not_negative"),
                      Index("ix_lab_charge_lines_unbilled", "billed_at", "patient_id"))
