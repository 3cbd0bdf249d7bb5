"""The notifications outbox: one row per message, written in the transaction that causes it."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import EncryptedText


class Channel(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"
    IN_APP = "in_app"


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"      # due at next_attempt_at
    SENDING = "sending"      # claimed by a worker until lease_until; handed_at once given to the provider
    SENT = "sent"
    FAILED = "failed"        # gave up after max attempts, or permanently refused
    UNCERTAIN = "uncertain"  # handed to the provider, then the worker died: may have arrived, never resent by itself
    DISMISSED = "dismissed"  # failed or uncertain, and an administrator chose not to send it again


# Rows an administrator reviews in the outbox (app/notifications/views/admin.py).
REVIEW_STATUSES = (DeliveryStatus.FAILED.value, DeliveryStatus.UNCERTAIN.value)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deduplicates the cause: the same event never queues the same message twice.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(8))
    to_address: Mapped[str | None] = mapped_column(EncryptedText)
    subject: Mapped[str | None] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # hand-offs to the provider
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the current attempt was handed to the provider: a claim that never got this far was not
    # sent, and goes back to pending when its lease runs out instead of becoming uncertain.
    handed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    provider_message_id: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_inbox", "user_id", "channel", "created_at"),
    )
