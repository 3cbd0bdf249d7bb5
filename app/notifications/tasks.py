"""Delivering the outbox: claim a row, send it, record the outcome; never twice.

A row is claimed by a conditional UPDATE (pending -> sending) committed before the send, so two
workers, a retried job and the sweep can all try the same row and only one sends. A worker that
dies mid-send leaves the row 'sending'; when its lease runs out the sweep marks it 'uncertain'
for staff to check, rather than risk a second message.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select, update

from app.core.db import utcnow
from app.extensions import db, jobs
from app.notifications.backends import PermanentFailure, backend_for
from app.notifications.models import DeliveryStatus, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=2)
SWEEP_BATCH = 100


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _claim(notification_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.PENDING.value,
               Notification.next_attempt_at <= now)
        .values(status=DeliveryStatus.SENDING.value, lease_until=now + LEASE, attempts=Notification.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def _finish(notification_id: int, **values) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING.value)
        .values(lease_until=None, **values)
    )
    db.session.commit()


def deliver_one(notification_id: int) -> str:
    """Send one due notification if nobody else has; returns the row's status afterwards."""
    if not _claim(notification_id):
        return "skipped"
    note = db.session.get(Notification, notification_id, populate_existing=True)
    backend = backend_for(note.channel, current_app.config)
    try:
        provider_id = backend.send(to=note.to_address, subject=note.subject, body=note.body)
    except PermanentFailure as exc:
        _finish(notification_id, status=DeliveryStatus.FAILED.value, last_error=str(exc)[:200])
        log.warning("notification %s failed permanently", notification_id)
        return DeliveryStatus.FAILED.value
    except Exception as exc:
        give_up = note.attempts >= MAX_ATTEMPTS
        _finish(
            notification_id,
            status=(DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING).value,
            next_attempt_at=utcnow() + retry_delay(note.attempts),
            last_error=f"{exc.__class__.__name__}"[:200],
        )
        log.warning("notification %s attempt %s failed (%s)", notification_id, note.attempts, exc.__class__.__name__)
        if not give_up:
            jobs.enqueue(notification_deliver, notification_id, at=utcnow() + retry_delay(note.attempts))
        return DeliveryStatus.FAILED.value if give_up else DeliveryStatus.PENDING.value
    _finish(notification_id, status=DeliveryStatus.SENT.value, sent_at=utcnow(), provider_message_id=str(provider_id)[:80],
            last_error=None)
    return DeliveryStatus.SENT.value


@jobs.task
def notification_deliver(notification_id: int) -> str:
    return deliver_one(notification_id)


@jobs.task
def notifications_sweep() -> int:
    """Deliver whatever is due (missed enqueues, lost Redis, retries) and flag dead claims."""
    now = utcnow()
    db.session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.SENDING.value, Notification.lease_until < now)
        .values(status=DeliveryStatus.UNCERTAIN.value, last_error="worker stopped during send")
    )
    db.session.commit()
    due = db.session.execute(
        select(Notification.id)
        .where(Notification.status == DeliveryStatus.PENDING.value, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at).limit(SWEEP_BATCH)
    ).scalars().all()
    sent = 0
    for notification_id in due:
        if deliver_one(notification_id) == DeliveryStatus.SENT.value:
            sent += 1
    return sent
