"""/healthz: is the database reachable, is Redis (when configured)? JSON, 503 when one is down.

It never loads the signed-in user (see accounts.sessions.enforce_idle_timeout): it must answer
about the database, not fail with it."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.core.outage import discard_session
from app.core.policies import public
from app.extensions import db, jobs

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
        discard_session()
    if current_app.config.get("REDIS_URL"):
        try:
            jobs.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    else:
        checks["redis"] = "not configured (jobs and events run in-process)"
    healthy = all(v == "ok" or v.startswith("not configured") for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
