from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_scheduled_jobs(app):
    """Retries scheduled by an earlier test (RQ's scheduled registry outlives `Queue.empty()`)."""
    from app.extensions import jobs

    registry = jobs.rq_queue.scheduled_job_registry
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    yield

