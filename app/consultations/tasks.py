"""The consultations domain's jobs: the recordings' retention sweep."""
from __future__ import annotations

from flask import current_app

from app.consultations.recordings import recordings_purge
from app.core.actor import Actor
from app.extensions import jobs

PURGER = "recordings-purge"  # the system actor's name in the audit rows


@jobs.task
def recordings_purge_sweep() -> int:
    """Delete the recordings older than RECORDING_RETENTION_DAYS (audited); how many went."""
    return recordings_purge(actor=Actor.system(PURGER), retention_days=current_app.config["RECORDING_RETENTION_DAYS"])
