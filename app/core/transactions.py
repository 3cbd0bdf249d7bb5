"""One transaction per request, committed after the view has produced its response.

A response under 400 commits (audit rows included); anything else rolls back, so a refused form
changes nothing (except that reads of clinical data it showed again stay audited). If the commit fails, the response the view made (which may hold clinical data
whose audit row could not be written) is replaced by an error page.
"""
from __future__ import annotations

from flask import current_app, g, render_template, session
from flask_babel import gettext as _

from app.core.outage import database_down_response, discard_session, is_database_down
from app.extensions import db


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


def commit_or_fail(response):
    from app.audit.services import audit_keep_reads_of_refused_request

    if g.get("database_down"):
        return response  # answered without the database: its session is already thrown away
    if response.status_code >= 400:
        try:
            audit_keep_reads_of_refused_request()
        except Exception as error:
            return _withheld(error)
        discard_session()
        return response
    try:
        db.session.commit()
    except Exception as error:
        return _withheld(error)
    return response
