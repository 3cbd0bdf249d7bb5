"""Free slots, computed from availability minus active appointments; cached per doctor and day.

The cache key carries a per-doctor version that every booking, cancellation and change of hours
bumps after commit, so a page built from a stale computation is never served again once the
version has moved on (and entries expire after 5 minutes anyway).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from app.core.clock import clock
from app.extensions import cache, db
from app.scheduling.clinic_time import day_bounds_utc, local_to_utc, to_local, week_start
from app.scheduling.models import (
    ACTIVE_STATUS_VALUES,
    Appointment,
    AvailabilityException,
    ExceptionKind,
    WeeklyHours,
)

CACHE_SECONDS = 300
MAX_DAYS_AHEAD = 90


@dataclasses.dataclass(frozen=True)
class BookingWeek:
    """The week the booking picker shows: the chosen day kept inside the bookable window."""

    day: dt.date
    days: list[dt.date]
    prev_week: dt.date | None
    next_week: dt.date | None


def booking_week(day: dt.date | None, *, today: dt.date) -> BookingWeek:
    last = today + dt.timedelta(days=MAX_DAYS_AHEAD)
    day = min(max(day or today, today), last)
    monday = week_start(day)
    following = monday + dt.timedelta(days=7)
    return BookingWeek(day=day, days=[monday + dt.timedelta(days=i) for i in range(7)],
                       prev_week=monday - dt.timedelta(days=7) if monday > today else None,
                       next_week=following if following <= last else None)


@dataclasses.dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.starts_at < end and start < self.ends_at


@dataclasses.dataclass(frozen=True)
class Interval:
    start: dt.time
    end: dt.time
    slot_minutes: int


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


def _subtract(intervals: list[Interval], start: dt.time, end: dt.time) -> list[Interval]:
    """The intervals with [start, end) taken out of them."""
    result = []
    for iv in intervals:
        if end <= iv.start or start >= iv.end:
            result.append(iv)
            continue
        if iv.start < start:
            result.append(Interval(iv.start, start, iv.slot_minutes))
        if end < iv.end:
            result.append(Interval(end, iv.end, iv.slot_minutes))
    return result


def working_intervals(doctor_id: int, day: dt.date) -> list[Interval]:
    """The doctor's working time on a local date: weekly hours less breaks and leave, plus extra hours."""
    hours = db.session.execute(
        select(WeeklyHours).where(WeeklyHours.doctor_id == doctor_id, WeeklyHours.weekday == day.weekday())
        .order_by(WeeklyHours.start)
    ).scalars().all()
    intervals: list[Interval] = []
    for h in hours:
        parts = [Interval(h.start, h.end, h.slot_minutes)]
        if h.break_start and h.break_end:
            parts = _subtract(parts, h.break_start, h.break_end)
        intervals.extend(parts)
    exceptions = db.session.execute(
        select(AvailabilityException).where(AvailabilityException.doctor_id == doctor_id,
                                            AvailabilityException.first_day <= day,
                                            AvailabilityException.last_day >= day)
    ).scalars().all()
    for ex in exceptions:
        if ex.kind == ExceptionKind.LEAVE.value:
            intervals = [] if ex.start is None else _subtract(intervals, ex.start, ex.end)
    for ex in exceptions:
        if ex.kind == ExceptionKind.EXTRA.value and ex.start is not None:
            intervals = _subtract(intervals, ex.start, ex.end) + [Interval(ex.start, ex.end, ex.slot_minutes or 15)]
    return sorted(intervals, key=lambda iv: iv.start)


def day_slots(doctor_id: int, day: dt.date) -> list[Slot]:
    """Every slot the doctor offers that day, booked or not. A slot lasts its real minutes, even
    across a daylight-saving jump; a local start time that does not exist that day is skipped."""
    slots = []
    for iv in working_intervals(doctor_id, day):
        at, finish = _minutes(iv.start), _minutes(iv.end)
        while at + iv.slot_minutes <= finish:
            start = local_to_utc(day, _time(at))
            if start is not None:
                slots.append(Slot(start, start + dt.timedelta(minutes=iv.slot_minutes)))
            at += iv.slot_minutes
    return sorted(set(slots), key=lambda s: s.starts_at)


def _busy(doctor_id: int, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    start, end = day_bounds_utc(day)
    return db.session.execute(
        select(Appointment.starts_at, Appointment.ends_at).where(
            Appointment.doctor_id == doctor_id, Appointment.starts_at < end, Appointment.ends_at > start,
            Appointment.status.in_(ACTIVE_STATUS_VALUES))
    ).all()


def free_slots(doctor_id: int, day: dt.date) -> list[Slot]:
    """Bookable slots: offered, not taken, not started yet."""

    def compute():
        busy = _busy(doctor_id, day)
        return [(s.starts_at.isoformat(), s.ends_at.isoformat()) for s in day_slots(doctor_id, day)
                if not any(s.overlaps(b_start, b_end) for b_start, b_end in busy)]

    cached = cache.get_or_compute(f"doctor:{doctor_id}", f"slots:{doctor_id}:{day.isoformat()}", CACHE_SECONDS, compute)
    now = clock.now()
    slots = [Slot(dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for a, b in cached]
    return [s for s in slots if s.starts_at > now]


def _patient_busy(patient_id: int, first: dt.date, last: dt.date,
                  except_id: int | None) -> list[tuple[dt.datetime, dt.datetime]]:
    query = select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.patient_id == patient_id, Appointment.starts_at < day_bounds_utc(last)[1],
        Appointment.ends_at > day_bounds_utc(first)[0], Appointment.status.in_(ACTIVE_STATUS_VALUES))
    if except_id is not None:
        query = query.where(Appointment.id != except_id)
    return db.session.execute(query).all()


def _clear_of(slots: list[Slot], busy: list[tuple[dt.datetime, dt.datetime]]) -> list[Slot]:
    return [s for s in slots if not any(s.overlaps(start, end) for start, end in busy)]


def patient_free_slots(doctor_id: int, day: dt.date, *, patient_id: int,
                       moving_id: int | None = None) -> list[Slot]:
    """The doctor's free slots that the patient can take: none at the time of one of their own
    bookings, with any doctor (booking would refuse it). `moving_id`: the appointment being moved,
    whose time is not in the way."""
    return _clear_of(free_slots(doctor_id, day), _patient_busy(patient_id, day, day, moving_id))


def days_with_free_time(doctor_id: int, days: list[dt.date], *, today: dt.date, patient_id: int | None = None,
                        moving_id: int | None = None) -> set[dt.date]:
    """Which of `days` (a picker's week) still have a free slot (for the patient, when given): the
    day buttons mark them."""
    days = [d for d in days if today <= d <= today + dt.timedelta(days=MAX_DAYS_AHEAD)]
    busy = _patient_busy(patient_id, days[0], days[-1], moving_id) if patient_id is not None and days else []
    return {d for d in days if _clear_of(free_slots(doctor_id, d), busy)}


def first_day_with_free_time(doctor_id: int, *, today: dt.date, within_days: int = 28, patient_id: int | None = None,
                             moving_id: int | None = None) -> dt.date | None:
    """The first day from `today` with a free slot (one the patient can take, when given), looking
    `within_days` ahead (each day's slots are cached)."""
    last = today + dt.timedelta(days=min(within_days, MAX_DAYS_AHEAD))
    busy = _patient_busy(patient_id, today, last, moving_id) if patient_id is not None else []
    for offset in range((last - today).days + 1):
        day = today + dt.timedelta(days=offset)
        if _clear_of(free_slots(doctor_id, day), busy):
            return day
    return None


def walk_in_slot(doctor_id: int, now: dt.datetime) -> Slot | None:
    """Where a walk-in fits today: the slot under way if nobody has it, else the next free one."""
    day = to_local(now).date()
    busy = _busy(doctor_id, day)
    for slot in day_slots(doctor_id, day):
        if slot.ends_at > now and not any(slot.overlaps(start, end) for start, end in busy):
            return slot
    return None


def slots_invalidate(doctor_id: int) -> None:
    cache.bump(f"doctor:{doctor_id}")


def nearest_free_slots(doctor_id: int, around: dt.datetime, day: dt.date, *, count: int = 3) -> list[Slot]:
    """The free slots closest in time to `around`, looking at that day and the next few."""
    candidates: list[Slot] = []
    for offset in range(0, 7):
        candidates.extend(free_slots(doctor_id, day + dt.timedelta(days=offset)))
        if len(candidates) >= count * 3:
            break
    return sorted(candidates, key=lambda s: abs((s.starts_at - around).total_seconds()))[:count]
