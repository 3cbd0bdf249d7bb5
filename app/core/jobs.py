"""Background jobs: RQ on Redis when REDIS_URL is set, a worker thread in-process otherwise.

Jobs take ids, not objects, and are idempotent: a job that runs twice does its work once. They
are enqueued after commit (app.core.db.on_commit). If Redis is down at that moment the enqueue is
dropped with a warning and the periodic sweeps (`JobQueue.every`) find the work from the database
when Redis is back: the database, not the queue, is the record of what is due. After a failed
enqueue, Redis is left alone for a while (`ENQUEUE_PAUSE`): a Redis that hangs or whose host is gone
makes each attempt wait out its timeouts and retries, and neither a request nor the worker's sweeps
should wait that long for every message.
"""
from __future__ import annotations

import datetime as dt
import functools
import heapq
import importlib
import itertools
import logging
import queue
import re
import threading
import time
from typing import Callable

from app.core.clock import clock

log = logging.getLogger(__name__)

QUEUE_NAME = "myafya"
ENQUEUE_PAUSE = dt.timedelta(seconds=30)


def _path_of(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class JobQueue:
    def __init__(self) -> None:
        self.app = None
        self.redis = None
        self.rq_queue = None
        self._periodic: dict[str, int] = {}
        self._runner: InProcessRunner | None = None
        self._stop: threading.Event | None = None
        self._unreachable_until: dt.datetime | None = None

    def init_app(self, app) -> None:
        self.app = app
        self._unreachable_until = None
        url = app.config.get("REDIS_URL")
        if url:
            from redis import Redis
            from rq import Queue

            self.redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            self.rq_queue = Queue(app.config.get("RQ_QUEUE_NAME", QUEUE_NAME), connection=self.redis)
        else:
            self._runner = InProcessRunner(self)

    # -- declaring -----------------------------------------------------------------------------
    def task(self, func: Callable) -> Callable:
        """Run `func` in an app context with its own transaction, committed when it returns."""

        @functools.wraps(func)
        def run(*args, **kwargs):
            from app.extensions import db

            app = self.app
            if app is None:
                raise RuntimeError("jobs.init_app() was not called in this process")
            with app.app_context():
                try:
                    result = func(*args, **kwargs)
                    db.session.commit()
                    return result
                except Exception:
                    db.session.rollback()
                    raise

        run.job_path = _path_of(func)
        return run

    def every(self, seconds: int, task: Callable) -> None:
        """Register a sweep run every `seconds` by the worker (or the in-process runner)."""
        self._periodic[task.job_path] = seconds

    @property
    def periodic(self) -> list[tuple[int, str]]:
        return [(seconds, path) for path, seconds in self._periodic.items()]

    # -- enqueueing ----------------------------------------------------------------------------
    def enqueue(self, task: Callable, *args, job_id: str | None = None, at: dt.datetime | None = None) -> bool:
        """Queue `task(*args)`, now or at `at`. False when the queue is unreachable (the sweep covers it)."""
        path = task.job_path
        if self._runner is not None:
            self._runner.submit(path, args, at)
            return True
        if self._unreachable_until is not None and clock.now() < self._unreachable_until:
            return False
        try:
            if job_id is not None:  # RQ job ids are global to the Redis database: scope them to this queue
                job_id = re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.rq_queue.name}-{job_id}")
            options = {"job_id": job_id, "result_ttl": 300, "failure_ttl": 7 * 24 * 3600}
            if at is not None:
                self.rq_queue.enqueue_at(at, path, *args, **options)
            else:
                self.rq_queue.enqueue(path, *args, **options)
        except Exception as exc:  # Redis down: the database keeps the work; a sweep re-finds it
            self._unreachable_until = clock.now() + ENQUEUE_PAUSE
            log.warning("could not enqueue %s: %s; no enqueues for %d s, the sweeps cover them",
                        path, exc.__class__.__name__, ENQUEUE_PAUSE.total_seconds())
            return False
        self._unreachable_until = None
        return True

    def start_in_process(self) -> None:
        if self._runner is not None:
            self._runner.start()

    @property
    def stopping(self) -> bool:
        """The worker is shutting down: a long sweep ends after the item in hand."""
        return self._stop is not None and self._stop.is_set()

    def run_periodic_forever(self, stop: threading.Event) -> None:
        """Run the registered sweeps in this thread until `stop` is set (used by the RQ worker)."""
        self._stop = stop
        next_run = {path: 0.0 for _, path in self.periodic}
        while not stop.is_set():
            now = time.monotonic()
            for seconds, path in self.periodic:
                if now >= next_run[path]:
                    next_run[path] = now + seconds
                    try:
                        _resolve(path)()
                    except Exception:
                        log.exception("periodic job %s failed", path)
            stop.wait(1.0)


class InProcessRunner:
    """One daemon thread that runs queued, delayed and periodic jobs, for `make run` without Redis."""

    def __init__(self, owner: JobQueue) -> None:
        self.owner = owner
        self._queue: queue.Queue = queue.Queue()
        self._delayed: list = []
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, path: str, args: tuple, at: dt.datetime | None) -> None:
        if at is not None and at > dt.datetime.now(dt.timezone.utc):
            with self._lock:
                heapq.heappush(self._delayed, (at, next(self._counter), path, args))
        else:
            self._queue.put((path, args))

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="myafya-jobs", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        next_run = {path: 0.0 for _, path in self.owner.periodic}
        while True:
            now = time.monotonic()
            for seconds, path in self.owner.periodic:
                if now >= next_run[path]:
                    next_run[path] = now + seconds
                    self._run(path, ())
            self._release_due()
            try:
                path, args = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            self._run(path, args)

    def _release_due(self) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        with self._lock:
            while self._delayed and self._delayed[0][0] <= now:
                _, _, path, args = heapq.heappop(self._delayed)
                self._queue.put((path, args))

    @staticmethod
    def _run(path: str, args: tuple) -> None:
        try:
            _resolve(path)(*args)
        except Exception:
            log.exception("job %s failed", path)
