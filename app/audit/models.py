"""The audit trail: append-only, hash-chained rows.

`seq` is assigned under a lock on the single `audit_chain_head` row, so it has no gaps and each
row's `mac` covers the previous row's: a changed, removed or inserted row breaks the chain
(`flask audit-verify`). Rows never hold clinical content, only what was touched and by whom.

Why: `reason` is a category, plain and indexable ("care", "emergency", "self", a policy name);
free text that came with it (the doctor's words for an emergency access, which may be clinical)
is in `reason_detail`, encrypted. What the MAC covers is the plaintext, as one text: the
category, or "<category>: <detail>" when there is a detail. That is the text rows held before
the detail had its own column (migration 0006 moved it out), so rows written before and after
verify alike, and `flask rotate-keys` can re-encrypt the detail in place without touching the
chain (the database allows an UPDATE that changes that column and nothing else). A category
never contains ": ", so each text has one way to be stored: moving words between the two columns
breaks the row even though the joined text would not change.

The tail of the chain is anchored outside the database by signed checkpoints (app/audit/checkpoints.py).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime
from app.core.types import EncryptedText

GENESIS_MAC = "0" * 64
DETAIL_SEPARATOR = ": "

# The columns the MAC covers, `mac` aside.
MAC_FIELDS = ("seq", "occurred_at", "actor_user_id", "actor_role", "patient_id", "action", "target", "outcome",
              "reason", "reason_detail", "ip", "path", "prev_mac")


def reason_join(category: str, detail: str | None) -> str:
    """The reason as one text: "care", or "emergency: <the doctor's words>"."""
    return category if detail is None else f"{category}{DETAIL_SEPARATOR}{detail}"


def reason_split(reason: str) -> tuple[str, str | None]:
    """The inverse of reason_join: everything after the first ": " is free text, stored encrypted."""
    category, separator, detail = reason.partition(DETAIL_SEPARATOR)
    return category, (detail if separator else None)


def canonical(values: Mapping[str, Any]) -> str:
    """The fields the MAC covers (MAC_FIELDS, the detail in plaintext), in a fixed order."""
    fields = (
        values["seq"], values["occurred_at"].astimezone(dt.timezone.utc).isoformat(), values["actor_user_id"],
        values["actor_role"], values["patient_id"], values["action"], values["target"], values["outcome"],
        reason_join(values["reason"], values["reason_detail"]), values["ip"], values["path"], values["prev_mac"],
    )
    # JSON, not a joined string: no value can spill into its neighbour, and None is not "".
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":"))


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
    reason: Mapped[str] = mapped_column(String(120))  # the category: care | emergency | policy name
    reason_detail: Mapped[str | None] = mapped_column(EncryptedText)  # free text given with it
    ip: Mapped[str | None] = mapped_column(String(45))
    path: Mapped[str | None] = mapped_column(String(200))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_patient", "patient_id", "occurred_at"),
        Index("ix_audit_events_actor", "actor_user_id", "occurred_at"),
        # Emergency ("break the glass") rows, for review (migration 0006).
        Index("ix_audit_events_emergency", "seq", postgresql_where=text("reason = 'emergency'"),
              sqlite_where=text("reason = 'emergency'")),
    )

    @property
    def reason_text(self) -> str:
        return reason_join(self.reason, self.reason_detail)

    def canonical(self) -> str:
        return canonical({name: getattr(self, name) for name in MAC_FIELDS})


class AuditChainHead(Base):
    """One row: the last sequence number and MAC, locked while a transaction appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_mac: Mapped[str] = mapped_column(String(64), default=GENESIS_MAC)
