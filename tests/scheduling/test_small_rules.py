"""Rules that used to live in views and templates, now asked of the domain: the booking week's window,
the status badges, the hours form's day-off rule."""
from __future__ import annotations

import datetime as dt

import pytest

from app.core.errors import DomainError
from app.scheduling.availability import day_hours
from app.scheduling.models import STATUS_BADGES, STATUS_LABELS, AppointmentStatus
from app.scheduling.slots import MAX_DAYS_AHEAD, booking_week

TODAY = dt.date(2027, 3, 3)  # a Wednesday


def test_the_booking_week_keeps_the_day_inside_the_bookable_window():
    assert booking_week(None, today=TODAY).day == TODAY
    assert booking_week(TODAY - dt.timedelta(days=30), today=TODAY).day == TODAY
    last = TODAY + dt.timedelta(days=MAX_DAYS_AHEAD)
    assert booking_week(TODAY + dt.timedelta(days=400), today=TODAY).day == last


def test_the_booking_week_starts_on_monday_and_offers_only_bookable_weeks():
    week = booking_week(TODAY, today=TODAY)
    assert week.days[0] == dt.date(2027, 3, 1) and len(week.days) == 7
    assert week.prev_week is None  # this week holds today: nothing earlier to book
    assert week.next_week == dt.date(2027, 3, 8)
    later = booking_week(dt.date(2027, 3, 10), today=TODAY)
    assert later.prev_week == dt.date(2027, 3, 1)
    last_week = booking_week(TODAY + dt.timedelta(days=MAX_DAYS_AHEAD), today=TODAY)
    assert last_week.next_week is None


def test_every_status_has_one_label_and_one_badge():
    assert set(STATUS_LABELS) == set(STATUS_BADGES) == set(AppointmentStatus)
    assert AppointmentStatus.CANCELLED.badge == AppointmentStatus.NO_SHOW.badge == "badge-danger"


def test_a_day_off_has_no_hours_and_half_a_day_is_refused_beside_the_end():
    assert day_hours(start=None, end=None, slot_minutes=None) == []
    [hours] = day_hours(start=dt.time(8), end=dt.time(12), slot_minutes=None)
    assert hours.slot_minutes == 15
    with pytest.raises(DomainError) as half:
        day_hours(start=dt.time(8), end=None, slot_minutes=30)
    assert half.value.field == "end"
