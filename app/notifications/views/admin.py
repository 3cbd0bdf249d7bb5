"""The administrator's outbox review: emails and SMS that failed or may not have gone out."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.core.confirm import Ask, asks_first
from app.core.errors import DomainError, NotFound
from app.core.transactions import refused
from app.notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/outbox")


@bp.route("/")
def outbox():
    return render_template("notifications/admin/outbox.html", rows=services.outbox_review_list())


def _act(action, done: str):
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:  # e.g. the second of a double click: the first already did it
        return refused(error.message, url_for("admin.notifications.outbox"))
    flash(done, "success")
    return redirect(url_for("admin.notifications.outbox"), code=303)


def _ask_retry(notification_id: int) -> Ask | None:
    if services.outbox_review_status(notification_id=notification_id) != "uncertain":
        return None  # it failed: sending again cannot send it twice
    return Ask(question=_("It may already have arrived. Send it again?"), yes=_("Send again"),
               back=url_for("admin.notifications.outbox"))


def _ask_dismiss(notification_id: int) -> Ask | None:
    if services.outbox_review_status(notification_id=notification_id) is None:
        return None  # nothing to dismiss: the view says so
    return Ask(question=_("Dismiss this message? It will not be sent."), yes=_("Dismiss"),
               back=url_for("admin.notifications.outbox"))


@bp.route("/<int:notification_id>/retry", methods=["GET", "POST"])
@asks_first(_ask_retry)
def retry(notification_id: int):
    return _act(lambda: services.notification_retry(notification_id=notification_id), _("The message will be sent again."))


@bp.route("/<int:notification_id>/dismiss", methods=["GET", "POST"])
@asks_first(_ask_dismiss)
def dismiss(notification_id: int):
    return _act(lambda: services.notification_dismiss(notification_id=notification_id), _("The message was dismissed."))
