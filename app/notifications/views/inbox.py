"""Messages inside MyAfya (a new booking, a cancellation, an arrival): /inbox for every signed-in user."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from app.core.policies import signed_in
from app.notifications import services
from app.notifications.links import message_link

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


@bp.route("/")
@signed_in
def messages():
    messages = services.inbox_list(user_id=current_user.id)
    return render_template("notifications/inbox.html",
                           messages=[(m, message_link(m, role=current_user.role)) for m in messages])


@bp.route("/read", methods=["POST"])
@signed_in
def mark_read():
    services.inbox_mark_read(user_id=current_user.id)
    return redirect(url_for("inbox.messages"), code=303)
