"""One transaction per request, committed after the view has produced its response: the one place
a request's work is kept or thrown away. Services only flush; views do not roll back.

A response under 400 commits (audit rows included); anything else rolls back as a whole, so a
refused request changes nothing, even when a service flushed half its work before refusing (a move
cancels, then books). Reads of clinical data that a refused page showed again stay audited.
A DomainError no view catches is answered by app/core/error_pages.py (NotFound 404, AccessDenied
403, any other 422), so it rolls back too; a refusal answered the Post/Redirect/Get way (a 303,
the message on the next page) is made with `refused(...)` and rolls back the same way. A form
shown again with its refusal is rendered before that rollback, from the request's session: a
service checks before it writes where it can, and one that cannot (the move) is answered with a
redirect, so no page shows what will not be kept. If the commit fails, the response the view made
(which may hold clinical data whose audit row could not be written) is replaced by an error page.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import Response, current_app, flash, g, redirect, render_template, session
from flask_babel import gettext as _

from app.core import hooks
from app.core.errors import DomainError, NotFound
from app.core.outage import database_down_response, discard_session, is_database_down
from app.extensions import db

T = TypeVar("T")


def _withheld(error: Exception):
    # What the view flashed ("Your appointment is booked") did not happen, or may not have.
    session.pop("_flashes", None)
    if is_database_down(error):
        return database_down_response(error)
    discard_session()
    current_app.logger.exception("commit failed; the response was withheld")
    return current_app.make_response((render_template(
        "errors/error.html", code=503, title=_("Not saved"),
        message=_("We could not save this just now. Nothing was changed. Please try again.")), 503))


def refused(message: str, url: str):
    """Answer a refused action with a redirect to `url`, the message shown there: the request's
    work is rolled back as for any 4xx answer (a 303 would otherwise commit it)."""
    g.refused = True
    flash(message, "error")
    return redirect(url, code=303)


def attempt(work: Callable[[], T], *, refused_at: str) -> tuple[T | None, Response | None]:
    """Run a POST's state change: (its result, None), or (None, the refusal) when the service said
    no with a DomainError: its message flashed at `refused_at`, the work rolled back. NotFound is not a
    refusal: it passes through as the 404 it is."""
    try:
        return work(), None
    except NotFound:
        raise
    except DomainError as error:
        return None, refused(error.message, refused_at)


def commit_or_fail(response):
    if g.get("database_down"):
        return response  # answered without the database: its session is already thrown away
    if response.status_code >= 400 or g.get("refused"):
        try:
            hooks.audit_refused_request()
        except Exception as error:
            return _withheld(error)
        discard_session()
        return response
    try:
        db.session.commit()
    except Exception as error:
        return _withheld(error)
    return response
