"""Recording access to clinical data.

`audit_access` stages a row on the current session; the rows are chained and inserted just
before that session commits, in the same transaction as the read or write they describe. If they
cannot be written the commit fails, and the request answers with an error instead of the data.

A reason is given as one text, "care" or "emergency: <why>": the category is stored plain and
anything after the first ": " is free text, stored encrypted (see app/audit/models.py).

Who acted is the `actor` passed in (app/core/actor.py): its user id, role and IP, and its origin
(the request's path, or the job's or command's name) in the row's `path`. Nothing here reads the
request: a job's rows say which job wrote them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import LargeBinary, event, func, select, type_coerce
from sqlalchemy.orm import Session

from app.audit.models import GENESIS_MAC, MAC_FIELDS, AuditChainHead, AuditEvent, canonical, reason_split
from app.core.actor import Actor
from app.core.crypto import keyring
from app.core.db import utcnow
from app.extensions import db

# Emergency ("break the glass") access: the reason "emergency: <why the doctor gave>", stored as the
# category "emergency" and the doctor's words, encrypted.
EMERGENCY = "emergency"
EMERGENCY_PREFIX = EMERGENCY + ": "
REASON_MAX = 120  # AuditEvent.reason's length (the category)
DETAIL_MAX = 500  # the free text kept (the emergency form takes up to 300 characters)


@dataclasses.dataclass
class _Pending:
    occurred_at: dt.datetime
    actor_user_id: int | None
    actor_role: str
    patient_id: int | None
    action: str
    target: str | None
    outcome: str
    reason: str
    reason_detail: str | None
    ip: str | None
    path: str | None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _pending(*, actor: Actor, patient_id, action, target, outcome, reason) -> _Pending:
    category, detail = reason_split(reason)
    return _Pending(
        occurred_at=utcnow(), actor_user_id=actor.user_id, actor_role=actor.role, patient_id=patient_id,
        action=action, target=target, outcome=outcome, reason=category[:REASON_MAX],
        reason_detail=None if detail is None else _cut(detail, DETAIL_MAX), ip=actor.ip,
        path=None if actor.origin is None else actor.origin[:200],
    )


def audit_access(*, actor: Actor, patient_id: int | None, action: str, reason: str, target: str | None = None,
                 session: Session | None = None) -> None:
    """Record that `actor` read or wrote a patient's clinical data (same transaction), and why: the
    purpose the access was allowed for, given by the caller (there is no default purpose)."""
    session = session or db.session
    session.info.setdefault("audit_pending", []).append(
        _pending(actor=actor, patient_id=patient_id, action=action, target=target, outcome="allowed", reason=reason)
    )


READ_SUFFIX = ".read"


def audit_keep_reads_of_refused_request() -> None:
    """A refused form is often shown again with the chart around it: the request rolls back, but
    what was shown was still read, so its read rows are written on their own. Writes that were
    rolled back are not recorded: they did not happen. Raises if the rows cannot be written."""
    reads = [p for p in db.session.info.get("audit_pending", []) if p.action.endswith(READ_SUFFIX)]
    if not reads:
        return
    session = db.new_session()
    try:
        session.info["audit_pending"] = reads
        session.commit()
    finally:
        session.close()


def emergency_reason(why: str) -> str:
    """The audit reason of an emergency access: "emergency: <why>", on one line (stored encrypted)."""
    return EMERGENCY_PREFIX + _cut(" ".join(why.split()), DETAIL_MAX)


def audit_now(*, actor: Actor, patient_id: int | None, action: str, reason: str, target: str | None = None,
              outcome: str = "allowed") -> int:
    """Write one audit row now, in its own transaction, whatever becomes of the request's; returns
    its seq. Raises if it cannot be written: then whatever it records must not happen."""
    session = db.new_session()
    try:
        session.info["audit_pending"] = [
            _pending(actor=actor, patient_id=patient_id, action=action, target=target, outcome=outcome, reason=reason)
        ]
        session.commit()
        return session.info.pop("audit_last_seq")
    finally:
        session.close()


def audit_denied(*, actor: Actor, reason: str, patient_id: int | None = None, target: str | None = None) -> None:
    """Record a refused request or action (`target`: what was refused). Committed on its own: the
    request's transaction will roll back."""
    audit_now(actor=actor, patient_id=patient_id, action="access.denied", outcome="denied", reason=reason,
              target=target)


def _mac(key: bytes, canonical_text: str) -> str:
    return hmac.new(key, canonical_text.encode(), hashlib.sha256).hexdigest()


def audit_key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def _lock_head(session: Session) -> AuditChainHead:
    # populate_existing: a session that committed before still holds the head it read then.
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_seq=0, last_mac=GENESIS_MAC)
        session.add(head)
        session.flush()
    return head


@event.listens_for(Session, "before_commit")
def _write_pending_audit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the rows wait for the real commit (and its lock is taken late)
    pending = session.info.pop("audit_pending", None)
    if not pending:
        return
    key = audit_key()
    head = _lock_head(session)
    seq, prev = head.last_seq, head.last_mac
    for item in pending:
        seq += 1
        row = AuditEvent(seq=seq, prev_mac=prev, mac="", **dataclasses.asdict(item))
        row.mac = _mac(key, row.canonical())
        prev = row.mac
        session.add(row)
    head.last_seq, head.last_mac = seq, prev
    session.info["audit_last_seq"] = seq
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_audit(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("audit_pending", None)


@dataclasses.dataclass
class ChainReport:
    checked: int
    first_bad_seq: int | None
    problem: str | None
    last_seq: int = 0          # the last row verified, and its MAC (what a checkpoint records)
    last_mac: str = GENESIS_MAC

    @property
    def ok(self) -> bool:
        return self.problem is None


def _detail(token) -> str | None:
    return None if token is None else keyring.decrypt(bytes(token)).decode("utf-8")


def audit_chain_verify(*, after_seq: int = 0, after_mac: str = GENESIS_MAC, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order; name the first row that was altered, removed or inserted.

    From the genesis, or from row `after_seq`, known (from a checkpoint) to have the MAC `after_mac`."""
    key = audit_key()
    session = db.session
    # The head first: every row up to it was committed before the walk began, so the walk must see it.
    head_seq = _head_seq(session)
    if after_seq:
        stored = session.execute(select(AuditEvent.mac).where(AuditEvent.seq == after_seq)).scalar_one_or_none()
        if stored != after_mac:
            return ChainReport(0, after_seq, f"row {after_seq} is missing" if stored is None
                               else f"row {after_seq} differs from the checkpoint")
    # Raw columns, the detail still encrypted: a detail that cannot be decrypted is reported, not raised.
    columns = [getattr(AuditEvent, name) for name in MAC_FIELDS if name != "reason_detail"]
    columns += [AuditEvent.mac, type_coerce(AuditEvent.__table__.c.reason_detail, LargeBinary).label("detail_token")]
    expected_seq, prev, checked = after_seq + 1, after_mac, 0
    while True:
        rows = session.execute(
            select(*columns).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            problem = _row_problem(key, row, expected_seq, prev)
            if problem is not None:
                return ChainReport(checked, expected_seq, problem)
            prev, expected_seq, checked = row.mac, row.seq + 1, checked + 1
    last_seq = expected_seq - 1
    if head_seq > last_seq:
        return ChainReport(checked, last_seq + 1, f"rows {last_seq + 1}..{head_seq} are missing")
    if _head_seq(session) < last_seq:
        return ChainReport(checked, last_seq, f"the chain head was moved back behind row {last_seq}")
    return ChainReport(checked, None, None, last_seq, prev)


def _head_seq(session: Session) -> int:
    head = session.get(AuditChainHead, 1, populate_existing=True)
    return head.last_seq if head is not None else 0


def _row_problem(key: bytes, row, expected_seq: int, prev_mac: str) -> str | None:
    if row.seq != expected_seq:
        return f"row {expected_seq} is missing"
    if row.prev_mac != prev_mac:
        return f"row {row.seq} does not follow row {row.seq - 1}"
    try:
        detail = _detail(row.detail_token)
    except (InvalidToken, UnicodeDecodeError):
        return f"row {row.seq} was altered (its reason cannot be decrypted)"
    # A category never holds ": " (reason_split), or words could move between the two columns unseen.
    if reason_split(row.reason)[1] is not None:
        return f"row {row.seq} was altered"
    if not hmac.compare_digest(row.mac, _mac(key, canonical({**row._mapping, "reason_detail": detail}))):
        return f"row {row.seq} was altered"
    return None


def audit_chain_length() -> int:
    """The highest seq stored (0 for an empty trail)."""
    return db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
