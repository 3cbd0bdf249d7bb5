"""Outages for real: a Redis killed under load, a worker killed mid-send, two workers at once, a
database lost right after a claim. Each runs `flask --app wsgi worker` processes against a Redis and
an SMTP sink of the test's own, then counts every message the sink accepted: each sent once, none
lost, none doubled; the only exception is a message that was handed to the provider when its worker
died, and that one is marked 'uncertain' for staff, never sent twice by itself."""
from __future__ import annotations

import collections
import datetime as dt
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from rq import Queue, Worker
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from app.core.clock import clock
from app.extensions import db
from app.notifications import tasks
from app.notifications.backends import override_backend
from app.notifications.models import Channel, Notification
from app.notifications.services import notification_queue, outbox_review_list
from tests.core.apps import another_app
from tests.notifications.peers import PostgresServer, RedisServer, WorkerProcess, wait_for
from tests.notifications.test_outbox import RecordingBackend

QUEUE = "outage"
# A job any worker can run that touches nothing: delivering a row that does not exist is "skipped".
PROBE = "app.notifications.tasks.notification_deliver"


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def start_worker(app, tmp_path, redis_server, sink):
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(tmp_path, database_url=app.config["DATABASE_URL"], redis_url=redis_server.url,
                               smtp_url=sink.url, queue=QUEUE)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
        print(f"--- worker {worker.pid} log (tail) ---\n{worker.log()[-4000:]}")  # shown when a test fails


def queue_emails(app, redis_server, count: int, *, first: int = 0) -> list[str]:
    """Queue `count` emails as the web app would (one transaction, enqueued to the private Redis after
    commit); returns their outbox ids as the sink sees them."""
    with another_app(app, REDIS_URL=redis_server.url, RQ_QUEUE_NAME=QUEUE) as clinic, clinic.app_context():
        notes = [notification_queue(dedupe_key=f"outage:{n}", channel=Channel.EMAIL, to_address=f"p{n}@example.test",
                                    subject="Appointment confirmed", body="See you on Monday at 09:00.")
                 for n in range(first, first + count)]
        db.session.commit()
        return [str(note.id) for note in notes]


def outbox(app) -> dict[str, Notification]:
    with app.app_context():
        rows = db.session.execute(select(Notification).execution_options(populate_existing=True)).scalars().all()
        db.session.expunge_all()
        return {str(note.id): note for note in rows}


def statuses(app) -> collections.Counter:
    with app.app_context():
        return collections.Counter(db.session.execute(select(Notification.status)).scalars())


def workers_registered(redis_server) -> int:
    return len(Worker.all(connection=redis_server.client()))


def test_the_worker_outlives_a_redis_outage_under_load(app, redis_server, sink, start_worker):
    worker = start_worker()
    wait_for(lambda: workers_registered(redis_server) == 1, timeout=20, what="the worker to start")
    ids = queue_emails(app, redis_server, 200)
    wait_for(lambda: sink.count() >= 20, timeout=20, what="deliveries to start")

    redis_server.kill()
    at_kill = sink.count()
    # The outbox keeps going from the database while Redis is away, and the worker stays up.
    wait_for(lambda: sink.count() >= min(200, at_kill + 20), timeout=30, what="messages to leave with Redis down")
    wait_for(lambda: "Redis unreachable" in worker.log(), timeout=10, what="the worker to notice")
    assert worker.alive()

    redis_server.start()  # empty, as after a crash: its queued jobs are gone, the rows are not
    queue = Queue(QUEUE, connection=redis_server.client())
    now_job = queue.enqueue(PROBE, 0)
    later_job = queue.enqueue_in(dt.timedelta(seconds=1), PROBE, 0)  # needs the scheduler back too
    wait_for(lambda: now_job.get_status(refresh=True) == "finished", timeout=30,
             what="the worker to run RQ jobs again")
    wait_for(lambda: later_job.get_status(refresh=True) == "finished", timeout=30,
             what="the scheduler to move a scheduled job again")

    wait_for(lambda: statuses(app) == {"sent": 200}, timeout=30, what="every message to be sent")
    assert sink.accepted == collections.Counter({ref: 1 for ref in ids})
    assert worker.alive() and worker.children() == []  # no forked scheduler, none left behind

    # A stop while Redis is away still ends the worker cleanly, and at once.
    redis_server.kill()
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0


def test_an_idle_worker_reconnects_by_itself_and_is_listed_again(app, redis_server, start_worker):
    worker = start_worker()
    wait_for(lambda: workers_registered(redis_server) == 1, timeout=20, what="the worker to start")
    redis_server.kill()
    wait_for(lambda: "Redis unreachable" in worker.log(), timeout=10, what="the worker to notice")
    redis_server.start()  # empty: the worker's registration went with the data
    job = Queue(QUEUE, connection=redis_server.client()).enqueue(PROBE, 0)
    wait_for(lambda: job.get_status(refresh=True) == "finished", timeout=30, what="the worker to run jobs again")
    wait_for(lambda: workers_registered(redis_server) == 1, timeout=10, what="the worker to be listed again")
    assert worker.alive() and worker.children() == []


def test_a_worker_killed_mid_send_leaves_only_that_message_uncertain(app, redis_server, sink, start_worker):
    first = start_worker()
    wait_for(lambda: workers_registered(redis_server) == 1, timeout=20, what="the worker to start")
    sink.hold("5")  # ids restart at 1 in every test: the fifth message hangs in the provider's hands
    ids = queue_emails(app, redis_server, 10)
    assert "5" in ids
    others = [ref for ref in ids if ref != "5"]
    wait_for(sink.held.is_set, timeout=20, what="message 5 to reach the sink")
    wait_for(lambda: statuses(app) == {"sent": 9, "sending": 1}, timeout=20, what="the other nine to be sent")

    first.kill()  # SIGKILL, mid-send
    handed = outbox(app)["5"]
    assert (handed.status, handed.attempts) == ("sending", 1) and handed.handed_at is not None
    sink.release()  # the provider never accepted it
    with app.app_context():  # the lease's two minutes pass (the worker reads the database's clock)
        db.session.execute(text("UPDATE notifications SET lease_until = now() - interval '1 second' WHERE id = 5"))
        db.session.commit()

    second = start_worker()
    wait_for(lambda: outbox(app)["5"].status == "uncertain", timeout=30, what="the new worker's sweep")
    late = queue_emails(app, redis_server, 1, first=100)  # the new worker delivers as usual
    wait_for(lambda: sink.accepted[late[0]] == 1, timeout=20, what="the new worker to deliver")
    wait_for(lambda: outbox(app)[late[0]].status == "sent", timeout=20, what="the new worker to record it")

    assert sink.accepted == collections.Counter({ref: 1 for ref in others + late})
    assert statuses(app) == {"sent": 10, "uncertain": 1}
    uncertain = outbox(app)["5"]
    assert (uncertain.attempts, uncertain.last_error) == (1, "worker stopped during send")
    with app.app_context():  # what the administrator finds under Admin -> Outbox
        assert [(row.id, row.status) for row in outbox_review_list()] == [(5, "uncertain")]
    assert second.alive()


def test_two_workers_at_once_send_each_message_once(app, redis_server, sink, start_worker):
    workers = [start_worker(), start_worker()]
    wait_for(lambda: workers_registered(redis_server) == 2, timeout=20, what="both workers to start")
    ids = queue_emails(app, redis_server, 200)
    wait_for(lambda: statuses(app) == {"sent": 200}, timeout=60, what="every message to be sent")
    assert sink.accepted == collections.Counter({ref: 1 for ref in ids})
    assert all(worker.alive() for worker in workers)


def test_a_stop_signal_lets_the_send_in_hand_finish(app, redis_server, sink, start_worker):
    worker = start_worker()
    wait_for(lambda: workers_registered(redis_server) == 1, timeout=20, what="the worker to start")
    lock = f"rq:scheduler-lock:{QUEUE}"
    wait_for(lambda: redis_server.client().exists(lock), timeout=20, what="the scheduler to take its lock")
    sink.hold("1")
    [ref] = queue_emails(app, redis_server, 1)
    wait_for(sink.held.is_set, timeout=20, what="the message to reach the sink")

    worker.signal(signal.SIGTERM)
    wait_for(lambda: "stopping" in worker.log(), timeout=10, what="the worker to begin stopping")
    assert worker.alive()  # waiting for the provider's answer
    sink.release(accept=True)
    assert worker.wait(30) == 0
    assert outbox(app)[ref].status == "sent"
    assert not redis_server.client().exists(lock)  # released: the next worker schedules at once
    assert workers_registered(redis_server) == 0


@pytest.fixture
def private_postgres():
    directory = Path(tempfile.mkdtemp(prefix="myafya-pg-"))
    server = PostgresServer(directory)
    server.start()
    yield server
    server.stop_if_running()
    shutil.rmtree(directory, ignore_errors=True)


def test_a_database_lost_right_after_a_claim_sends_the_message_once_later(app, private_postgres):
    """The claim commits, then the database goes away before the hand-off: nothing was sent, so when
    the lease runs out the row is pending again, not uncertain, and the next sweep sends it once."""
    from app.core.db import on_commit
    from app.core.migrate import upgrade_to_head

    upgrade_to_head(private_postgres.url)
    email = RecordingBackend()
    with another_app(app, DATABASE_URL=private_postgres.url) as clinic:
        override_backend("email", email)
        with clinic.app_context():
            note = notification_queue(dedupe_key="lost-db", channel=Channel.EMAIL, to_address="a@example.test",
                                      subject="Appointment confirmed", body="See you on Monday.")
            db.session.commit()
            note_id = note.id
        with clinic.app_context():
            on_commit(db.session, private_postgres.stop)  # runs once the claim has committed
            with pytest.raises(OperationalError):
                tasks.notification_deliver(note_id)
        private_postgres.start()
        assert email.sent == []
        claimed = outbox(clinic)[str(note_id)]
        assert (claimed.status, claimed.handed_at, claimed.attempts) == ("sending", None, 0)

        assert tasks.notifications_sweep() == 0  # the lease still runs: nobody touches it
        clock.freeze(dt.datetime.now(dt.timezone.utc) + tasks.LEASE + dt.timedelta(seconds=1))
        assert tasks.notifications_sweep() == 1
        assert tasks.notifications_sweep() == 0
        sent = outbox(clinic)[str(note_id)]
        assert (sent.status, sent.attempts) == ("sent", 1)
        assert len(email.sent) == 1
