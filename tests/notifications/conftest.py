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



@pytest.fixture
def sink():
    """An SMTP server of the test's own that counts what it accepts (tests/notifications/peers.py)."""
    from tests.notifications.peers import SmtpSink

    server = SmtpSink()
    server.start()
    yield server
    server.stop()
