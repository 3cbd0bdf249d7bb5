"""Queueing notifications (writes) and the in-app inbox (reads)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.core.db import on_commit, utcnow
from app.extensions import db
from app.notifications.models import Channel, DeliveryStatus, Notification


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
