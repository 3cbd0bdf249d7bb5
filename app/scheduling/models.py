"""Doctors' availability and appointments.

Availability is a weekly template (WeeklyHours, in the clinic's wall-clock time) plus dated
exceptions; free slots are computed from it, never stored. Appointments hold UTC instants. On
PostgreSQL two exclusion constraints make the database refuse any overlap — of a doctor's active
appointments, or of a patient's — whatever the slot lengths, so no race in Python can double-book.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import EncryptedText


class WeeklyHours(Base):
    """A doctor works `start`–`end` on `weekday` (0 = Monday), in slots of `slot_minutes`,
    except during the optional break."""

    __tablename__ = "weekly_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[dt.time] = mapped_column(Time)
    end: Mapped[dt.time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    break_start: Mapped[dt.time | None] = mapped_column(Time)
    break_end: Mapped[dt.time | None] = mapped_column(Time)

    __table_args__ = (
        Index("ix_weekly_hours_doctor_day", "doctor_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_length"),
    )


class ExceptionKind(str, enum.Enum):
    LEAVE = "leave"    # not working on these days (or these hours)
    EXTRA = "extra"    # extra hours on a date


class AvailabilityException(Base):
    __tablename__ = "availability_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    start: Mapped[dt.time | None] = mapped_column(Time)   # None: the whole day
    end: Mapped[dt.time | None] = mapped_column(Time)
    slot_minutes: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(EncryptedText)  # free text ("sick leave"): encrypted

    __table_args__ = (Index("ix_availability_exceptions_doctor_days", "doctor_id", "first_day", "last_day"),)


class AppointmentStatus(str, enum.Enum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"            # arrived, waiting
    IN_CONSULTATION = "in_consultation"  # with the doctor
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def badge(self) -> str:
        """The badge's style class wherever a status is shown: one colour per status across the app."""
        return STATUS_BADGES[self]


STATUS_LABELS = {
    AppointmentStatus.BOOKED: _l("Booked"), AppointmentStatus.CHECKED_IN: _l("Arrived"),
    AppointmentStatus.IN_CONSULTATION: _l("With the doctor"), AppointmentStatus.COMPLETED: _l("Done"),
    AppointmentStatus.CANCELLED: _l("Cancelled"), AppointmentStatus.NO_SHOW: _l("No-show"),
}
STATUS_BADGES = {
    AppointmentStatus.BOOKED: "", AppointmentStatus.CHECKED_IN: "badge-ok",
    AppointmentStatus.IN_CONSULTATION: "badge-warn", AppointmentStatus.COMPLETED: "badge-ok",
    AppointmentStatus.CANCELLED: "badge-danger", AppointmentStatus.NO_SHOW: "badge-danger",
}
# The statuses that hold the doctor's (and the patient's) time.
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_CONSULTATION)
ACTIVE_STATUS_VALUES = tuple(s.value for s in ACTIVE_STATUSES)


class VisitMode(str, enum.Enum):
    IN_PERSON = "in_person"
    VIDEO = "video"


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED.value)
    mode: Mapped[str] = mapped_column(String(10), default=VisitMode.IN_PERSON.value)
    reason: Mapped[str | None] = mapped_column(EncryptedText)  # why the patient comes: clinical
    # A form's one-time key: a resubmitted booking finds the first one instead of making another.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    video_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    cancel_reason: Mapped[str | None] = mapped_column(EncryptedText)  # free text: may be clinical
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # 0: no reminder yet, 1: the day-before one is queued, 2: the short-lead one too.
    reminder_stage: Mapped[int] = mapped_column(Integer, default=0)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient = relationship("Patient")
    doctor = relationship("User", foreign_keys=[doctor_id])

    __table_args__ = (
        Index("ix_appointments_doctor_start", "doctor_id", "starts_at"),
        Index("ix_appointments_patient_start", "patient_id", "starts_at"),
        Index("ix_appointments_start_status", "starts_at", "status"),
        Index("ix_appointments_reminders", "status", "reminder_stage", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="positive_length"),
    )

    @property
    def status_enum(self) -> AppointmentStatus:
        return AppointmentStatus(self.status)

    @property
    def is_active(self) -> bool:
        return self.status_enum in ACTIVE_STATUSES

    @property
    def is_video(self) -> bool:
        return self.mode == VisitMode.VIDEO.value
