"""The background worker process (Procfile `worker:`): RQ jobs, RQ's scheduler and the periodic
sweeps, kept running through Redis outages with nobody at the console.

Three loops share the process, and a lost Redis stops none of them for good:

- the sweeps thread delivers due outbox rows and queues reminders straight from the database. It
  needs no Redis, so messages keep leaving while Redis is away (a retry it cannot enqueue is found
  again by a later sweep).
- the scheduler thread moves RQ's due `enqueue_at` jobs onto the queue. RQ would fork its scheduler
  as a child process, which dies with the connection and is restarted only by the worker's
  ten-minute maintenance; this thread retries by itself, shares no forked database pool, and keeps
  one name for the life of the process, so after an outage it refreshes its own lock instead of
  waiting out the lock's TTL, and it releases the lock when the worker stops.
- the main thread runs an RQ SimpleWorker. When Redis fails under it, the supervisor logs one line,
  waits (capped exponential backoff with jitter) and starts a fresh worker on a fresh connection.
  (A worker waiting for a job when Redis goes reconnects by itself, RQ's own retry, at the same pace.)

SIGTERM or SIGINT: warm shutdown (the job and the delivery in hand finish, then everything stops);
a second signal: cold shutdown.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.scheduler import RQScheduler
from rq.utils import now
from rq.worker.base import WorkerStatus

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
SCHEDULER_INTERVAL = 1
HEALTHY_RUN = 30.0     # a worker that ran this long before it failed starts the backoff afresh
SHUTDOWN_GRACE = 25.0  # how long a stop waits for the sweeps' delivery in hand (SMTP waits up to 20 s)


class Backoff:
    """Capped exponential backoff with jitter: about 1, 2, 4, 8, 10, 10 ... s, each drawn from the upper
    half of its step, so workers that lost Redis together do not knock on it in step. A try costs one
    connection attempt: the cap keeps the wait after Redis is back short."""

    def __init__(self, base: float = 1.0, cap: float = 10.0) -> None:
        self.base, self.cap, self.failures = base, cap, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2 ** self.failures)
        self.failures += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.failures = 0


def _connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def _on_signals(handler) -> None:
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class SupervisedWorker(SimpleWorker):
    """SimpleWorker (jobs run in this process: no forked child shares the database pool) whose warm
    shutdown needs no Redis and tells the supervisor. RQ's own writes to Redis from the signal
    handler, and with Redis gone that raised a connection error into the job in hand."""

    # RQ retries a lost connection itself while it waits for a job: as often as the supervisor would.
    max_connection_wait_time = 10.0

    def __init__(self, *args, stop: threading.Event, **kwargs) -> None:
        self.supervisor_stop = stop
        self.redis_was_lost = False
        super().__init__(*args, **kwargs)

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        if self.supervisor_stop.is_set():  # the signal came while this worker was starting
            self._stop_requested = True

    def request_stop(self, signum, frame) -> None:
        self.supervisor_stop.set()
        self._shutdown_requested_date = now()
        _on_signals(self.request_force_stop)
        if self.get_state() == WorkerStatus.BUSY:
            log.info("worker: stopping after the job in hand (signal again to stop at once)")
            self._stop_requested = True
        else:
            raise StopRequested()

    def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread) -> None:
        if not isinstance(exc, RedisConnectionError):
            return super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)
        self.redis_was_lost = True
        time.sleep(2.0)  # RQ's retry, without its line in the log every two seconds of an outage

    def heartbeat(self, timeout=None, pipeline=None) -> None:
        # RQ reconnects by itself while it waits for a job; a Redis that came back empty has lost
        # this worker's registration, and `rq info` would show no worker.
        if self.redis_was_lost and pipeline is None:
            if not self.connection.exists(self.key):
                self.register_birth()
                self.set_state(self.get_state())
            self.redis_was_lost = False
        super().heartbeat(timeout, pipeline)


def _run_one_worker(url: str, queue_name: str, stop: threading.Event) -> str | None:
    """Run one RQ worker until it stops; returns why when it stopped without being asked to."""
    # Its own client: RQ raises the socket timeout of the client it is given for its blocking
    # dequeue, and the sweeps' client (jobs.redis) must keep failing fast.
    connection = _connect(url)
    worker = None
    try:
        worker = SupervisedWorker([queue_name], connection=connection, stop=stop)
        worker.work(with_scheduler=False)
        return None if stop.is_set() else "the RQ worker stopped (its log says why)"
    except StopRequested:
        return None
    except REDIS_DOWN as exc:
        return f"Redis unreachable ({exc.__class__.__name__})"
    except Exception as exc:
        log.exception("worker: the RQ worker failed")
        return f"the RQ worker failed ({exc.__class__.__name__})"
    finally:
        _on_signals(lambda *_: stop.set())
        listener = worker.pubsub_thread if worker is not None else None
        if listener is not None:
            # RQ's teardown skips this when Redis is gone, and the thread would retry forever. It
            # closes its connection as it ends; closing the pool under it would break its last read.
            listener.stop()
        else:
            with contextlib.suppress(Exception):
                connection.close()


def _schedule_forever(url: str, queue_name: str, stop: threading.Event) -> None:
    """RQ's scheduler, in a thread: every second, move due `enqueue_at` jobs onto the queue while this
    process holds the queue's scheduler lock (with several workers, one holds it; the others take over
    when it lapses). Survives Redis outages; releases the lock on the way out."""
    name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    backoff = Backoff()
    scheduler = None
    try:
        while not stop.is_set():
            try:
                if scheduler is None:
                    scheduler = RQScheduler([queue_name], connection=_connect(url), name=name,
                                            interval=SCHEDULER_INTERVAL)
                    scheduler.register_birth()
                if not scheduler.acquired_locks:
                    scheduler.acquire_locks()
                scheduler.heartbeat()
                if scheduler.acquired_locks:
                    scheduler.enqueue_scheduled_jobs()
                if backoff.failures:
                    log.info("scheduler: Redis is back")
                backoff.reset()
                delay = SCHEDULER_INTERVAL
            except REDIS_DOWN as exc:
                if not backoff.failures:
                    log.warning("scheduler: Redis unreachable (%s); retrying with backoff", exc.__class__.__name__)
                if scheduler is not None:
                    with contextlib.suppress(Exception):
                        scheduler.connection.connection_pool.disconnect()
                scheduler = None
                delay = backoff.next_delay()
            except Exception:
                log.exception("scheduler: unexpected failure; retrying with backoff")
                scheduler, delay = None, backoff.next_delay()
            stop.wait(delay)
    finally:
        if scheduler is not None:
            with contextlib.suppress(Exception):
                scheduler.stop()  # releases the lock and deletes its registration


def run_worker(app) -> None:
    from app.extensions import jobs

    if jobs.rq_queue is None:
        raise SystemExit("REDIS_URL is not set: without Redis, `make run` runs jobs inside the web process")
    url, queue_name = app.config["REDIS_URL"], jobs.rq_queue.name
    stop = threading.Event()
    _on_signals(lambda *_: stop.set())
    sweeps = threading.Thread(target=jobs.run_periodic_forever, args=(stop,), name="sweeps", daemon=True)
    scheduler = threading.Thread(target=_schedule_forever, args=(url, queue_name, stop), name="scheduler",
                                 daemon=True)
    sweeps.start()
    scheduler.start()
    backoff = Backoff()
    try:
        with app.app_context():
            while not stop.is_set():
                started = time.monotonic()
                why = _run_one_worker(url, queue_name, stop)
                if stop.is_set():
                    break
                if time.monotonic() - started > HEALTHY_RUN:
                    backoff.reset()
                delay = backoff.next_delay()
                log.warning("worker: %s; starting a fresh one in %.1f s", why, delay)
                stop.wait(delay)
    except StopRequested:  # a signal that reached RQ's handler just as its worker ended
        pass
    finally:
        stop.set()
        log.info("worker: stopping")
        scheduler.join(timeout=10)
        sweeps.join(timeout=SHUTDOWN_GRACE)
