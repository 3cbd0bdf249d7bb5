"""/visit/<token>: the video appointment's link, as sent to the patient and shown to the doctor.

The token is unguessable and unique per appointment; only that appointment's patient and doctor
may open the page. The video room itself arrives with the consultations domain; until then this
page says when the visit is and who it is with.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role
from app.core.policies import signed_in
from app.extensions import db
from app.scheduling.models import Appointment
from app.scheduling.services import patient_id_for_user

bp = Blueprint("visit", __name__)


@bp.route("/visit/<token>", endpoint="room")
@signed_in
def room(token: str):
    appointment = db.session.execute(
        select(Appointment).where(Appointment.video_token == token)).scalar_one_or_none() if len(token) < 64 else None
    if appointment is None:
        abort(404)
    is_doctor = current_user.role == Role.DOCTOR.value and current_user.id == appointment.doctor_id
    is_patient = (current_user.role == Role.PATIENT.value
                  and patient_id_for_user(current_user.id) == appointment.patient_id)
    if not (is_doctor or is_patient):
        abort(404)
    return render_template("scheduling/visit.html", appointment=appointment, is_doctor=is_doctor)
