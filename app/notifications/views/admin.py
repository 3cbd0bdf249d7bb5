"""The administrator's outbox review: emails and SMS that failed or may not have gone out."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

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


@bp.route("/<int:notification_id>/retry", methods=["POST"])
def retry(notification_id: int):
    return _act(lambda: services.notification_retry(notification_id=notification_id), _("The message will be sent again."))


@bp.route("/<int:notification_id>/dismiss", methods=["POST"])
def dismiss(notification_id: int):
    return _act(lambda: services.notification_dismiss(notification_id=notification_id), _("The message was dismissed."))
