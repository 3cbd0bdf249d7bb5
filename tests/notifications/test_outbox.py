"""The outbox with the real Redis and RQ: written with its cause, enqueued after commit, delivered
exactly once, retried with backoff, swept when Redis was down, never resent after a crash once handed
to the provider, and sent once after a crash before that."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, text

from app.core.clock import clock
from app.core.db import on_commit
from app.extensions import db, jobs
from app.notifications import tasks
from app.notifications.backends import PermanentFailure, override_backend
from app.notifications.models import Channel, DeliveryStatus, Notification
from app.notifications.services import notification_queue, notification_retry
from tests.core.apps import another_app
from tests.notifications.rows import row


class RecordingBackend:
    """Records every send; `fail_with` makes the next sends raise; `delay` holds the send open."""

    name = "recording"

    def __init__(self, fail_with: Exception | None = None, delay: float = 0.0) -> None:
        self.sent: list[dict] = []
        self.fail_with = fail_with
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, *, to, subject, body, reference=None):
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.sent.append({"to": to, "subject": subject, "body": body})
        if self.fail_with is not None:
            raise self.fail_with
        return f"provider-{len(self.sent)}"


@pytest.fixture
def email():
    backend = RecordingBackend()
    override_backend("email", backend)
    return backend


def queue_email(app, key="appointment-1:confirmed", **fields) -> int:
    """Queue an email as a request would (inside its transaction) and commit; returns the row id."""
    with app.test_request_context("/"):
        note = notification_queue(dedupe_key=key, channel=Channel.EMAIL, to_address="amani@example.test",
                                  subject="Appointment confirmed", body="See you on Monday at 09:00.", **fields)
        db.session.commit()
        return note.id




def run_worker() -> None:
    SimpleWorker([jobs.rq_queue], connection=jobs.redis).work(burst=True)


def test_commit_enqueues_and_the_worker_sends_once(app, email):
    assert jobs.rq_queue.count == 0
    note_id = queue_email(app)
    assert jobs.rq_queue.count == 1
    [job] = jobs.rq_queue.get_jobs()
    assert job.func_name == "app.notifications.tasks.notification_deliver" and job.args == (note_id,)
    assert job.id == f"{jobs.rq_queue.name}-notification-{note_id}"  # job ids are per queue, not per Redis

    run_worker()
    assert email.sent == [{"to": "amani@example.test", "subject": "Appointment confirmed",
                           "body": "See you on Monday at 09:00."}]
    note = row(app, note_id)
    assert (note.status, note.attempts, note.provider_message_id, note.lease_until) == ("sent", 1, "provider-1", None)
    assert note.sent_at is not None

    # a replayed job, a second worker and the sweep all find nothing left to do
    tasks.notification_deliver(note_id)
    tasks.notifications_sweep()
    queue_email(app)  # the same cause again
    run_worker()
    assert len(email.sent) == 1


def test_nothing_is_enqueued_or_sent_when_the_cause_rolls_back(app, email):
    with app.test_request_context("/"):
        notification_queue(dedupe_key="k", channel=Channel.EMAIL, to_address="a@example.test", body="hello")
        db.session.rollback()
    assert jobs.rq_queue.count == 0
    tasks.notifications_sweep()
    assert email.sent == []
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Notification)).scalar_one() == 0


def test_the_same_dedupe_key_queues_one_row(app, email):
    first = queue_email(app, key="lab-result:7")
    second = queue_email(app, key="lab-result:7")
    with app.app_context():
        notification_queue(dedupe_key="lab-result:7", channel=Channel.EMAIL, to_address="x@example.test", body="b")
        notification_queue(dedupe_key="lab-result:8", channel=Channel.EMAIL, to_address="x@example.test", body="b")
        notification_queue(dedupe_key="lab-result:8", channel=Channel.EMAIL, to_address="x@example.test", body="b")
        db.session.commit()
        assert first == second
        assert db.session.execute(select(Notification.dedupe_key).order_by(Notification.id)).scalars().all() == \
            ["lab-result:7", "lab-result:8"]


def test_the_same_cause_replayed_concurrently_queues_one_row(app, email):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def replay():
        try:
            with app.test_request_context("/"):
                db.session.execute(select(func.count()).select_from(Notification)).scalar_one()
                barrier.wait(timeout=10)
                note = notification_queue(dedupe_key="payment:pi_123", channel=Channel.EMAIL,
                                          to_address="a@example.test", body="Payment received.")
                time.sleep(0.2)  # hold the transaction open so both inserts overlap
                db.session.commit()
                results.append(note.id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len(set(results)) == 1
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Notification)).scalar_one() == 1
    run_worker()
    assert len(email.sent) == 1


def test_two_deliveries_racing_on_one_row_send_once(app):
    slow = RecordingBackend(delay=0.3)
    override_backend("email", slow)
    note_id = queue_email(app)
    jobs.rq_queue.empty()
    barrier = threading.Barrier(3)
    outcomes = []

    def deliver():
        barrier.wait(timeout=10)
        outcomes.append(tasks.notification_deliver(note_id))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(slow.sent) == 1
    assert sorted(outcomes) == ["sent", "skipped", "skipped"]
    assert row(app, note_id).status == "sent"


def test_a_transient_failure_is_retried_later_with_backoff(app):
    flaky = RecordingBackend(fail_with=ConnectionResetError("smtp went away"))
    override_backend("email", flaky)
    note_id = queue_email(app)
    before = dt.datetime.now(dt.timezone.utc)
    run_worker()
    note = row(app, note_id)
    assert (note.status, note.attempts, note.last_error) == ("pending", 1, "ConnectionResetError")
    assert note.next_attempt_at >= before + dt.timedelta(seconds=29)
    assert jobs.rq_queue.scheduled_job_registry.count == 1  # the retry waits in RQ's scheduler

    # not due yet: neither the sweep nor a replayed job sends
    assert tasks.notifications_sweep() == 0
    assert tasks.notification_deliver(note_id) == "skipped"
    assert len(flaky.sent) == 1

    # once due, the second attempt succeeds and waits twice as long before a third would have
    assert tasks.retry_delay(2) == 2 * tasks.retry_delay(1)
    flaky.fail_with = None
    with app.app_context():
        db.session.execute(text("UPDATE notifications SET next_attempt_at = now() - interval '1 second'"))
        db.session.commit()
    assert tasks.notifications_sweep() == 1
    note = row(app, note_id)
    assert (note.status, note.attempts) == ("sent", 2)


def test_a_permanent_failure_is_not_retried(app):
    refused = RecordingBackend(fail_with=PermanentFailure("recipient refused"))
    override_backend("email", refused)
    note_id = queue_email(app)
    run_worker()
    note = row(app, note_id)
    assert (note.status, note.attempts, note.last_error) == ("failed", 1, "recipient refused")
    assert jobs.rq_queue.scheduled_job_registry.count == 0
    with app.app_context():
        db.session.execute(text("UPDATE notifications SET next_attempt_at = now() - interval '1 day'"))
        db.session.commit()
    tasks.notifications_sweep()
    assert len(refused.sent) == 1


def test_the_last_attempt_gives_up(app):
    flaky = RecordingBackend(fail_with=TimeoutError())
    override_backend("email", flaky)
    note_id = queue_email(app)
    with app.app_context():
        db.session.execute(text("UPDATE notifications SET attempts = :n"), {"n": tasks.MAX_ATTEMPTS - 1})
        db.session.commit()
    jobs.rq_queue.empty()
    assert tasks.notification_deliver(note_id) == "failed"
    note = row(app, note_id)
    assert (note.status, note.attempts) == ("failed", tasks.MAX_ATTEMPTS)


def test_a_send_interrupted_by_a_crash_is_flagged_not_resent(app, email):
    note_id = queue_email(app)
    jobs.rq_queue.empty()
    with app.app_context():  # a worker claimed it, handed it to the provider, then died mid-send
        db.session.execute(text(
            "UPDATE notifications SET status = 'sending', attempts = 1, handed_at = now() - interval '3 minutes', "
            "lease_until = now() - interval '1 second'"))
        db.session.commit()
    tasks.notifications_sweep()
    note = row(app, note_id)
    assert note.status == DeliveryStatus.UNCERTAIN.value and "stopped" in note.last_error
    tasks.notifications_sweep()
    assert tasks.notification_deliver(note_id) == "skipped"
    assert email.sent == []

    # staff choose to send it again: exactly once more
    with app.app_context():
        notification_retry(notification_id=note_id)
        db.session.commit()
    run_worker()
    tasks.notifications_sweep()
    assert len(email.sent) == 1
    note = row(app, note_id)
    assert (note.status, note.attempts) == ("sent", 2)


def test_a_claim_that_never_reached_the_provider_is_sent_once_later(app, email):
    note_id = queue_email(app)
    jobs.rq_queue.empty()
    with app.app_context():  # a worker claimed it, then died (or lost the database) before the hand-off
        db.session.execute(text(
            "UPDATE notifications SET status = 'sending', lease_until = now() - interval '1 second'"))
        db.session.commit()
    assert tasks.notifications_sweep() == 1
    assert tasks.notifications_sweep() == 0
    note = row(app, note_id)
    assert (note.status, note.attempts, note.last_error) == ("sent", 1, None)
    assert len(email.sent) == 1


def test_a_claim_lost_to_its_lease_is_never_sent_by_its_late_worker(app, email):
    """A worker stalls between its claim and the hand-off for longer than the lease; meanwhile another
    worker's sweep takes the row back and sends it. The stalled worker then finds it handed over."""
    note_id = queue_email(app)
    jobs.rq_queue.empty()

    def another_worker_takes_over():
        clock.freeze(dt.datetime.now(dt.timezone.utc) + tasks.LEASE + dt.timedelta(seconds=1))
        other = threading.Thread(target=tasks.notifications_sweep)
        other.start()
        other.join(20)

    with app.app_context():
        on_commit(db.session, another_worker_takes_over)  # runs right after the stalled worker's claim
        assert tasks.notification_deliver(note_id) == "skipped"
    assert len(email.sent) == 1
    note = row(app, note_id)
    assert (note.status, note.attempts) == ("sent", 1)


def test_a_send_that_outlived_its_lease_still_records_its_outcome(app):
    """The provider took longer than the lease: the sweep flagged the row uncertain meanwhile; the
    provider's answer, when it comes, settles it."""
    class SlowProvider(RecordingBackend):
        def send(self, **message):
            clock.freeze(dt.datetime.now(dt.timezone.utc) + tasks.LEASE + dt.timedelta(seconds=1))
            sweep = threading.Thread(target=tasks.notifications_sweep)
            sweep.start()
            sweep.join(20)
            self.flagged = row(app, note_id).status
            return super().send(**message)

    slow = SlowProvider()
    override_backend("email", slow)
    note_id = queue_email(app)
    jobs.rq_queue.empty()
    assert tasks.notification_deliver(note_id) == "sent"
    assert slow.flagged == "uncertain"
    note = row(app, note_id)
    assert (note.status, note.attempts, len(slow.sent)) == ("sent", 1, 1)


def test_a_send_in_progress_is_left_alone(app, email):
    note_id = queue_email(app)
    jobs.rq_queue.empty()
    with app.app_context():
        db.session.execute(text(
            "UPDATE notifications SET status = 'sending', attempts = 1, lease_until = now() + interval '1 minute'"))
        db.session.commit()
    tasks.notifications_sweep()
    assert row(app, note_id).status == "sending"
    assert email.sent == []


def test_redis_down_keeps_the_row_and_the_sweep_sends_it_once(app, email):
    with another_app(app, REDIS_URL="redis://127.0.0.1:6390/0") as offline:
        started = time.monotonic()
        note_id = queue_email(offline)  # no exception: the commit stands, the enqueue is dropped
        assert time.monotonic() - started < 5
        assert row(offline, note_id).status == "pending"
    assert jobs.rq_queue.count == 0
    assert email.sent == []

    assert tasks.notifications_sweep() == 1
    tasks.notifications_sweep()
    run_worker()
    assert len(email.sent) == 1
    assert row(app, note_id).status == "sent"


def test_after_a_failed_enqueue_redis_is_left_alone_for_a_while(app, email, tmp_path):
    """A Redis that hangs makes every attempt wait out its timeouts: after one failure, requests and
    sweeps stop trying for ENQUEUE_PAUSE and leave the work to the sweep."""
    from app.core.jobs import ENQUEUE_PAUSE
    from tests.notifications.peers import RedisServer

    server = RedisServer(tmp_path)  # not started yet: its port refuses connections
    try:
        with another_app(app, REDIS_URL=server.url) as clinic:
            queue_email(clinic, key="during")
            server.start()
            queue = Queue(jobs.rq_queue.name, connection=server.client())
            queue_email(clinic, key="just-after")
            assert queue.count == 0  # not even tried
            clock.freeze(dt.datetime.now(dt.timezone.utc) + ENQUEUE_PAUSE + dt.timedelta(seconds=1))
            later = queue_email(clinic, key="later")
            assert queue.job_ids == [f"{queue.name}-notification-{later}"]
    finally:
        server.kill()
    assert tasks.notifications_sweep() == 3
    assert len(email.sent) == 3


def test_a_message_for_later_waits_for_its_time(app, email):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    note_id = queue_email(app, send_at=later)
    assert jobs.rq_queue.count == 0 and jobs.rq_queue.scheduled_job_registry.count == 1
    assert tasks.notifications_sweep() == 0
    assert tasks.notification_deliver(note_id) == "skipped"
    assert email.sent == [] and row(app, note_id).status == "pending"


def test_a_stopping_worker_ends_its_sweep_before_the_next_message(app, email):
    for n in range(3):
        queue_email(app, key=f"k{n}")
    jobs.rq_queue.empty()
    stop = threading.Event()
    stop.set()
    jobs.run_periodic_forever(stop)  # what the worker's sweeps thread sees once SIGTERM arrives
    assert tasks.notifications_sweep() == 0
    stop.clear()
    assert tasks.notifications_sweep() == 3
    assert len(email.sent) == 3


def test_in_app_messages_are_delivered_on_write(app, make_user):
    user = make_user()
    with app.app_context():
        notification_queue(dedupe_key="inbox:1", channel=Channel.IN_APP, body="Your lab result is ready.",
                           user_id=user.id)
        db.session.commit()
    assert jobs.rq_queue.count == 0
    with app.app_context():
        from app.notifications.services import inbox_list, inbox_mark_read, inbox_unread_count

        assert inbox_unread_count(user_id=user.id) == 1
        assert [n.body for n in inbox_list(user_id=user.id)] == ["Your lab result is ready."]
        inbox_mark_read(user_id=user.id)
        db.session.commit()
        assert inbox_unread_count(user_id=user.id) == 0


def test_email_and_sms_need_an_address(app):
    with app.app_context():
        with pytest.raises(ValueError):
            notification_queue(dedupe_key="x", channel=Channel.SMS, body="hi")
