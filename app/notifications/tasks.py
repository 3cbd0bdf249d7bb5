"""Delivering the outbox: claim a row, hand it to the provider, record the outcome; never twice.

A row is claimed by a conditional UPDATE (pending -> sending) committed before the send, so two
workers, a retried job and the sweep can all try the same row and only one sends. Just before the
provider is called, a second tiny transaction marks the row handed over (`handed_at`), again
conditionally, so only one claimant ever reaches the provider. When a worker dies or loses the
database, its lease runs out and the sweep decides by that mark: never handed over means nothing
left, so the row goes back to pending and is sent once; handed over means it may have left, so the
row becomes 'uncertain' for staff to check rather than risk a second message.
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
        .values(status=DeliveryStatus.SENDING.value, lease_until=now + LEASE)
    )
    db.session.commit()
    return result.rowcount == 1


def _hand_off(notification_id: int) -> int | None:
    """Commit "handed to the provider" right before the send; returns this attempt's number. None when
    the claim was lost meanwhile (its lease ran out and the row went back to pending, or another
    claimant handed it over first)."""
    attempt = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == DeliveryStatus.SENDING.value,
               Notification.handed_at.is_(None))
        .values(handed_at=utcnow(), attempts=Notification.attempts + 1)
        .returning(Notification.attempts)
    ).scalar_one_or_none()
    db.session.commit()
    return attempt


def _finish(notification_id: int, attempt: int, **values) -> None:
    """Record the outcome of hand-off number `attempt`. Also from 'uncertain': a send that outlived its
    lease still tells what really happened, unless staff already sent the row again."""
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.attempts == attempt,
               Notification.handed_at.is_not(None),
               Notification.status.in_((DeliveryStatus.SENDING.value, DeliveryStatus.UNCERTAIN.value)))
        .values(lease_until=None, **values)
    )
    db.session.commit()


def deliver_one(notification_id: int) -> str:
    """Send one due notification if nobody else has; returns the row's status afterwards."""
    if not _claim(notification_id):
        return "skipped"
    note = db.session.get(Notification, notification_id, populate_existing=True)
    backend = backend_for(note.channel, current_app.config)
    attempt = _hand_off(notification_id)
    if attempt is None:
        return "skipped"
    try:
        provider_id = backend.send(to=note.to_address, subject=note.subject, body=note.body,
                                   reference=str(notification_id))
    except PermanentFailure as exc:
        _finish(notification_id, attempt, status=DeliveryStatus.FAILED.value, last_error=str(exc)[:200])
        log.warning("notification %s failed permanently", notification_id)
        return DeliveryStatus.FAILED.value
    except Exception as exc:
        error = exc.__class__.__name__[:200]
        log.warning("notification %s attempt %s failed (%s)", notification_id, attempt, error)
        if attempt >= MAX_ATTEMPTS:
            _finish(notification_id, attempt, status=DeliveryStatus.FAILED.value, last_error=error)
            return DeliveryStatus.FAILED.value
        retry_at = utcnow() + retry_delay(attempt)
        _finish(notification_id, attempt, status=DeliveryStatus.PENDING.value, handed_at=None,
                next_attempt_at=retry_at, last_error=error)
        jobs.enqueue(notification_deliver, notification_id, at=retry_at)
        return DeliveryStatus.PENDING.value
    _finish(notification_id, attempt, status=DeliveryStatus.SENT.value, sent_at=utcnow(),
            provider_message_id=str(provider_id)[:80], last_error=None)
    return DeliveryStatus.SENT.value


@jobs.task
def notification_deliver(notification_id: int) -> str:
    return deliver_one(notification_id)


@jobs.task
def notifications_sweep() -> int:
    """Deliver whatever is due (missed enqueues, lost Redis, retries) and settle dead claims."""
    now = utcnow()
    expired = (Notification.status == DeliveryStatus.SENDING.value, Notification.lease_until < now)
    unsent = db.session.execute(
        update(Notification).where(*expired, Notification.handed_at.is_(None))
        .values(status=DeliveryStatus.PENDING.value, lease_until=None)
    ).rowcount
    uncertain = db.session.execute(
        update(Notification).where(*expired, Notification.handed_at.is_not(None))
        .values(status=DeliveryStatus.UNCERTAIN.value, last_error="worker stopped during send")
    ).rowcount
    db.session.commit()
    if unsent or uncertain:
        log.warning("outbox: %s claims ended before the send (pending again), %s during it (uncertain)",
                    unsent, uncertain)
    due = db.session.execute(
        select(Notification.id)
        .where(Notification.status == DeliveryStatus.PENDING.value, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at).limit(SWEEP_BATCH)
    ).scalars().all()
    sent = 0
    for notification_id in due:
        if jobs.stopping:  # the worker is shutting down: the rest waits for the next sweep
            break
        if deliver_one(notification_id) == DeliveryStatus.SENT.value:
            sent += 1
    return sent
