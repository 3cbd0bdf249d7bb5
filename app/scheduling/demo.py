"""Demo data for scheduling: hours for every doctor, today's clinic in every state, video visits,
a history with no-shows. Rows are written directly (the booking rules refuse times in the past)."""
from __future__ import annotations

import datetime as dt
import random
import secrets

from app.core.clock import clock
from app.extensions import db
from app.scheduling.availability import HoursInput, weekly_hours_set
from app.scheduling.clinic_time import local_to_utc, local_today
from app.scheduling.models import Appointment, AppointmentStatus, VisitMode

S = AppointmentStatus
REASONS = ["Follow-up of blood pressure", "Cough and fever for three days", "Review of test results",
           "Headache", "Diabetes check", "Skin rash", "Antenatal visit", "Repeat prescription"]


def _slot(doctor_index: int) -> int:
    return 20 if doctor_index == 0 else (15, 20, 30, 20)[doctor_index % 4]


def _at(start: dt.time, minutes: int) -> dt.time:
    return (dt.datetime.combine(dt.date.min, start) + dt.timedelta(minutes=minutes)).time()


def _hours_for(doctor_index: int) -> dict[int, HoursInput]:
    """The main demo doctor works every day (so today always has a clinic); the others Mon–Fri."""
    t = dt.time
    if doctor_index == 0:
        return {d: HoursInput(t(8), t(18), 20, t(13), t(14)) for d in range(7)}
    slot = _slot(doctor_index)
    days = {d: HoursInput(t(8, 30), t(17), slot, t(12, 30), t(13, 30)) for d in range(5)}
    if doctor_index % 2:
        days[5] = HoursInput(t(9), t(13), slot)
    return days


def _add(doctor_id, patient_id, day, start, minutes, status, *, mode=VisitMode.IN_PERSON, created=None):
    starts_at = local_to_utc(day, start)
    appointment = Appointment(
        doctor_id=doctor_id, patient_id=patient_id, starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes), status=status.value, mode=mode.value,
        reason=random.choice(REASONS), video_token=secrets.token_urlsafe(24) if mode == VisitMode.VIDEO else None,
        created_at=created or (starts_at - dt.timedelta(days=3)),
        reminder_stage=2 if starts_at < clock.now() else 0,
    )
    now = clock.now()
    if status in (S.CHECKED_IN, S.IN_CONSULTATION, S.COMPLETED):
        appointment.checked_in_at = min(now, starts_at)
    if status in (S.IN_CONSULTATION, S.COMPLETED):
        appointment.started_at = min(now, starts_at + dt.timedelta(minutes=2))
    if status == S.COMPLETED:
        appointment.completed_at = min(now, starts_at + dt.timedelta(minutes=minutes))
    db.session.add(appointment)
    return appointment


def seed_scheduling(*, doctors: list, patients: list) -> None:
    random.seed(11)
    for index, doctor in enumerate(doctors):
        for weekday, hours in _hours_for(index).items():
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday, intervals=[hours])
    main, today = doctors[0], local_today()
    t = dt.time
    # Today at the main doctor's clinic, in every state.
    todays = [(t(8), S.COMPLETED), (t(8, 20), S.COMPLETED), (t(8, 40), S.NO_SHOW), (t(9), S.COMPLETED),
              (t(9, 20), S.IN_CONSULTATION), (t(9, 40), S.CHECKED_IN), (t(10), S.CHECKED_IN),
              (t(10, 20), S.BOOKED), (t(10, 40), S.BOOKED), (t(11), S.BOOKED), (t(14), S.BOOKED),
              (t(14, 20), S.BOOKED), (t(15), S.BOOKED)]
    for i, (start, status) in enumerate(todays):
        mode = VisitMode.VIDEO if start in (t(10, 40), t(15)) else VisitMode.IN_PERSON
        _add(main.id, patients[(i + 1) % len(patients)].id, today, start, 20, status, mode=mode)
    # The demo patient: a visit last week (its consultation note is in the chart, app/demo.py), a
    # video visit tomorrow and a clinic visit next week.
    _add(main.id, patients[0].id, today - dt.timedelta(days=7), t(12), 20, S.COMPLETED)
    _add(main.id, patients[0].id, today + dt.timedelta(days=1), t(11), 20, S.BOOKED, mode=VisitMode.VIDEO,
         created=clock.now())
    _add(doctors[1].id, patients[0].id, today + dt.timedelta(days=7 - today.weekday() + 1), t(11, 30),
         _slot(1), S.BOOKED, created=clock.now())
    # The coming days for the other doctors.
    for offset in range(1, 8):
        day = today + dt.timedelta(days=offset)
        if day.weekday() > 4:
            continue
        for j, doctor in enumerate(doctors[1:], start=1):
            slot = _slot(j)
            for k in range(2):
                start = _at(t(8, 30), slot * (2 * k + offset % 3))
                _add(doctor.id, patients[(offset * 8 + j * 2 + k) % len(patients)].id, day, start, slot, S.BOOKED,
                     mode=VisitMode.VIDEO if (offset + k) % 4 == 0 else VisitMode.IN_PERSON)
    # The last weeks: mostly attended, some no-shows (the statistics and the desk's counts).
    for offset in range(1, 22):
        day = today - dt.timedelta(days=offset)
        for j, doctor in enumerate(doctors):
            if day.weekday() > 4 and j:
                continue
            slot = 20 if j == 0 else _slot(j)
            start = _at(t(8) if j == 0 else t(8, 30), slot * 3)
            patient = patients[(offset + j) % len(patients)]
            status = S.NO_SHOW if (offset + j) % 6 == 0 else S.COMPLETED
            _add(doctor.id, patient.id, day, start, slot, status)
    db.session.flush()
