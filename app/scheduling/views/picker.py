"""The slot picker shared by the patient's and the desk's booking pages: speciality, doctor,
a week of days, and the chosen day's free times. Every choice is a link (works without
JavaScript); with htmx, each swaps only the picker."""
from __future__ import annotations

import secrets

from flask import abort, request

from app.core.request_args import date_arg
from app.scheduling import queries
from app.scheduling.clinic_time import local_today
from app.scheduling.slots import booking_week, days_with_free_time, first_day_with_free_time, patient_free_slots


def picker_context(*, patient_id: int, moving_id: int | None = None) -> dict:
    """The picker for this patient: only times they can take (none clashing with their own bookings,
    other than `moving_id`, the appointment being moved)."""
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
    chosen_day = date_arg("day")
    opening_day = chosen_day
    if opening_day is None and doctor is not None:  # not an empty today: the first day with a free time
        opening_day = first_day_with_free_time(doctor.id, today=today, patient_id=patient_id, moving_id=moving_id)
    window = booking_week(opening_day, today=today)
    return {
        "specialities": specialities, "speciality": speciality, "doctors": doctors, "doctor": doctor,
        "day": window.day, "day_chosen": chosen_day is not None, "days": window.days, "today": today,
        "prev_week": window.prev_week, "next_week": window.next_week,
        "slots": patient_free_slots(doctor.id, window.day, patient_id=patient_id, moving_id=moving_id)
        if doctor else [],
        "free_days": days_with_free_time(doctor.id, window.days, today=today, patient_id=patient_id,
                                         moving_id=moving_id) if doctor else set(),
    }


def _wants_day_slots() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "day-slots"


def picker_fragment() -> str:
    """htmx asking for the day's times alone gets that small fragment; otherwise the whole picker."""
    return "scheduling/_day_slots.html" if _wants_day_slots() else "scheduling/_picker.html"


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)
