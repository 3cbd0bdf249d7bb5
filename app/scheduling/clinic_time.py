"""The clinic's wall clock: hours are set in local time, instants are stored in UTC.

Converting a local date and time to UTC goes through zoneinfo, so a slot on a daylight-saving
day lands at the right instant; a local time that does not exist that day (the hour skipped in
spring) yields None and no slot.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

from app.core.clock import clock


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def local_now() -> dt.datetime:
    return clock.now().astimezone(clinic_zone())


def local_today() -> dt.date:
    return local_now().date()


def to_local(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(clinic_zone())


def local_to_utc(day: dt.date, time: dt.time) -> dt.datetime | None:
    zone = clinic_zone()
    local = dt.datetime.combine(day, time).replace(tzinfo=zone)
    instant = local.astimezone(dt.timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # skipped by a daylight-saving jump
    return instant


def day_bounds_utc(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which the clinic's local `day` starts and ends (23 or 25 h on DST days)."""
    zone = clinic_zone()
    start = dt.datetime.combine(day, dt.time()).replace(tzinfo=zone).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).replace(tzinfo=zone).astimezone(dt.timezone.utc)
    return start, end


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())
