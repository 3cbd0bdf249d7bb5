"""Setting a doctor's hours: the weekly template and dated exceptions.

Changing hours never touches an existing booking. After a change, the doctor's future bookings
that fall outside the new hours are returned as conflicts, for the doctor or the desk to move or
cancel by hand.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from app.core.db import on_commit
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.scheduling.clinic_time import local_to_utc, local_today, to_local
from app.scheduling.models import (
    ACTIVE_STATUS_VALUES,
    Appointment,
    AvailabilityException,
    ExceptionKind,
    WeeklyHours,
)
from app.scheduling.slots import slots_invalidate, working_intervals

MIN_SLOT, MAX_SLOT = 5, 240


@dataclasses.dataclass(frozen=True)
class HoursInput:
    start: dt.time
    end: dt.time
    slot_minutes: int
    break_start: dt.time | None = None
    break_end: dt.time | None = None


def day_hours(*, start: dt.time | None, end: dt.time | None, slot_minutes: int | None,
              break_start: dt.time | None = None, break_end: dt.time | None = None) -> list[HoursInput]:
    """One weekday's hours as typed in the form: none (a day off) or one interval."""
    if start is None and end is None:
        return []
    if start is None or end is None:
        raise DomainError(_("Give both times, or neither to take the day off."), field="end")
    return [HoursInput(start, end, slot_minutes or 15, break_start, break_end)]


def _check_interval(hours: HoursInput) -> None:
    if not MIN_SLOT <= hours.slot_minutes <= MAX_SLOT:
        raise DomainError(_("A slot lasts from %(min)s to %(max)s minutes.", min=MIN_SLOT, max=MAX_SLOT),
                          field="slot_minutes")
    if hours.start >= hours.end:
        raise DomainError(_("The day must end after it starts."), field="end")
    span = (dt.datetime.combine(dt.date.min, hours.end) - dt.datetime.combine(dt.date.min, hours.start)).seconds // 60
    if hours.slot_minutes > span:
        raise DomainError(_("Not even one slot fits between these times."), field="slot_minutes")
    if (hours.break_start is None) != (hours.break_end is None):
        raise DomainError(_("Give both the start and the end of the break."), field="break_end")
    if hours.break_start is not None:
        if not hours.start < hours.break_start < hours.break_end < hours.end:
            raise DomainError(_("The break must lie inside the working hours."), field="break_start")


def weekly_hours_set(*, doctor_id: int, weekday: int, intervals: list[HoursInput]) -> list[Appointment]:
    """Replace the doctor's hours on one weekday; returns the future bookings now outside them."""
    if not 0 <= weekday <= 6:
        raise DomainError(_("Choose a day of the week."), field="weekday")
    for hours in intervals:
        _check_interval(hours)
    ordered = sorted(intervals, key=lambda h: h.start)
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:
            first, second = (f"{h.start:%H:%M}–{h.end:%H:%M}" for h in (before, after))
            raise DomainError(_("%(first)s overlaps %(second)s.", first=first, second=second), field="start")
    db.session.execute(delete(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id, WeeklyHours.weekday == weekday))
    for hours in ordered:
        db.session.add(WeeklyHours(doctor_id=doctor_id, weekday=weekday, **dataclasses.asdict(hours)))
    db.session.flush()
    on_commit(db.session, lambda: slots_invalidate(doctor_id))
    return availability_conflicts(doctor_id=doctor_id)


# Leave and extra hours are planned at most this far ahead (a year 9999 is a typo).
PLANNING_HORIZON = dt.timedelta(days=2 * 366)


def exception_add(*, doctor_id: int, kind: ExceptionKind, first_day: dt.date, last_day: dt.date | None = None,
                  start: dt.time | None = None, end: dt.time | None = None, slot_minutes: int | None = None,
                  note: str | None = None) -> list[Appointment]:
    last_day = last_day or first_day
    if last_day < first_day:
        raise DomainError(_("The last day comes before the first."), field="last_day")
    if first_day < local_today():
        raise DomainError(_("That date has passed."), field="first_day")
    if first_day > local_today() + PLANNING_HORIZON:
        raise DomainError(_("Enter a date within the next two years."), field="first_day")
    if (last_day - first_day).days > 366:
        raise DomainError(_("Enter at most a year at a time."), field="last_day")
    if (start is None) != (end is None):
        raise DomainError(_("Give both times, or neither for the whole day."), field="end")
    if start is not None and start >= end:
        raise DomainError(_("The end must come after the start."), field="end")
    if kind == ExceptionKind.EXTRA:
        if start is None:
            raise DomainError(_("Extra hours need a start and an end time."), field="start")
        _check_interval(HoursInput(start, end, slot_minutes or 15))
        slot_minutes = slot_minutes or 15
    db.session.add(AvailabilityException(doctor_id=doctor_id, kind=kind.value, first_day=first_day, last_day=last_day,
                                         start=start, end=end, slot_minutes=slot_minutes, note=note))
    db.session.flush()
    on_commit(db.session, lambda: slots_invalidate(doctor_id))
    return availability_conflicts(doctor_id=doctor_id)


def exception_remove(*, doctor_id: int, exception_id: int) -> list[Appointment]:
    found = db.session.execute(
        select(AvailabilityException).where(AvailabilityException.id == exception_id,
                                            AvailabilityException.doctor_id == doctor_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(_("No such exception."))
    db.session.delete(found)
    db.session.flush()
    on_commit(db.session, lambda: slots_invalidate(doctor_id))
    return availability_conflicts(doctor_id=doctor_id)


def availability_conflicts(*, doctor_id: int, horizon_days: int = 120) -> list[Appointment]:
    """Future active appointments that are not on one of the doctor's current slots."""
    from app.core.clock import clock

    now = clock.now()
    upcoming = db.session.execute(
        select(Appointment).where(Appointment.doctor_id == doctor_id, Appointment.starts_at >= now,
                                  Appointment.starts_at < now + dt.timedelta(days=horizon_days),
                                  Appointment.status.in_(ACTIVE_STATUS_VALUES))
        .order_by(Appointment.starts_at).options(selectinload(Appointment.patient))
    ).scalars().all()
    hours_by_day: dict[dt.date, list] = {}
    conflicts = []
    for appointment in upcoming:
        day = to_local(appointment.starts_at).date()
        if day not in hours_by_day:
            hours_by_day[day] = [(local_to_utc(day, iv.start), local_to_utc(day, iv.end))
                                 for iv in working_intervals(doctor_id, day)]
        if not any(s and e and s <= appointment.starts_at and appointment.ends_at <= e for s, e in hours_by_day[day]):
            conflicts.append(appointment)
    return conflicts
