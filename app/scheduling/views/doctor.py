"""The doctor's day and week, live; the visit's flow; the appointment's reason."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, url_for
from flask_login import current_user

from app.core.confirm import asks_first
from app.core.errors import NotFound
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import date_arg
from app.scheduling import queries, services
from app.scheduling.clinic_time import local_today, week_start
from app.scheduling.views import flow, hours

bp = Blueprint("scheduling", __name__, url_prefix="/appointments")


def day_context(day: dt.date | None = None) -> dict:
    day = day or local_today()
    appointments = queries.day_appointments(day, doctor_id=current_user.id)
    return {"day": day, "today": local_today(), "appointments": appointments,
            "waiting": queries.waiting_online([a.id for a in appointments if a.is_video]),
            **flow.buttons_context(offered=("check_in", "start", "complete", "no_show"))}


@bp.route("/day")
def day():
    return render_page_or_fragment("scheduling/doctor/day.html", "scheduling/doctor/_day.html", **day_context(date_arg("day")))


@bp.route("/week")
def week():
    monday = week_start(date_arg("day") or local_today())
    days = [(monday + dt.timedelta(days=i)) for i in range(7)]
    by_day = {d: queries.day_appointments(d, doctor_id=current_user.id) for d in days}
    return render_form("scheduling/doctor/week.html", days=days, by_day=by_day, monday=monday,
                       prev=monday - dt.timedelta(days=7), next=monday + dt.timedelta(days=7), today=local_today())


@bp.route("/<int:appointment_id>")
def detail(appointment_id: int):
    try:
        actor = current_actor()
        appointment = services.appointment_for(actor, appointment_id)
        reason = services.appointment_reason_read(actor=actor, appointment_id=appointment_id)
    except NotFound:
        abort(404)
    return render_form("scheduling/doctor/detail.html", appointment=appointment, reason=reason)


@bp.route("/<int:appointment_id>/cancel", methods=["GET", "POST"])
def cancel(appointment_id: int):
    return flow.cancel_page(appointment_id, done_url=lambda a: url_for("doctor.scheduling.availability"))


@bp.route("/<int:appointment_id>/<action>", methods=["POST"])
def advance(appointment_id: int, action: str):
    return flow.advance(appointment_id, action, redirect_to=url_for("doctor.home"),
                        fragment="scheduling/doctor/_day.html", fragment_context=day_context)


@bp.route("/<int:appointment_id>/<action>/undo", methods=["POST"])
def undo(appointment_id: int, action: str):
    return flow.undo(appointment_id, action, redirect_to=url_for("doctor.home"),
                     fragment="scheduling/doctor/_day.html", fragment_context=day_context)


def _my_hours_urls() -> dict:
    return {"page": url_for("doctor.scheduling.availability"), "hours": url_for("doctor.scheduling.availability_hours"),
            "exceptions": url_for("doctor.scheduling.availability_exceptions"),
            "remove": "doctor.scheduling.availability_exception_remove", "remove_args": {},
            "cancel": "doctor.scheduling.cancel"}


@bp.route("/availability")
def availability():
    return hours.show(current_user, _my_hours_urls())


@bp.route("/availability/hours", methods=["POST"])
def availability_hours():
    return hours.save_hours(current_user, _my_hours_urls())


@bp.route("/availability/exceptions", methods=["POST"])
def availability_exceptions():
    return hours.add_exception(current_user, _my_hours_urls())


@bp.route("/availability/exceptions/<int:exception_id>/delete", methods=["GET", "POST"])
@asks_first(lambda exception_id: hours.ask_remove_exception(current_user, _my_hours_urls(), exception_id))
def availability_exception_remove(exception_id: int):
    return hours.remove_exception(current_user, _my_hours_urls(), exception_id)
