"""Scheduling fixtures: a doctor with hours, patients with accounts, a frozen clinic clock.

The clinic runs on Africa/Nairobi (UTC+3, no daylight saving) unless a test builds another app.
(Each test caches under its own Redis prefix: see clean_state in tests/conftest.py.)
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import Role

UTC = dt.timezone.utc
NAIROBI = ZoneInfo("Africa/Nairobi")
MONDAY = dt.date(2027, 3, 1)  # a Monday, in the future of any real clock this suite runs under
TUESDAY = MONDAY + dt.timedelta(days=1)
THURSDAY = MONDAY + dt.timedelta(days=3)


def at(day: dt.date, hour: int, minute: int = 0, zone=NAIROBI) -> dt.datetime:
    """The UTC instant of `day` `hour`:`minute` on the clinic's wall clock."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(UTC)


def hm(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


@pytest.fixture
def own_cache_prefix(app):
    """This test's Redis key prefix (tests/conftest.py gives every test its own)."""
    return app.config["CACHE_PREFIX"]


@pytest.fixture
def freeze():
    from app.core.clock import clock

    def freeze_at(instant: dt.datetime) -> None:
        clock.freeze(instant)

    return freeze_at


@pytest.fixture
def set_hours(app):
    """set_hours(doctor_id, weekday, "08:00", "12:00", slot=30, brk=("10:00", "10:30")) -> conflicts (committed)."""
    from app.extensions import db
    from app.scheduling.availability import HoursInput, weekly_hours_set

    def set_(doctor_id: int, weekday: int, start: str | None = "08:00", end: str | None = "12:00", *, slot: int = 30,
             brk: tuple[str, str] | None = None) -> list[int]:
        with app.app_context():
            intervals = [] if start is None else [
                HoursInput(hm(start), hm(end), slot, hm(brk[0]) if brk else None, hm(brk[1]) if brk else None)]
            conflicts = weekly_hours_set(doctor_id=doctor_id, weekday=weekday, intervals=intervals)
            ids = [a.id for a in conflicts]
            db.session.commit()
            return ids

    return set_


@pytest.fixture
def doctor(make_user, set_hours):
    """A doctor working Monday to Friday 08:00–12:00 (clinic time) in 30-minute slots."""
    user = make_user(Role.DOCTOR, full_name="Dr Wanjiku Mwangi")
    for weekday in range(5):
        set_hours(user.id, weekday)
    return user


@pytest.fixture
def patient_account(make_user, make_patient):
    """patient_account(name) -> (user, patient): a patient who signs in, with email and phone."""
    counter = iter(range(1, 10_000))

    def make(given_name: str = "Amani", family_name: str = "Otieno", phone: str | None = "+254712000001"):
        n = next(counter)
        user = make_user(Role.PATIENT, email=f"{given_name.lower()}{n}@patients.test",
                         full_name=f"{given_name} {family_name}")
        patient = make_patient(given_name=given_name, family_name=family_name, phone=phone, user_id=user.id)
        return user, patient

    return make


@pytest.fixture
def book(app):
    """book(user, patient_id, doctor_id, starts_at, **kw) -> appointment id, committed (booked by `user`)."""
    from app.core.actor import Actor
    from app.extensions import db
    from app.scheduling.services import appointment_book

    def book_(user, patient_id: int, doctor_id: int, starts_at: dt.datetime, **kwargs) -> int:
        with app.app_context():
            appointment = appointment_book(actor=Actor.for_user(user), patient_id=patient_id, doctor_id=doctor_id,
                                           starts_at=starts_at, **kwargs)
            db.session.commit()
            return appointment.id

    return book_


def appointment(appointment_id: int):
    """The appointment as the database has it now (call inside an app context)."""
    from app.extensions import db
    from app.scheduling.models import Appointment

    return db.session.get(Appointment, appointment_id, populate_existing=True)


def notifications(**filters) -> list:
    from sqlalchemy import select

    from app.extensions import db
    from app.notifications.models import Notification

    query = select(Notification).order_by(Notification.id)
    for name, value in filters.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.session.execute(query.execution_options(populate_existing=True)).scalars())
