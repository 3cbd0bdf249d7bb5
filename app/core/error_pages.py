"""Error pages in the layout, for people; never a stack trace, never a bare 500."""
from __future__ import annotations

from flask import redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.form_urls import page_of
from app.core.outage import database_down_response, discard_session, is_database_down
from app.core.uploads import size_label, upload_limit_of

MESSAGES = {
    400: (_l("Something was wrong with that request"), _l("Please go back, check what you entered and try again.")),
    403: (_l("Not allowed"),
          _l("Your account does not have access to this page. If you need it, ask your administrator.")),
    404: (_l("Page not found"), _l("That page does not exist, or it was moved.")),
    405: (_l("Not allowed"), _l("That action is not available here.")),
    410: (_l("Link expired"), _l("This link is no longer valid.")),
    413: (_l("Too large"), _l("What you sent is too large. Try a smaller file.")),
    422: (_l("Not done"), _l("That could not be done. Please go back and check what you entered.")),
    429: (_l("Too many attempts"), _l("Please wait a little and try again.")),
    500: (_l("Something went wrong on our side"),
          _l("Nothing you did caused this. Please try again; we have been notified.")),
    503: (_l("Temporarily unavailable"), _l("Please try again in a moment.")),
}


def render_error(code: int, message: str | None = None, *, back_url: str | None = None):
    title, default = MESSAGES.get(code, MESSAGES[500])
    wants_fragment = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    template = "errors/_error.html" if wants_fragment else "errors/error.html"
    return render_template(template, code=code, title=str(title), message=str(message or default),
                           back_url=back_url), code


def _upload_too_large():
    """A body over an upload view's limit (app/core/uploads.py): say how large a file may be and lead
    back to the form (the same address, fetched). Nothing of the body was read, nor is anything
    of the page shown: the access checks did not run, the refusal came first."""
    limit = upload_limit_of(request.endpoint)
    if limit is None or request.method != "POST":
        return None
    return render_error(413, _("A file can be at most %(size)s. Choose a smaller one: a photo taken at a lower "
                               "resolution, or a PDF of fewer pages.", size=size_label(limit)),
                        back_url=request.path)


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("This form had expired or was sent from elsewhere. Reload the page and try again."))

    # A DomainError that no view turned into a message beside a form field. The answer is a 4xx, so
    # the request's work, flushed or not, is rolled back (app/core/transactions.py).
    @app.errorhandler(AccessDenied)
    def access_denied(error):
        # Raised by a service's gate (a chart closed to this person): the refusal is audited there.
        return render_error(403, error.message)

    @app.errorhandler(NotFound)
    def not_found(error):
        return render_error(404)

    @app.errorhandler(DomainError)
    def domain_error(error):
        return render_error(422, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error):
        if is_database_down(error):
            # Something failed outside the handlers (an after-request step, or an error page that
            # needed the database): Flask hands the error over wrapped in a 500.
            return database_down_response(error)
        if error.code == 413:
            return _upload_too_large() or render_error(413)
        if error.code == 405 and request.method in ("GET", "HEAD"):
            page = page_of(request.path)  # a form's POST address, reloaded: its page
            if page is not None:
                return redirect(page, code=303)
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error):
        from sqlalchemy.exc import DataError

        if is_database_down(error):
            return database_down_response(error)
        discard_session()
        if isinstance(error, DataError):
            # The database refused a value (a number out of range, text too long for its column) that a
            # form or query string let through: the request was wrong, not the server. Logged to fix.
            # The class only: the database's message may quote the value, which may be clinical.
            app.logger.warning("value refused by the database on %s %s: %s", request.method, request.path,
                               getattr(error, "orig", error).__class__.__name__)
            return render_error(400)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
