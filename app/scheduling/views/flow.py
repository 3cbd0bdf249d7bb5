"""Shared by the desk's and the doctor's pages: apply a step of the day's flow and answer
htmx with the refreshed list, or a plain form post with a redirect."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.errors import DomainError, NotFound
from app.core.htmx import is_htmx_fragment_request
from app.core.request_actor import current_actor
from app.core.transactions import refused
from app.scheduling import services

ACTIONS = {"check-in": "check_in", "start": "start", "complete": "complete", "no-show": "no_show"}
SLUGS = {action: slug for slug, action in ACTIONS.items()}
LABELS = {"check_in": _l("Check in"), "start": _l("Start visit"), "complete": _l("Mark done"), "no_show": _l("No-show")}
DONE = {"check_in": _l("Checked in."), "start": _l("Visit started."), "complete": _l("Marked done."),
        "no_show": _l("Marked as no-show.")}
UNDONE = {"check_in": _l("Check-in undone: booked again."), "no_show": _l("No-show undone: booked again.")}


def buttons_context(*, offered: tuple[str, ...]) -> dict:
    """What a list needs to draw each appointment's flow buttons: the service decides which apply."""

    def actions_for(appointment):
        return [(SLUGS[a], LABELS[a]) for a in
                services.appointment_actions(appointment, role=current_user.role, offered=offered)]

    return {"actions_for": actions_for}


def advance(appointment_id: int, action_slug: str, *, redirect_to: str, fragment: str, fragment_context):
    action = ACTIONS.get(action_slug)
    if action is None:
        abort(404)
    return _step(lambda: services.appointment_advance(actor=current_actor(), appointment_id=appointment_id,
                                                      action=action, alongside=request.form.get("alongside") == "1"),
                 appointment_id, str(DONE[action]), redirect_to=redirect_to, fragment=fragment,
                 fragment_context=fragment_context,
                 # A slip at the desk is taken back at once: the undo address is the step's own, plus /undo.
                 undo_url=f"{request.path}/undo" if action in services.UNDO else None)


def undo(appointment_id: int, action_slug: str, *, redirect_to: str, fragment: str, fragment_context):
    """Take back a check-in or a no-show (the service decides whether it still can)."""
    action = ACTIONS.get(action_slug)
    if action not in services.UNDO:
        abort(404)
    return _step(lambda: services.appointment_undo(actor=current_actor(), appointment_id=appointment_id,
                                                   action=action),
                 appointment_id, str(UNDONE[action]), redirect_to=redirect_to, fragment=fragment,
                 fragment_context=fragment_context)


def _step(work, appointment_id: int, done: str, *, redirect_to: str, fragment: str, fragment_context,
          undo_url: str | None = None):
    message, category = done, "success"
    try:
        work()
    except NotFound:
        abort(404)
    except services.DoctorWithPatient as busy:
        return _ask_to_start_alongside(appointment_id, busy, redirect_to=redirect_to, fragment=fragment,
                                       fragment_context=fragment_context)
    except DomainError as error:
        message, category, undo_url = error.message, "error", None
    if is_htmx_fragment_request():
        response = render_template(fragment, notice=(message, category), undo_url=undo_url, **fragment_context())
        return response, 200 if category == "success" else 422
    if category == "error":
        return refused(message, redirect_to)
    if undo_url:
        flash({"text": message, "url": undo_url}, "undo")
    else:
        flash(message, category)
    return redirect(redirect_to, code=303)


def _ask_to_start_alongside(appointment_id: int, busy, *, redirect_to: str, fragment: str, fragment_context):
    """The doctor is with someone already: say who, and start this visit only on an explicit second
    click (the same POST with alongside=1). With htmx the question takes the notice's place; without
    JS it is a page of its own. Nothing has changed yet."""
    appointment = services.appointment_for(current_actor(), appointment_id)
    question = {"busy": busy.message, "appointment": appointment, "action_url": request.path,
                "back_url": redirect_to}
    if is_htmx_fragment_request():
        return render_template(fragment, alongside=question, **fragment_context()), 200
    return render_template("scheduling/start_alongside.html", alongside=question), 200


def cancel_page(appointment_id: int, *, done_url):
    """GET: the cancel form; POST: cancel with a reason (the patient is told). `done_url(appointment)`:
    where it goes afterwards, and where "Go back" leads (nothing cancelled)."""

    from app.core.htmx import render_form
    from app.scheduling.forms import CancelForm

    try:
        appointment = services.appointment_for(current_actor(), appointment_id)
    except NotFound:
        abort(404)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.appointment_cancel(actor=current_actor(), appointment_id=appointment_id, reason=form.reason.data)
        except DomainError as error:
            form.reason.errors = list(form.reason.errors) + [error.message]
            return render_form("scheduling/cancel.html", form=form, appointment=appointment,
                               back_url=done_url(appointment), status=422)
        flash(_("Appointment cancelled; the patient has been told."), "success")
        return redirect(done_url(appointment), code=303)
    return render_form("scheduling/cancel.html", form=form, appointment=appointment, back_url=done_url(appointment),
                       status=422 if request.method == "POST" else 200)
