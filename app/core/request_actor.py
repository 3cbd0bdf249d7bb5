"""The actor of the current request, for views: who is signed in, from where, and the grants this
signed-in session holds. Services take the actor as an argument and never read the request.

A grant (an emergency access to a chart, see app/records/access.py) lives in the Flask session,
which signing in, signing out, switching user and the idle sign-out all clear. It is bound to
this signed-in session: the cookie names the session id it was made in (a hash of the account's
login token and a random key made for this sign-in), so grants copied into another session of
the same account, or kept past a revoked login token, are ignored. The cookie holds only each
grant's patient, expiry and the seq of its audit row, never a reason.
"""
from __future__ import annotations

import hashlib
import secrets

from flask import request, session
from flask_login import current_user

from app.core.actor import ANONYMOUS, Actor, Grant
from app.core.clock import clock

GRANTS_KEY = "emergency_access"
SESSION_KEY = "emergency_holder"  # the random key of this sign-in (names kept from before: live grants survive)
MAX_GRANTS = 20  # a session cookie holds at most this many live grants (the oldest go first)


def _session_id() -> str:
    key = session.get(SESSION_KEY)
    if not key:
        key = session[SESSION_KEY] = secrets.token_urlsafe(12)
    return hashlib.sha256(f"{current_user.get_id()}:{key}".encode()).hexdigest()[:16]


def _live(session_id: str, now: float) -> dict[str, dict]:
    return {pid: g for pid, g in (session.get(GRANTS_KEY) or {}).items()
            if isinstance(g, dict) and g.get("holder") == session_id and g.get("until", 0) > now
            and pid.isdigit() and isinstance(g.get("seq"), int)}


def current_actor() -> Actor:
    ip, origin = request.remote_addr, request.path[:200]
    if not current_user.is_authenticated:
        return Actor(user_id=None, role=ANONYMOUS, ip=ip, origin=origin)
    session_id = _session_id()
    grants: tuple[Grant, ...] = ()
    stored = session.get(GRANTS_KEY)
    if stored:
        live = _live(session_id, clock.now().timestamp())
        if len(live) != len(stored):
            session[GRANTS_KEY] = live  # forget what has expired
        grants = tuple(Grant(patient_id=int(pid), audit_seq=g["seq"], until=int(g["until"])) for pid, g in live.items())
    return Actor(user_id=current_user.id, role=current_user.role, session=session_id, ip=ip, origin=origin,
                 grants=grants)


def session_grant_keep(grant: Grant) -> None:
    """Keep `grant` for this signed-in session (a new grant for the same patient replaces the old)."""
    session_id = _session_id()
    live = _live(session_id, clock.now().timestamp())
    live.pop(str(grant.patient_id), None)
    live[str(grant.patient_id)] = {"until": grant.until, "seq": grant.audit_seq, "holder": session_id}
    session[GRANTS_KEY] = dict(sorted(live.items(), key=lambda item: item[1]["until"])[-MAX_GRANTS:])
