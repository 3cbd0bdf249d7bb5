"""Queueing notifications (writes), the in-app inbox (reads) and the administrator's outbox review."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.core.db import on_commit, utcnow
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.notifications.models import REVIEW_STATUSES, Channel, DeliveryStatus, Notification


def notification_queue(*, dedupe_key: str, channel: Channel, body: str, subject: str | None = None,
                       user_id: int | None = None, to_address: str | None = None,
                       send_at: dt.datetime | None = None) -> Notification:
    """Write a message to the outbox in the caller's transaction; delivery starts after commit.

    The same `dedupe_key` queues one message only, however often its cause is replayed.
    """
    session = db.session
    existing = session.execute(select(Notification).where(Notification.dedupe_key == dedupe_key)).scalar_one_or_none()
    if existing is not None:
        return existing
    if channel != Channel.IN_APP and not to_address:
        raise ValueError(f"{channel.value} notification needs an address")
    in_app = channel == Channel.IN_APP
    values = dict(
        dedupe_key=dedupe_key, channel=channel.value, body=body, subject=subject, user_id=user_id,
        to_address=to_address, next_attempt_at=send_at or utcnow(),
        status=DeliveryStatus.SENT.value if in_app else DeliveryStatus.PENDING.value,
        sent_at=utcnow() if in_app else None,
    )
    if db.is_postgres:
        # The same cause replayed at once elsewhere: the unique key decides, with no savepoint.
        note = session.scalars(
            pg_insert(Notification).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Notification)
        ).one_or_none()
        if note is None:
            return session.execute(select(Notification).where(Notification.dedupe_key == dedupe_key)).scalar_one()
    else:
        note = Notification(**values)
        session.add(note)
        session.flush()
    if not in_app:
        from app.extensions import jobs
        from app.notifications.tasks import notification_deliver

        note_id, when = note.id, send_at
        on_commit(session, lambda: jobs.enqueue(notification_deliver, note_id, job_id=f"notification-{note_id}", at=when))
    return note


def inbox_unread_count(*, user_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.channel == Channel.IN_APP.value,
            Notification.read_at.is_(None))
    ).scalar_one()


def inbox_list(*, user_id: int, limit: int = 30) -> list[Notification]:
    return list(db.session.execute(
        select(Notification).where(Notification.user_id == user_id, Notification.channel == Channel.IN_APP.value)
        .order_by(Notification.created_at.desc()).limit(limit)
    ).scalars())


def inbox_mark_read(*, user_id: int) -> None:
    db.session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.channel == Channel.IN_APP.value,
                                   Notification.read_at.is_(None)).values(read_at=utcnow())
    )


# -- the outbox review (administrators) ------------------------------------------------------------

def mask_address(channel: str, address: str | None) -> str:
    """Enough of an address to recognise it, not to read it: "+2547•••••101", "pa•••@demo.test"."""
    if not address:
        return ""
    if channel == Channel.EMAIL.value:
        local, at, domain = address.partition("@")
        return f"{local[:2]}•••{at}{domain}"
    if len(address) < 10:
        return f"{address[:2]}•••"
    return f"{address[:5]}{'•' * (len(address) - 8)}{address[-3:]}"


@dataclass(frozen=True)
class OutboxRow:
    """A row needing review, as the page may show it: the address masked, never the subject or body."""

    id: int
    channel: str
    to_masked: str
    created_at: dt.datetime
    attempts: int
    last_error: str | None
    status: str


def outbox_review_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(Notification).where(Notification.status.in_(REVIEW_STATUSES))
    ).scalar_one()


def outbox_review_list(*, limit: int = 200) -> list[OutboxRow]:
    """Failed and uncertain messages, newest first (only the columns shown: bodies are not even decrypted)."""
    rows = db.session.execute(
        select(Notification.id, Notification.channel, Notification.to_address, Notification.created_at,
               Notification.attempts, Notification.last_error, Notification.status)
        .where(Notification.status.in_(REVIEW_STATUSES))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()
    return [OutboxRow(id=r.id, channel=r.channel, to_masked=mask_address(r.channel, r.to_address),
                      created_at=r.created_at, attempts=r.attempts, last_error=r.last_error, status=r.status)
            for r in rows]


def outbox_review_status(*, notification_id: int) -> str | None:
    """"failed" or "uncertain" for an email/SMS awaiting review; None for anything else."""
    return db.session.execute(
        select(Notification.status).where(Notification.id == notification_id, Notification.status.in_(REVIEW_STATUSES),
                                          Notification.channel != Channel.IN_APP.value)).scalar_one_or_none()


def _review_transition(notification_id: int, **values) -> int:
    """Move a failed/uncertain row on; a conditional UPDATE, so two clicks change it once.
    NotFound when there is no such email/SMS; DomainError when it no longer needs review."""
    changed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status.in_(REVIEW_STATUSES))
        .values(**values), execution_options={"synchronize_session": False}
    ).rowcount
    attempts = db.session.execute(
        select(Notification.attempts).where(Notification.id == notification_id,
                                            Notification.channel != Channel.IN_APP.value)
    ).scalar_one_or_none()
    if attempts is None:
        raise NotFound(_("No such message."))
    if changed != 1:
        raise DomainError(_("This message no longer needs review."))
    return attempts


def notification_retry(*, notification_id: int) -> None:
    """Send a failed or uncertain message again, now; its attempts are kept. Delivery starts after
    commit; the claim in tasks.py still makes sure it is sent once."""
    attempts = _review_transition(notification_id, status=DeliveryStatus.PENDING.value, next_attempt_at=utcnow(),
                                  lease_until=None, handed_at=None)
    from app.extensions import jobs
    from app.notifications.tasks import notification_deliver

    job_id = f"notification-{notification_id}-retry-{attempts}"
    on_commit(db.session, lambda: jobs.enqueue(notification_deliver, notification_id, job_id=job_id))


def notification_dismiss(*, notification_id: int) -> None:
    """Leave a failed or uncertain message unsent and off the review list."""
    _review_transition(notification_id, status=DeliveryStatus.DISMISSED.value, lease_until=None)
