"""What records asks about a patient's visits, answered by the domain that books them.

Scheduling depends on records (an appointment is a patient's), so records never imports it: it
names its questions here and create_app registers scheduling's answers (register_hooks). The rules
stay here, in records: access.py decides what counts as a care relationship, scheduling only says
whether such an appointment exists.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

from app.core.clock import clock
from app.core.hooks import Hook


def clinic_today() -> dt.date:
    """Today in the clinic's time zone (a Visit's `day` is a date there)."""
    return clock.now().astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"])).date()


@dataclasses.dataclass(frozen=True)
class Visit:
    """An appointment as records needs it: whose, with whom, when (`day`: the clinic's local date)."""

    id: int
    patient_id: int
    doctor_id: int
    starts_at: dt.datetime
    day: dt.date


# (doctor_id=, patient_id=, since=, until=) -> bool: an appointment of this doctor with this patient,
# not cancelled, starting between since and until (inclusive).
appointment_together = Hook("does this doctor have an appointment with this patient in this window")
# (doctor_id=, since=, until=) -> a SELECT of patient ids: the patients with such an appointment with
# this doctor, to filter a query in SQL (the same condition as appointment_together).
patients_together = Hook("the patients with an appointment with this doctor in this window (a subquery)")
# (doctor_id=, patient_id=, since=, until=) -> [Visit, ...]: those appointments, latest first.
visits_together = Hook("this doctor's appointments with this patient in this window")
# (appointment_id) -> Visit | None
visit_get = Hook("one appointment, as a Visit")
# (patient_id) -> (upcoming, past): the front desk's view of a patient's appointments, nearest first.
patient_appointments = Hook("a patient's upcoming and past appointments")
# ([patient_id, ...]) -> {patient_id: how many appointments they missed}
no_show_counts = Hook("how many appointments each of these patients missed")
