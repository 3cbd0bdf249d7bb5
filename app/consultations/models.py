"""A video visit's room: who is waiting, who was let in, and the chat beside the video.

One consultation per video appointment, made when a member first opens the room. Chat messages are
clinical (encrypted at rest); each has the sender's own id for it (`client_id`: a resend after a
dropped connection finds the first instead of doubling it) and the room's sequence number (`seq`:
the order everyone sees, and the cursor a reconnecting page replays from). The sequence is counted
on the consultation row (`last_seq`), so taking the next number locks that row: two messages sent at
once are ordered by the database, and both unique constraints back it up. A file shared in the chat
is a document on the patient's chart; its message names that entry (`document_entry_id`).
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import EncryptedText

CLIENT_ID_MAX = 40
MESSAGE_MAX = 2000


class Consultation(Base):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), unique=True)
    # The patient is in the waiting room now (their room socket is open) and not yet let in.
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    admitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    admitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How the visit was held, written once when it ends (services.visit_end): its mode, when it ended
    # and how long it lasted. It started at its admission: `started_at` is that same column, so the two
    # can never disagree.
    mode: Mapped[str | None] = mapped_column(String(8))  # VisitHeld: video / audio / phone
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    # The doctor turned the visit into a phone consultation (the room then shows the numbers to call).
    phone_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    started_at = synonym("admitted_at")
    appointment = relationship("Appointment")

    @property
    def is_waiting(self) -> bool:
        return self.waiting_since is not None and self.admitted_at is None


class VisitHeld(str, enum.Enum):
    """How a visit was held, as recorded when it ends."""
    VIDEO = "video"
    AUDIO = "audio"   # the audio-only step (the ladder's or the member's choice) for most of the call
    PHONE = "phone"


class PhoneCall(Base):
    """A Twilio call the room placed: it rings the doctor and, answered, bridges the patient. Twilio's
    status callback finds it by its CallSid; a retried callback finds it ended and changes nothing."""
    __tablename__ = "consultation_phone_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # Twilio's CallStatus: queued, ringing, completed, busy...
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)  # the doctor's leg, from their answer
    # The patient's leg (<Dial>'s action: DialCallStatus, DialCallDuration); None until Twilio says.
    # The visit was held by phone only if the patient answered: its length is this leg's.
    patient_status: Mapped[str | None] = mapped_column(String(16))
    patient_seconds: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_over(self) -> bool:
        return self.ended_at is not None

    @property
    def outcome(self) -> str:
        """What the doctor's page says of it: Twilio's CallStatus, or "patient-unreached" when the doctor
        answered but the patient's phone did not (busy, no answer, failed)."""
        if self.patient_status not in (None, "completed", "not-dialled"):
            return "patient-unreached"
        return self.status


class ChatMessage(Base):
    __tablename__ = "consultation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_MAX))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(EncryptedText)  # a shared file's message: the document's title
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A file shared in the chat: the document it became on the patient's chart (read through the gate).
    document_entry_id: Mapped[int | None] = mapped_column(ForeignKey("clinical_entries.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("consultation_id", "seq", name="uq_consultation_messages_seq"),
        UniqueConstraint("consultation_id", "client_id", name="uq_consultation_messages_client_id"),
        Index("ix_consultation_messages_sender", "sender_id"),
        Index("ix_consultation_messages_document", "document_entry_id"),
    )


QUALITY_SAMPLES_MAX = 2000  # per consultation: a sample every 4 s from each side is 900 in an hour


class CallQualitySample(Base):
    """What one member's browser measured of the call (the quality ladder's input and its step then).
    Network figures, not clinical data: kept for the administrator's call-quality statistics."""
    __tablename__ = "call_quality_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    member: Mapped[str] = mapped_column(String(8))        # patient / doctor
    measured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rtt_ms: Mapped[int | None] = mapped_column(Integer)
    loss_pct: Mapped[float | None] = mapped_column(Float)
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)  # available outgoing
    fps: Mapped[float | None] = mapped_column(Float)           # frames decoded per second, received
    level: Mapped[int] = mapped_column(Integer)                # the ladder's step: 0 best .. 3 audio only
    audio_only: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_call_quality_samples_consultation", "consultation_id", "measured_at"),)
