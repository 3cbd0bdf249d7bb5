"""The administrator's scheduling pages: any doctor's hours, and no-show statistics."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request, url_for

from app.core.clock import clock
from app.core.confirm import asks_first
from app.core.request_args import or_404
from app.scheduling import queries
from app.scheduling.views import flow, hours

bp = Blueprint("scheduling", __name__, url_prefix="/doctors")


def _doctor(doctor_id: int):
    return or_404(queries.doctor_get(doctor_id))


def _urls(doctor_id: int) -> dict:
    return {"page": url_for("admin.scheduling.availability", doctor_id=doctor_id),
            "hours": url_for("admin.scheduling.availability_hours", doctor_id=doctor_id),
            "exceptions": url_for("admin.scheduling.availability_exceptions", doctor_id=doctor_id),
            "remove": "admin.scheduling.availability_exception_remove", "remove_args": {"doctor_id": doctor_id},
            "cancel": "admin.scheduling.cancel"}


@bp.route("/")
def doctors():
    days = request.args.get("days", default=90, type=int)
    days = days if days in (30, 90, 365) else 90
    clinic, per_doctor = queries.no_show_rates(since=clock.now() - dt.timedelta(days=days))
    return render_template("scheduling/admin/doctors.html", doctors=queries.doctors_list(), clinic=clinic,
                           per_doctor=per_doctor, days=days)


@bp.route("/<int:doctor_id>/availability")
def availability(doctor_id: int):
    return hours.show(_doctor(doctor_id), _urls(doctor_id))


@bp.route("/<int:doctor_id>/availability/hours", methods=["POST"])
def availability_hours(doctor_id: int):
    return hours.save_hours(_doctor(doctor_id), _urls(doctor_id))


@bp.route("/<int:doctor_id>/availability/exceptions", methods=["POST"])
def availability_exceptions(doctor_id: int):
    return hours.add_exception(_doctor(doctor_id), _urls(doctor_id))


@bp.route("/<int:doctor_id>/availability/exceptions/<int:exception_id>/delete", methods=["GET", "POST"])
@asks_first(lambda doctor_id, exception_id: hours.ask_remove_exception(_doctor(doctor_id), _urls(doctor_id), exception_id))
def availability_exception_remove(doctor_id: int, exception_id: int):
    return hours.remove_exception(_doctor(doctor_id), _urls(doctor_id), exception_id)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
def cancel(appointment_id: int):
    return flow.cancel_page(appointment_id, done_url=lambda a: url_for("admin.scheduling.availability", doctor_id=a.doctor_id))
