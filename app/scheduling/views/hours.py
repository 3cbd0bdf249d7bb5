"""The hours editor, shared by a doctor (their own) and an administrator (any doctor's)."""
from __future__ import annotations

from flask import abort, flash, redirect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.core.confirm import Ask
from app.core.errors import DomainError, NotFound
from app.core.forms import show_error
from app.core.htmx import render_form
from app.core.i18n import format_day
from app.scheduling import availability, queries
from app.scheduling.forms import WEEKDAYS, ExceptionForm, WeeklyHoursForm
from app.scheduling.models import ExceptionKind


def _page(doctor, urls: dict, *, hours_form=None, exception_form=None, conflicts=None, status=200):
    hours, exceptions = queries.weekly_hours(doctor.id), queries.exceptions_ahead(doctor.id)
    if conflicts is None:
        conflicts = availability.availability_conflicts(doctor_id=doctor.id)
    return render_form("scheduling/hours.html", doctor=doctor, hours=hours, exceptions=exceptions, weekdays=WEEKDAYS,
                       hours_form=hours_form or WeeklyHoursForm(formdata=None),
                       exception_form=exception_form or ExceptionForm(formdata=None),
                       conflicts=conflicts, urls=urls, remove_question=REMOVE_QUESTION,
                       exception_label=_exception_label, status=status)


def _after_change(conflicts, urls):
    if conflicts:
        flash(ngettext("Saved. %(num)d booking is now outside your hours: move or cancel it below.",
                       "Saved. %(num)d bookings are now outside your hours: move or cancel them below.",
                       len(conflicts)), "warning")
    else:
        flash(_("Saved."), "success")
    return redirect(urls["page"], code=303)


def show(doctor, urls):
    return _page(doctor, urls)


def save_hours(doctor, urls):
    form = WeeklyHoursForm()
    if not form.validate_on_submit():
        return _page(doctor, urls, hours_form=form, status=422)
    try:
        intervals = availability.day_hours(start=form.start.data, end=form.end.data,
                                           slot_minutes=form.slot_minutes.data, break_start=form.break_start.data,
                                           break_end=form.break_end.data)
        conflicts = availability.weekly_hours_set(doctor_id=doctor.id, weekday=int(form.weekday.data), intervals=intervals)
    except DomainError as error:
        show_error(form, error)
        return _page(doctor, urls, hours_form=form, status=422)
    return _after_change(conflicts, urls)


def add_exception(doctor, urls):
    form = ExceptionForm()
    if not form.validate_on_submit():
        return _page(doctor, urls, exception_form=form, status=422)
    try:
        conflicts = availability.exception_add(
            doctor_id=doctor.id, kind=ExceptionKind(form.kind.data), first_day=form.first_day.data,
            last_day=form.last_day.data, start=form.start.data, end=form.end.data,
            slot_minutes=form.slot_minutes.data, note=form.note.data or None)
    except DomainError as error:
        show_error(form, error)
        return _page(doctor, urls, exception_form=form, status=422)
    return _after_change(conflicts, urls)


REMOVE_QUESTION = _l("Remove this leave or these extra hours? The times change at once.")


def _exception_label(ex) -> str:
    """What the confirmation names: "Away: 03 Dec 2026 – 05 Dec 2026", "Extra hours: 06 Dec 2026 09:00–12:00"."""
    days = format_day(ex.first_day, "dd MMM y")
    if ex.last_day != ex.first_day:
        days += " – " + format_day(ex.last_day, "dd MMM y")
    if ex.start:
        days += f" {ex.start.strftime('%H:%M')}–{ex.end.strftime('%H:%M')}"
    return f"{_('Away') if ex.kind == 'leave' else _('Extra hours')}: {days}"


def ask_remove_exception(doctor, urls, exception_id: int) -> Ask:
    found = next((ex for ex in queries.exceptions_ahead(doctor.id) if ex.id == exception_id), None)
    if found is None:
        abort(404)  # another doctor's, or gone
    return Ask(question=str(REMOVE_QUESTION), yes=_("Remove"), back=urls["page"], detail=_exception_label(found))


def remove_exception(doctor, urls, exception_id: int):
    try:
        conflicts = availability.exception_remove(doctor_id=doctor.id, exception_id=exception_id)
    except NotFound:
        abort(404)
    return _after_change(conflicts, urls)
