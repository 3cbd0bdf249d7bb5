"""Confirming a booking and moving an appointment: the same steps for the patient and the desk,
which differ only in where they go afterwards and what they say."""
from __future__ import annotations

from typing import Callable

from flask import abort, flash, redirect, request, url_for

from app.core.errors import DomainError, NotFound
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import instant_value
from app.core.transactions import refused
from app.scheduling import queries, services
from app.scheduling.clinic_time import to_local
from app.scheduling.forms import BookingForm, MoveForm
from app.scheduling.models import VisitMode
from app.scheduling.views.picker import new_idempotency_key, picker_context, picker_fragment


def confirm_page(*, patient_id: int, patient, confirm_endpoint: str, back_endpoint: str,
                 done: Callable[[object], tuple[str, str]]):
    """GET: the confirmation form for the chosen time; POST: book it. `done(doctor)` -> (message, url)."""
    form = BookingForm()
    if request.method == "GET":
        form.doctor_id.data = request.args.get("doctor", "")
        form.starts_at.data = request.args.get("start", "")
        form.idempotency_key.data = new_idempotency_key()
    doctor_id = request.values.get("doctor_id", type=int) or request.args.get("doctor", type=int)
    doctor = queries.doctor_get(doctor_id) if doctor_id is not None else None
    if doctor is None:
        abort(404)
    starts_at = instant_value(form.starts_at.data or "")
    alternatives = []
    if form.validate_on_submit():
        try:
            services.appointment_book(actor=current_actor(), patient_id=patient_id, doctor_id=doctor.id,
                                      starts_at=starts_at, mode=VisitMode(form.mode.data), reason=form.reason.data,
                                      idempotency_key=form.idempotency_key.data)
        except services.SlotTaken as taken:
            form.form_errors.append(taken.message)
            alternatives = taken.alternatives
        except NotFound:
            abort(404)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            message, url = done(doctor)
            flash(message, "success")
            return redirect(url, code=303)
    return render_form("scheduling/confirm.html", form=form, doctor=doctor, starts_at=starts_at, patient=patient,
                       alternatives=alternatives, confirm_endpoint=confirm_endpoint, back_endpoint=back_endpoint,
                       status=422 if request.method == "POST" else 200)


def move_page(appointment_id: int, *, endpoint: str, done_message: str, done_url: Callable[[object], str],
              default_reason: str | None = None):
    """GET: the picker to choose the new time; POST: move the appointment there."""
    try:
        appointment = services.appointment_for(current_actor(), appointment_id)
    except NotFound:
        abort(404)
    form = MoveForm()
    if form.validate_on_submit():
        try:
            services.appointment_reschedule(actor=current_actor(), appointment_id=appointment_id,
                                            starts_at=instant_value(form.starts_at.data),
                                            doctor_id=int(form.doctor_id.data) if form.doctor_id.data.isdigit() else None,
                                            reason=form.reason.data or default_reason,
                                            idempotency_key=form.idempotency_key.data,
                                            mode=VisitMode(form.mode.data) if form.mode.data else None)
        except NotFound:
            abort(404)
        except DomainError as error:  # the move may have cancelled the old time before the new one failed
            return refused(error.message,
                           url_for(endpoint, appointment_id=appointment_id, doctor=appointment.doctor_id))
        flash(done_message, "success")
        return redirect(done_url(appointment), code=303)
    if request.method == "POST":
        abort(400)
    if "doctor" not in request.args and "speciality" not in request.args:
        # The picker then opens on the doctor's first day with a free time (a speciality chosen in
        # the picker lists its doctors instead).
        return redirect(url_for(endpoint, appointment_id=appointment_id, doctor=appointment.doctor_id))
    if "start" in request.args:
        return _move_confirm(appointment, endpoint=endpoint)
    return render_page_or_fragment("scheduling/move.html", picker_fragment(), appointment=appointment,
                                   move_form=MoveForm(formdata=None, idempotency_key=new_idempotency_key()),
                                   move_endpoint=endpoint, pick_endpoint=None, picker_endpoint=endpoint,
                                   picker_args={"appointment_id": appointment_id},
                                   **picker_context(patient_id=appointment.patient_id, moving_id=appointment.id))


def _move_confirm(appointment, *, endpoint: str):
    """The chosen new time, asked before anything moves: from when to when, with whom, and how
    (in person or by video). Posting this form moves the appointment."""
    doctor = queries.doctor_get(request.args.get("doctor", type=int) or appointment.doctor_id)
    starts_at = instant_value(request.args.get("start", ""))
    if doctor is None:
        abort(404)
    form = MoveForm(formdata=None, starts_at=request.args["start"], doctor_id=str(doctor.id),
                    idempotency_key=new_idempotency_key(), mode=appointment.mode)
    back = url_for(endpoint, appointment_id=appointment.id, doctor=doctor.id, day=to_local(starts_at).date().isoformat())
    return render_form("scheduling/move_confirm.html", appointment=appointment, doctor=doctor, starts_at=starts_at,
                       form=form, move_endpoint=endpoint, back_url=back)
