"""One transaction per request, committed after the view has produced its response.

A response under 400 commits (audit rows included); anything else rolls back, so a refused form
changes nothing (except that reads of clinical data it showed again stay audited). If the commit fails, the response the view made (which may hold clinical data
whose audit row could not be written) is replaced by an error page.
"""
from __future__ import annotations

from flask import current_app, render_template

from app.extensions import db


def _withheld():
    current_app.logger.exception("commit failed; the response was withheld")
    return current_app.make_response((render_template(
        "errors/error.html", code=503, title="Not saved",
        message="We could not save this just now. Nothing was changed. Please try again."), 503))


def commit_or_fail(response):
    from app.audit.services import audit_keep_reads_of_refused_request

    session = db.session
    if response.status_code >= 400:
        try:
            audit_keep_reads_of_refused_request()
        except Exception:
            session.rollback()
            return _withheld()
        session.rollback()
        return response
    try:
        session.commit()
    except Exception:
        session.rollback()
        return _withheld()
    return response
