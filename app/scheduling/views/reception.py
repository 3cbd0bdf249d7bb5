"""The front desk: today's queue, booking, moving and cancelling on a patient's behalf, arrivals
and no-shows."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import instant_value
from app.core.transactions import refused
from app.records.services import patient_get
from app.scheduling import queries, services
from app.scheduling.clinic_time import local_today, to_local
from app.scheduling.views import booking, flow
from app.scheduling.views.picker import picker_context, picker_fragment

bp = Blueprint("scheduling", __name__, url_prefix="/appointments")


def queue_context() -> dict:
    today = local_today()
    columns = queries.clinic_queue(today)
    patient_ids = [a.patient_id for _, _, items in columns for a in items]
    video_ids = [a.id for _, _, items in columns for a in items if a.is_video]
    return {"today": today, "columns": columns, "no_shows": queries.no_show_counts(patient_ids),
            "waiting": queries.waiting_online(video_ids),
            **flow.buttons_context(offered=("check_in", "no_show"))}


@bp.route("/queue")
def queue():
    return render_page_or_fragment("scheduling/reception/queue.html", "scheduling/reception/_queue.html", **queue_context())


def _patient_or_404(patient_id):
    if patient_id is None:
        abort(400)
    try:
        return patient_get(patient_id)
    except NotFound:
        abort(404)


@bp.route("/book")
def book():
    patient = _patient_or_404(request.args.get("patient", type=int))
    return render_page_or_fragment("scheduling/reception/book.html", picker_fragment(), patient=patient,
                                   pick_endpoint="reception.scheduling.confirm", picker_endpoint="reception.scheduling.book",
                                   picker_args={"patient": patient.id}, **picker_context(patient_id=patient.id))


@bp.route("/book/confirm", methods=["GET", "POST"])
def confirm():
    patient = _patient_or_404(request.args.get("patient", type=int))
    return booking.confirm_page(
        patient_id=patient.id, patient=patient, confirm_endpoint="reception.scheduling.confirm",
        back_endpoint="reception.scheduling.book",
        done=lambda doctor: (_("Booked %(patient)s with %(doctor)s.", patient=patient.full_name,
                               doctor=doctor.full_name),
                             url_for("reception.records.patient", patient_id=patient.id)))


@bp.route("/walk-in", methods=["GET", "POST"])
def walk_in():
    """Step one: who can see this patient today, and when; step two: one of those, booked and arrived."""
    patient = _patient_or_404(request.args.get("patient", type=int))
    here = url_for("reception.scheduling.walk_in", patient=patient.id)
    if request.method == "POST":
        doctor_id = request.form.get("doctor_id", type=int)
        if doctor_id is None:
            abort(400)
        try:
            appointment = services.appointment_walk_in(actor=current_actor(), patient_id=patient.id, doctor_id=doctor_id,
                                                       starts_at=instant_value(request.form.get("starts_at")))
        except NotFound:
            abort(404)
        except DomainError as error:
            return refused(error.message, here)
        flash(_("%(patient)s is checked in for %(doctor)s at %(time)s.", patient=patient.full_name,
                doctor=appointment.doctor.full_name, time=to_local(appointment.starts_at).strftime("%H:%M")), "success")
        return redirect(url_for("reception.home"), code=303)
    return render_form("scheduling/reception/walk_in.html", patient=patient,
                       options=services.walk_in_options(queries.doctors_list()), now=clock.now())


@bp.route("/<int:appointment_id>/<action>", methods=["POST"])
def advance(appointment_id: int, action: str):
    return flow.advance(appointment_id, action, redirect_to=url_for("reception.home"),
                        fragment="scheduling/reception/_queue.html", fragment_context=queue_context)


@bp.route("/<int:appointment_id>/<action>/undo", methods=["POST"])
def undo(appointment_id: int, action: str):
    return flow.undo(appointment_id, action, redirect_to=url_for("reception.home"),
                     fragment="scheduling/reception/_queue.html", fragment_context=queue_context)


@bp.route("/<int:appointment_id>/cancel", methods=["GET", "POST"])
def cancel(appointment_id: int):
    return flow.cancel_page(appointment_id,
                            done_url=lambda a: url_for("reception.records.patient", patient_id=a.patient_id))


@bp.route("/<int:appointment_id>/move", methods=["GET", "POST"])
def move(appointment_id: int):
    return booking.move_page(
        appointment_id, endpoint="reception.scheduling.move", default_reason="moved by the clinic",
        done_message=_("Appointment moved; the patient has been told."),
        done_url=lambda appointment: url_for("reception.records.patient", patient_id=appointment.patient_id))
