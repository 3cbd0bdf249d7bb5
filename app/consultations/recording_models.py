"""A video visit's recordings: each one the two members agreed to, and the pieces the browser sent.

A recording row is made when a member asks to record (asking is their consent); it starts when the
other agrees too (`started_at`) and ends for good when either one refuses, stops or withdraws
(`ended_at`): a new recording needs both consents again. At most one is open (not ended) per
consultation, which a partial unique index keeps true.

The media arrives in pieces (`RecordingChunk`), each an encrypted file in app/core/files.py storage,
numbered by the browser (`seq`): a piece sent again after a lost answer finds the first one.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow


class Recording(Base):
    __tablename__ = "consultation_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    # Whose chart it belongs to: the chart lists a patient's recordings in one query, the purge audits by it.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    patient_consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    doctor_consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # both consented
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)    # refused, stopped or withdrawn
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    content_type: Mapped[str | None] = mapped_column(String(40))  # from the first piece's bytes
    size: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation = relationship("Consultation")

    __table_args__ = (
        Index("uq_consultation_recordings_open", "consultation_id", unique=True,
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
        Index("ix_consultation_recordings_patient", "patient_id", "created_at"),
        Index("ix_consultation_recordings_created", "created_at"),
    )

    @property
    def is_recording(self) -> bool:
        return self.started_at is not None and self.ended_at is None


class RecordingChunk(Base):
    __tablename__ = "consultation_recording_chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("consultation_recordings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    file_key: Mapped[str] = mapped_column(String(43))  # app/core/files.py: the encrypted bytes
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("recording_id", "seq", name="uq_consultation_recording_chunks_seq"),)
