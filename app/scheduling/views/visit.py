"""/visit/<token>: the video appointment's link, as sent to the patient and shown to the doctor.

The token is unguessable and unique per appointment; only that appointment's patient and doctor
may open the page. The video room itself arrives with the consultations domain; until then this
page says when the visit is and who it is with.
"""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.accounts.models import Role
from app.core.policies import signed_in
from app.core.request_args import or_404
from app.scheduling import queries

bp = Blueprint("visit", __name__)


@bp.route("/visit/<token>", endpoint="room")
@signed_in
def room(token: str):
    appointment = or_404(queries.visit_for_member(token=token, user_id=current_user.id, role=current_user.role))
    return render_template("scheduling/visit.html", appointment=appointment,
                           is_doctor=current_user.role == Role.DOCTOR.value)
