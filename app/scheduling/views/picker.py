"""The slot picker shared by the patient's and the desk's booking pages: speciality, doctor,
a week of days, and the chosen day's free times. Every choice is a link (works without
JavaScript); with htmx, each swaps only the picker."""
from __future__ import annotations

import datetime as dt
import secrets

from flask import abort, request

from app.scheduling import queries
from app.scheduling.clinic_time import local_today, week_start
from app.scheduling.slots import MAX_DAYS_AHEAD, free_slots


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        abort(400)


def picker_context() -> dict:
    today = local_today()
    speciality = request.args.get("speciality") or None
    doctor_id = request.args.get("doctor", type=int)
    if _wants_day_slots():
        # The hot path (moving between days): one doctor, no lists.
        doctor = queries.doctor_get(doctor_id) if doctor_id is not None else None
        if doctor is None:
            abort(404)
        doctors, specialities = [], []
    else:
        doctors, specialities = queries.doctors_list(speciality=speciality), queries.specialities()
        doctor = next((d for d in doctors if d.id == doctor_id), None)
        if doctor is None and doctor_id is not None and speciality is None:
            abort(404)
    day = _date_arg("day") or today
    if day < today:
        day = today
    if day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        day = today + dt.timedelta(days=MAX_DAYS_AHEAD)
    monday = week_start(day)
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    return {
        "specialities": specialities, "speciality": speciality, "doctors": doctors, "doctor": doctor,
        "day": day, "days": days, "today": today,
        "prev_week": monday - dt.timedelta(days=7) if monday > today else None,
        "next_week": monday + dt.timedelta(days=7) if monday + dt.timedelta(days=7) <= today + dt.timedelta(days=MAX_DAYS_AHEAD) else None,
        "slots": free_slots(doctor.id, day) if doctor else [],
    }


def _wants_day_slots() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "day-slots"


def picker_fragment() -> str:
    """htmx asking for the day's times alone gets that small fragment; otherwise the whole picker."""
    return "scheduling/_day_slots.html" if _wants_day_slots() else "scheduling/_picker.html"


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


def parse_instant(value: str) -> dt.datetime:
    """A slot's instant from a form or a link: aware, and within a sane range of years (a tampered
    value at the calendar's edge would overflow when converted to UTC or to the clinic's zone)."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        abort(400)
    if instant.tzinfo is None or not 2000 <= instant.year <= 2999:
        abort(400)
    return instant.astimezone(dt.timezone.utc)
