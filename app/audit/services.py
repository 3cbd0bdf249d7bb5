"""Recording access to clinical data.

`audit_access` stages a row on the current session; the rows are chained and inserted just
before that session commits, in the same transaction as the read or write they describe. If they
cannot be written the commit fails, and the request answers with an error instead of the data.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.audit.models import GENESIS_MAC, AuditChainHead, AuditEvent
from app.core.db import utcnow
from app.extensions import db

CARE = "care"
# Emergency ("break the glass") access: the reason column reads "emergency: <why the doctor gave>".
EMERGENCY_PREFIX = "emergency: "
REASON_MAX = 120  # AuditEvent.reason's length


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
    ip: str | None
    path: str | None


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def _actor() -> tuple[int | None, str]:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.role
    if has_request_context():
        return None, "anonymous"
    return None, "system"


def _pending(*, patient_id, action, target, outcome, reason) -> _Pending:
    actor_id, actor_role = _actor()
    return _Pending(
        occurred_at=utcnow(), actor_user_id=actor_id, actor_role=actor_role, patient_id=patient_id,
        action=action, target=target, outcome=outcome, reason=reason[:REASON_MAX], ip=client_ip(),
        path=request.path[:200] if has_request_context() else None,
    )


def audit_access(*, patient_id: int | None, action: str, target: str | None = None, reason: str = CARE,
                 session: Session | None = None) -> None:
    """Record that the current user read or wrote a patient's clinical data (same transaction)."""
    session = session or db.session
    session.info.setdefault("audit_pending", []).append(
        _pending(patient_id=patient_id, action=action, target=target, outcome="allowed", reason=reason)
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
    """The audit reason of an emergency access: "emergency: <why>", on one line, cut to fit the column."""
    reason = EMERGENCY_PREFIX + " ".join(why.split())
    return reason if len(reason) <= REASON_MAX else reason[:REASON_MAX - 1] + "…"


def audit_now(*, patient_id: int | None, action: str, reason: str, target: str | None = None,
              outcome: str = "allowed") -> int:
    """Write one audit row now, in its own transaction, whatever becomes of the request's; returns
    its seq. Raises if it cannot be written: then whatever it records must not happen."""
    session = db.new_session()
    try:
        session.info["audit_pending"] = [
            _pending(patient_id=patient_id, action=action, target=target, outcome=outcome, reason=reason)
        ]
        session.commit()
        return session.info.pop("audit_last_seq")
    finally:
        session.close()


def audit_denied(*, reason: str, patient_id: int | None = None) -> None:
    """Record a refused request. Committed on its own: the request's transaction will roll back."""
    audit_now(patient_id=patient_id, action="access.denied", outcome="denied", reason=reason,
              target=request.endpoint if has_request_context() else None)


def _mac(key: bytes, event_row: AuditEvent) -> str:
    return hmac.new(key, event_row.canonical().encode(), hashlib.sha256).hexdigest()


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
        row.mac = _mac(key, row)
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

    @property
    def ok(self) -> bool:
        return self.problem is None


def audit_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order; name the first row that was altered, removed or inserted."""
    key = audit_key()
    session = db.session
    expected_seq, prev, checked, last_seen = 1, GENESIS_MAC, 0, 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.seq > last_seen).order_by(AuditEvent.seq).limit(batch_size)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(checked, expected_seq, f"row {expected_seq} is missing")
            if row.prev_mac != prev:
                return ChainReport(checked, row.seq, f"row {row.seq} does not follow row {row.seq - 1}")
            if not hmac.compare_digest(row.mac, _mac(key, row)):
                return ChainReport(checked, row.seq, f"row {row.seq} was altered")
            prev, expected_seq, checked, last_seen = row.mac, row.seq + 1, checked + 1, row.seq
        session.expunge_all()
    head = session.get(AuditChainHead, 1, populate_existing=True)
    if head is not None and head.last_seq != checked:
        return ChainReport(checked, checked + 1, f"rows {checked + 1}..{head.last_seq} are missing")
    return ChainReport(checked, None, None)
