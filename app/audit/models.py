"""The audit trail: append-only, hash-chained rows.

`seq` is assigned under a lock on the single `audit_chain_head` row, so it has no gaps and each
row's `mac` covers the previous row's: a changed, removed or inserted row breaks the chain
(`flask audit-verify`). Rows never hold clinical content, only what was touched and by whom.
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime

GENESIS_MAC = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(12))  # allowed | denied
    reason: Mapped[str] = mapped_column(String(120))  # care | emergency: <why> | policy name
    ip: Mapped[str | None] = mapped_column(String(45))
    path: Mapped[str | None] = mapped_column(String(200))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_patient", "patient_id", "occurred_at"),
        Index("ix_audit_events_actor", "actor_user_id", "occurred_at"),
        # Emergency ("break the glass") rows, for review (migration 0003).
        Index("ix_audit_events_emergency", "seq", postgresql_where=text("reason LIKE 'emergency:%'"),
              sqlite_where=text("reason LIKE 'emergency:%'")),
    )

    def canonical(self) -> str:
        """The fields the MAC covers, in a fixed order."""
        fields = (
            self.seq, self.occurred_at.astimezone(dt.timezone.utc).isoformat(), self.actor_user_id,
            self.actor_role, self.patient_id, self.action, self.target, self.outcome, self.reason,
            self.ip, self.path, self.prev_mac,
        )
        # JSON, not a joined string: no value can spill into its neighbour, and None is not "".
        return json.dumps(fields, ensure_ascii=True, separators=(",", ":"))


class AuditChainHead(Base):
    """One row: the last sequence number and MAC, locked while a transaction appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_mac: Mapped[str] = mapped_column(String(64), default=GENESIS_MAC)
