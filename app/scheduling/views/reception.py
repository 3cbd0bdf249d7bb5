"""The front desk: today's queue, booking, moving and cancelling on a patient's behalf, arrivals
and no-shows."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from app.core.errors import DomainError, NotFound
from app.core.htmx import render_form, render_page_or_fragment
from app.extensions import db
from app.records.services import patient_get
from app.scheduling import queries, services
from app.scheduling.clinic_time import local_today
from app.scheduling.forms import BookingForm, MoveForm
from app.scheduling.models import VisitMode
from app.scheduling.views import flow
from app.scheduling.views.picker import new_idempotency_key, parse_instant, picker_context, picker_fragment

bp = Blueprint("scheduling", __name__, url_prefix="/appointments")


def queue_context() -> dict:
    today = local_today()
    columns = queries.clinic_queue(today)
    patient_ids = [a.patient_id for _, _, items in columns for a in items]
    return {"today": today, "columns": columns, "no_shows": queries.no_show_counts(patient_ids)}


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
                                   picker_args={"patient": patient.id}, **picker_context())


@bp.route("/book/confirm", methods=["GET", "POST"])
def confirm():
    patient = _patient_or_404(request.args.get("patient", type=int))
    form = BookingForm()
    if request.method == "GET":
        form.doctor_id.data = request.args.get("doctor", "")
        form.starts_at.data = request.args.get("start", "")
        form.idempotency_key.data = new_idempotency_key()
    doctor_id = request.values.get("doctor_id", type=int) or request.args.get("doctor", type=int)
    doctor = next((d for d in queries.doctors_list() if d.id == doctor_id), None)
    if doctor is None:
        abort(404)
    starts_at = parse_instant(form.starts_at.data or "")
    alternatives = []
    if form.validate_on_submit():
        try:
            services.appointment_book(actor=current_user, patient_id=patient.id, doctor_id=doctor.id,
                                      starts_at=starts_at, mode=VisitMode(form.mode.data), reason=form.reason.data,
                                      idempotency_key=form.idempotency_key.data)
        except services.SlotTaken as taken:
            db.session.rollback()
            form.form_errors.append(taken.message)
            alternatives = taken.alternatives
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            flash(f"Booked {patient.full_name} with {doctor.full_name}.", "success")
            return redirect(url_for("reception.records.patient", patient_id=patient.id), code=303)
    return render_form("scheduling/confirm.html", form=form, doctor=doctor, starts_at=starts_at, patient=patient,
                       alternatives=alternatives, confirm_endpoint="reception.scheduling.confirm",
                       back_endpoint="reception.scheduling.book", status=422 if request.method == "POST" else 200)


@bp.route("/<int:appointment_id>/<action>", methods=["POST"])
def advance(appointment_id: int, action: str):
    return flow.advance(appointment_id, action, redirect_to=url_for("reception.home"),
                        fragment="scheduling/reception/_queue.html", fragment_context=queue_context)


@bp.route("/<int:appointment_id>/cancel", methods=["GET", "POST"])
def cancel(appointment_id: int):
    return flow.cancel_page(appointment_id,
                            done_url=lambda a: url_for("reception.records.patient", patient_id=a.patient_id))


@bp.route("/<int:appointment_id>/move", methods=["GET", "POST"])
def move(appointment_id: int):
    try:
        appointment = services.appointment_for(current_user, appointment_id)
    except NotFound:
        abort(404)
    form = MoveForm()
    if form.validate_on_submit():
        try:
            services.appointment_reschedule(actor=current_user, appointment_id=appointment_id,
                                            starts_at=parse_instant(form.starts_at.data),
                                            doctor_id=int(form.doctor_id.data) if form.doctor_id.data.isdigit() else None,
                                            reason=form.reason.data or "moved by the clinic",
                                            idempotency_key=form.idempotency_key.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("reception.scheduling.move", appointment_id=appointment_id,
                                    doctor=appointment.doctor_id), code=303)
        flash("Appointment moved; the patient has been told.", "success")
        return redirect(url_for("reception.records.patient", patient_id=appointment.patient_id), code=303)
    if request.method == "POST":
        abort(400)
    if "doctor" not in request.args:
        return redirect(url_for("reception.scheduling.move", appointment_id=appointment_id, doctor=appointment.doctor_id))
    return render_page_or_fragment("scheduling/move.html", picker_fragment(), appointment=appointment,
                                   move_form=MoveForm(formdata=None, idempotency_key=new_idempotency_key()),
                                   move_endpoint="reception.scheduling.move", pick_endpoint=None,
                                   picker_endpoint="reception.scheduling.move",
                                   picker_args={"appointment_id": appointment_id}, **picker_context())
