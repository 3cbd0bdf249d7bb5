"""The patient's appointments: book, see, move, cancel."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.confirm import Ask, asks_first
from app.core.errors import DomainError, NotFound
from app.core.htmx import render_page_or_fragment
from app.core.i18n import format_local
from app.core.request_actor import current_actor
from app.core.transactions import refused
from app.scheduling import queries, services
from app.scheduling.clinic_time import to_local
from app.scheduling.forms import CancelForm
from app.scheduling.views import booking
from app.scheduling.views.picker import picker_context, picker_fragment

bp = Blueprint("scheduling", __name__, url_prefix="/appointments")


def _my_patient_id() -> int:
    patient_id = services.patient_id_for_user(current_user.id)
    if patient_id is None:
        abort(404)
    return patient_id


@bp.route("/")
def appointments():
    upcoming, past, cancelled = queries.patient_appointment_lists(_my_patient_id())
    return render_page_or_fragment("scheduling/patient/appointments.html", "scheduling/patient/_appointments.html",
                                   upcoming=upcoming, past=past, cancelled=cancelled)


@bp.route("/book")
def book():
    return render_page_or_fragment("scheduling/patient/book.html", picker_fragment(),
                                   pick_endpoint="patient.scheduling.confirm", picker_endpoint="patient.scheduling.book",
                                   **picker_context(patient_id=_my_patient_id()))


@bp.route("/book/confirm", methods=["GET", "POST"])
def confirm():
    return booking.confirm_page(
        patient_id=_my_patient_id(), patient=None, confirm_endpoint="patient.scheduling.confirm",
        back_endpoint="patient.scheduling.book",
        done=lambda doctor: (_("Your appointment is booked. We sent you a confirmation."),
                             url_for("patient.scheduling.appointments")))


def _ask_cancel(appointment_id: int) -> Ask:
    try:
        appointment = services.appointment_for(current_actor(), appointment_id)
    except NotFound:
        abort(404)
    return Ask(question=_("Cancel your appointment with %(doctor)s?", doctor=appointment.doctor.full_name),
               detail=format_local(to_local(appointment.starts_at), "EEE dd MMM y, HH:mm"), yes=_("Cancel the appointment"),
               no=_("Keep it"), back=url_for("patient.scheduling.appointments"))


@bp.route("/<int:appointment_id>/cancel", methods=["GET", "POST"])
@asks_first(_ask_cancel)
def cancel(appointment_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.appointment_cancel(actor=current_actor(), appointment_id=appointment_id, reason=form.reason.data)
    except NotFound:
        abort(404)
    except DomainError as error:
        return refused(error.message, url_for("patient.scheduling.appointments"))
    flash(_("Your appointment is cancelled."), "success")
    return redirect(url_for("patient.scheduling.appointments"), code=303)


@bp.route("/<int:appointment_id>/move", methods=["GET", "POST"])
def move(appointment_id: int):
    return booking.move_page(appointment_id, endpoint="patient.scheduling.move", done_message=_("Your appointment has moved."),
                             done_url=lambda appointment: url_for("patient.scheduling.appointments"))
