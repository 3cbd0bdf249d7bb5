"""The background worker process: RQ with its scheduler (for enqueue_at) and the periodic sweeps."""
from __future__ import annotations

import threading


def run_worker(app) -> None:
    from rq import SimpleWorker

    from app.extensions import jobs

    if jobs.rq_queue is None:
        raise SystemExit("REDIS_URL is not set: without Redis, `make run` runs jobs inside the web process")
    stop = threading.Event()
    sweeper = threading.Thread(target=jobs.run_periodic_forever, args=(stop,), name="sweeps", daemon=True)
    sweeper.start()
    try:
        with app.app_context():
            # SimpleWorker: jobs run in this process, so no forked child shares the database pool.
            SimpleWorker([jobs.rq_queue], connection=jobs.redis).work(with_scheduler=True)
    finally:
        stop.set()
