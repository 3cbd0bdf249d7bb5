"""The database is unreachable (a restart, a failover, a network cut): a 503 that needs no database.

Such a request may fail anywhere: loading the signed-in user before the view, in the view, at the
commit. Each place hands the error to `database_down_response`, which throws the request's session
away with its connection (the pool must not hand a broken connection out again) and renders the
normal layout as if nobody were signed in, since loading the user, the navigation and the unread
count are queries themselves. Nobody is signed out: the next request loads the user as usual.
"""
from __future__ import annotations

import psycopg
from flask import current_app, g, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import exc

from app.core.htmx import is_htmx_fragment_request
from app.extensions import db

DATABASE_DOWN = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError,
                 psycopg.OperationalError, psycopg.InterfaceError)
RETRY_AFTER_SECONDS = 5
TITLE = _l("Temporarily unavailable")
MESSAGE = _l("We cannot reach the clinic's records just now. Please try again in a moment. "
             "If you were saving something, check that it was saved once this page loads again.")


def is_database_down(error: BaseException | None) -> bool:
    """The error, or one it was raised from, says the database could not be reached (or answered
    'try again': a restart in progress, a deadlock victim, a statement cancelled)."""
    for _ in range(5):
        if error is None:
            return False
        if isinstance(error, DATABASE_DOWN):
            return True
        # Flask wraps an error raised outside the view's handlers in InternalServerError.
        error = getattr(error, "original_exception", None) or error.__cause__
    return False


def discard_session() -> None:
    """End the request's transaction without raising: a rollback on a dead connection fails too, so
    the session's connections are invalidated (closed, never returned to the pool)."""
    session = db.session
    try:
        session.rollback()
        return
    except Exception:
        pass
    try:
        session.invalidate()
    except Exception:  # nothing more can be done with it; the pool's pre-ping checks the rest
        pass


def database_down_response(error: BaseException):
    discard_session()
    # The class only: a database message may quote a statement.
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                               error.__class__.__name__)
    g.database_down = True  # commit_or_fail: nothing to commit or audit
    g._login_user = current_app.login_manager.anonymous_user()  # flask-login: do not load the user
    template = "errors/_error.html" if is_htmx_fragment_request() else "errors/error.html"
    response = make_response(render_template(template, code=503, title=str(TITLE), message=str(MESSAGE)), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response
