"""The patient's appointments: book, see, move, cancel."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from app.core.errors import DomainError, NotFound
from app.core.htmx import render_form, render_page_or_fragment
from app.extensions import db
from app.scheduling import queries, services
from app.scheduling.forms import BookingForm, CancelForm, MoveForm
from app.scheduling.models import VisitMode
from app.scheduling.views.picker import new_idempotency_key, parse_instant, picker_context, picker_fragment

bp = Blueprint("scheduling", __name__, url_prefix="/appointments")


def _my_patient_id() -> int:
    patient_id = services.patient_id_for_user(current_user)
    if patient_id is None:
        abort(404)
    return patient_id


@bp.route("/")
def appointments():
    upcoming, past = queries.patient_appointments(_my_patient_id())
    return render_form("scheduling/patient/appointments.html", upcoming=upcoming, past=past, cancel_form=CancelForm())


@bp.route("/book")
def book():
    _my_patient_id()
    return render_page_or_fragment("scheduling/patient/book.html", picker_fragment(),
                                   pick_endpoint="patient.scheduling.confirm", picker_endpoint="patient.scheduling.book",
                                   **picker_context())


@bp.route("/book/confirm", methods=["GET", "POST"])
def confirm():
    patient_id = _my_patient_id()
    form = BookingForm()
    if request.method == "GET":
        form.doctor_id.data = request.args.get("doctor", "")
        form.starts_at.data = request.args.get("start", "")
        form.idempotency_key.data = new_idempotency_key()
    doctor_id = request.values.get("doctor_id", type=int) or request.args.get("doctor", type=int)
    starts_at = parse_instant(form.starts_at.data or "")
    doctor = next((d for d in queries.doctors_list() if d.id == doctor_id), None)
    if doctor is None:
        abort(404)
    alternatives = []
    if form.validate_on_submit():
        try:
            services.appointment_book(actor=current_user, patient_id=patient_id, doctor_id=doctor.id, starts_at=starts_at,
                                      mode=VisitMode(form.mode.data), reason=form.reason.data,
                                      idempotency_key=form.idempotency_key.data)
        except services.SlotTaken as taken:
            db.session.rollback()
            form.form_errors.append(taken.message)
            alternatives = taken.alternatives
        except NotFound:
            abort(404)
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            flash("Your appointment is booked. We sent you a confirmation.", "success")
            return redirect(url_for("patient.scheduling.appointments"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_form("scheduling/confirm.html", form=form, doctor=doctor, starts_at=starts_at, alternatives=alternatives,
                       confirm_endpoint="patient.scheduling.confirm", back_endpoint="patient.scheduling.book",
                       patient=None, status=status)


@bp.route("/<int:appointment_id>/cancel", methods=["POST"])
def cancel(appointment_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.appointment_cancel(actor=current_user, appointment_id=appointment_id, reason=form.reason.data)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("patient.scheduling.appointments"), code=303)
    flash("Your appointment is cancelled.", "success")
    return redirect(url_for("patient.scheduling.appointments"), code=303)


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
                                            reason=form.reason.data, idempotency_key=form.idempotency_key.data)
        except NotFound:
            abort(404)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("patient.scheduling.move", appointment_id=appointment_id,
                                    doctor=appointment.doctor_id), code=303)
        flash("Your appointment has moved.", "success")
        return redirect(url_for("patient.scheduling.appointments"), code=303)
    if request.method == "POST":
        abort(400)
    if "doctor" not in request.args:
        return redirect(url_for("patient.scheduling.move", appointment_id=appointment_id, doctor=appointment.doctor_id))
    return render_page_or_fragment("scheduling/move.html", picker_fragment(), appointment=appointment,
                                   move_form=MoveForm(formdata=None, idempotency_key=new_idempotency_key()),
                                   move_endpoint="patient.scheduling.move", pick_endpoint=None,
                                   picker_endpoint="patient.scheduling.move", picker_args={"appointment_id": appointment_id},
                                   **picker_context())
