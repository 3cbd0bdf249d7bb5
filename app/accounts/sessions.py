"""Server-side revocable sessions and the idle timeout.

The login cookie carries "<user id>:<session token>". Replacing the account's token (logout,
password change, deactivation, role change, an admin's "end sessions") makes every cookie issued
before it worthless at once, on every device.
"""
from __future__ import annotations

import hmac
import time

from flask import current_app, redirect, request, session, url_for
from flask_login import current_user, logout_user

from app.extensions import db

LAST_SEEN_KEY = "last_seen"
# Requests a page makes by itself, not the person: a live page re-fetching its list after an event
# (live.js sends this header) and the live websocket's (re)connection. They are checked, never counted
# as activity, or a screen left open on a busy queue would never sign out.
BACKGROUND_HEADER = "X-Live-Refresh"
BACKGROUND_ENDPOINTS = ("accounts.session_status", "realtime.live")


def load_user_from_cookie(cookie_id: str):
    from app.accounts.models import User

    user_id, _, token = (cookie_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active_account or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def session_still_current(db_session, *, user_id: int, session_token: str) -> bool:
    """For a live socket, on a database session of its own: the account is active and still signed
    in with this token (sign-out, a password change or deactivation replace it)."""
    from app.accounts.models import User

    user = db_session.get(User, user_id)
    return bool(user and user.is_active_account and user.session_token == session_token)


def touch_session() -> None:
    session[LAST_SEEN_KEY] = int(time.time())


def idle_seconds_left() -> int:
    timeout = current_app.config["IDLE_TIMEOUT_SECONDS"]
    last_seen = session.get(LAST_SEEN_KEY, int(time.time()))
    return max(0, timeout - (int(time.time()) - last_seen))


def enforce_idle_timeout():
    """before_request: sign out a session left idle; any other request counts as activity."""
    if request.endpoint in ("static", "health.healthz") or not current_user.is_authenticated:
        return None
    if request.endpoint in BACKGROUND_ENDPOINTS or request.headers.get(BACKGROUND_HEADER) == "1":
        # The idle-warning script polls session_status; polling must not keep the session alive.
        if idle_seconds_left() > 0:
            return None
    elif idle_seconds_left() > 0:
        touch_session()
        return None
    logout_user()
    session.clear()
    if request.headers.get("HX-Request") == "true":
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = url_for("accounts.login", reason="idle")
        return response
    return redirect(url_for("accounts.login", reason="idle"))
