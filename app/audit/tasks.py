"""The audit checkpoint sweep: anchors the chain's tail outside the database (app/audit/checkpoints.py)."""
from __future__ import annotations

from app.audit.checkpoints import audit_checkpoint_if_advanced
from app.extensions import jobs


@jobs.task
def audit_checkpoint_sweep() -> int | None:
    """Write a checkpoint if the chain advanced since the last one; returns its seq."""
    checkpoint = audit_checkpoint_if_advanced()
    return checkpoint.seq if checkpoint is not None else None
