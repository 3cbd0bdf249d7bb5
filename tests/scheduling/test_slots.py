"""Free slots: weekly hours, breaks, leave and extra hours, bookings, the past, daylight saving, the cache."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import Role
from app.core.actor import Actor
from app.extensions import cache, db
from app.scheduling.availability import exception_add
from app.scheduling.clinic_time import to_local
from app.scheduling.models import ExceptionKind
from app.scheduling.services import appointment_cancel
from app.scheduling.slots import free_slots
from tests import conftest as root
from tests.scheduling.conftest import MONDAY, NAIROBI, TUESDAY, UTC, at, hm

LONDON = ZoneInfo("Europe/London")


def local_times(slots, zone=NAIROBI) -> list[str]:
    return [s.starts_at.astimezone(zone).strftime("%H:%M") for s in slots]


@pytest.fixture(autouse=True)
def before_the_week(freeze):
    freeze(at(MONDAY - dt.timedelta(days=2), 10))  # Saturday before


def test_weekly_hours_with_a_break_give_slots_in_the_clinics_zone(app_ctx, make_user, set_hours):
    doctor = make_user(Role.DOCTOR)
    set_hours(doctor.id, MONDAY.weekday(), "08:00", "12:00", slot=30, brk=("10:00", "10:30"))
    slots = free_slots(doctor.id, MONDAY)
    assert local_times(slots) == ["08:00", "08:30", "09:00", "09:30", "10:30", "11:00", "11:30"]
    # Nairobi is UTC+3: the first slot is 05:00 UTC and lasts 30 minutes.
    assert slots[0].starts_at == dt.datetime(2027, 3, 1, 5, 0, tzinfo=UTC)
    assert slots[0].ends_at - slots[0].starts_at == dt.timedelta(minutes=30)
    assert free_slots(doctor.id, TUESDAY) == []  # no hours on Tuesday


def test_a_day_can_hold_two_intervals_of_different_slot_lengths(app_ctx, make_user):
    from app.scheduling.availability import HoursInput, weekly_hours_set

    doctor = make_user(Role.DOCTOR)
    weekly_hours_set(doctor_id=doctor.id, weekday=0, intervals=[
        HoursInput(hm("14:00"), hm("15:00"), 20), HoursInput(hm("08:00"), hm("09:00"), 30)])
    db.session.commit()
    assert local_times(free_slots(doctor.id, MONDAY)) == ["08:00", "08:30", "14:00", "14:20", "14:40"]


def test_leave_for_the_whole_day_and_for_some_hours_removes_slots(app_ctx, doctor):
    exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=MONDAY)
    exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=TUESDAY, start=hm("09:00"), end=hm("10:00"))
    db.session.commit()
    assert free_slots(doctor.id, MONDAY) == []
    assert local_times(free_slots(doctor.id, TUESDAY)) == ["08:00", "08:30", "10:00", "10:30", "11:00", "11:30"]
    wednesday = MONDAY + dt.timedelta(days=2)
    assert len(free_slots(doctor.id, wednesday)) == 8  # untouched


def test_leave_over_several_days(app_ctx, doctor):
    exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=MONDAY, last_day=MONDAY + dt.timedelta(days=2))
    db.session.commit()
    assert [len(free_slots(doctor.id, MONDAY + dt.timedelta(days=i))) for i in range(4)] == [0, 0, 0, 8]


def test_extra_hours_add_slots(app_ctx, doctor):
    saturday = MONDAY + dt.timedelta(days=5)
    assert free_slots(doctor.id, saturday) == []
    exception_add(doctor_id=doctor.id, kind=ExceptionKind.EXTRA, first_day=saturday, start=hm("09:00"), end=hm("10:00"),
                  slot_minutes=20)
    exception_add(doctor_id=doctor.id, kind=ExceptionKind.EXTRA, first_day=MONDAY, start=hm("14:00"), end=hm("15:00"),
                  slot_minutes=30)
    db.session.commit()
    assert local_times(free_slots(doctor.id, saturday)) == ["09:00", "09:20", "09:40"]
    assert local_times(free_slots(doctor.id, MONDAY))[-3:] == ["11:30", "14:00", "14:30"]


def test_booked_slots_are_not_free(app_ctx, doctor, patient_account, book):
    user, patient = patient_account()
    before = free_slots(doctor.id, MONDAY)
    book(user, patient.id, doctor.id, at(MONDAY, 9))
    after = free_slots(doctor.id, MONDAY)
    assert local_times(after) == [t for t in local_times(before) if t != "09:00"]


def test_slots_in_the_past_are_not_offered(app_ctx, doctor, freeze):
    freeze(at(MONDAY, 9, 10))
    assert local_times(free_slots(doctor.id, MONDAY)) == ["09:30", "10:00", "10:30", "11:00", "11:30"]
    freeze(at(MONDAY, 9, 30))  # a slot starting right now is no longer bookable
    assert local_times(free_slots(doctor.id, MONDAY))[0] == "10:00"
    freeze(at(MONDAY, 13))
    assert free_slots(doctor.id, MONDAY) == []


# -- daylight saving -------------------------------------------------------------------------------------

@pytest.fixture
def london(database_url, redis_url, own_cache_prefix):
    """An app for a clinic in London; the conftest rebinds the shared services afterwards."""
    from app import create_app

    return create_app(root.test_settings(database_url, redis_url, CLINIC_TIMEZONE="Europe/London",
                                    CACHE_PREFIX=own_cache_prefix))


@pytest.mark.parametrize("day, first_utc", [
    (dt.date(2027, 3, 28), dt.datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),    # spring forward: BST, UTC+1
    (dt.date(2027, 10, 31), dt.datetime(2027, 10, 31, 8, 0, tzinfo=UTC)),  # fall back: GMT, UTC+0
    (dt.date(2027, 3, 27), dt.datetime(2027, 3, 27, 8, 0, tzinfo=UTC)),    # the day before: still GMT
])
def test_slots_land_on_the_right_instant_across_daylight_saving(london, make_user, set_hours, freeze, day, first_utc):
    freeze(dt.datetime(2027, 3, 20, 12, tzinfo=UTC))
    doctor = make_user(Role.DOCTOR)
    set_hours(doctor.id, day.weekday(), "08:00", "12:00", slot=30)
    with london.app_context():
        slots = free_slots(doctor.id, day)
        assert slots[0].starts_at == first_utc
        assert local_times(slots, LONDON) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
        assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=30) for s in slots)


def test_the_hour_skipped_in_spring_offers_no_slot(london, make_user, set_hours, freeze):
    freeze(dt.datetime(2027, 3, 20, 12, tzinfo=UTC))
    doctor = make_user(Role.DOCTOR)
    day = dt.date(2027, 3, 28)
    set_hours(doctor.id, day.weekday(), "00:00", "04:00", slot=30)
    with london.app_context():
        slots = free_slots(doctor.id, day)
        assert local_times(slots, LONDON) == ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]
        assert all(a.ends_at <= b.starts_at for a, b in zip(slots, slots[1:]))  # no two overlap


def test_pages_show_clinic_local_times_on_a_daylight_saving_day(london, make_user, make_patient, set_hours, freeze):
    freeze(dt.datetime(2027, 3, 20, 12, tzinfo=UTC))
    doctor = make_user(Role.DOCTOR, full_name="Dr London")
    day = dt.date(2027, 3, 28)
    set_hours(doctor.id, day.weekday(), "08:00", "12:00", slot=30)
    user = make_user(Role.PATIENT)
    make_patient(user_id=user.id, phone="+447911123456")
    browser = root.Browser(london.test_client())
    assert browser.login(user.email).status_code == 303
    page = browser.get(f"/patient/appointments/book?doctor={doctor.id}&day={day.isoformat()}").get_data(as_text=True)
    assert 'value="2027-03-28T07:00Z">08:00</button>' in page
    response = browser.post("/patient/appointments/book/confirm", {
        "doctor_id": str(doctor.id), "starts_at": "2027-03-28T07:00:00+00:00", "idempotency_key": "k" * 24,
        "mode": "in_person"}, page=f"/patient/appointments/book/confirm?doctor={doctor.id}&start=2027-03-28T07:00:00%2B00:00")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    listing = browser.get("/patient/appointments/").get_data(as_text=True)
    assert "Sun 28 Mar 2027, 08:00" in listing


# -- the cache ---------------------------------------------------------------------------------------------

def _cached_keys(prefix: str) -> list[str]:
    return [k.decode() if isinstance(k, bytes) else k for k in cache.redis.scan_iter(f"{prefix}slots:*")]


def test_free_slots_are_cached_in_redis(app_ctx, doctor, own_cache_prefix):
    assert cache.redis is not None
    free_slots(doctor.id, MONDAY)
    assert _cached_keys(own_cache_prefix), "free slots were not cached in Redis"


def test_a_booking_invalidates_the_cached_slots(app_ctx, doctor, patient_account):
    from app.scheduling.services import appointment_book

    user, patient = patient_account()
    assert at(MONDAY, 9) in [s.starts_at for s in free_slots(doctor.id, MONDAY)]
    appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id, starts_at=at(MONDAY, 9))
    db.session.commit()
    assert at(MONDAY, 9) not in [s.starts_at for s in free_slots(doctor.id, MONDAY)]


def test_a_cancellation_invalidates_the_cached_slots(app_ctx, doctor, patient_account, book):
    user, patient = patient_account()
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    assert at(MONDAY, 9) not in [s.starts_at for s in free_slots(doctor.id, MONDAY)]
    appointment_cancel(actor=Actor.for_user(user), appointment_id=appointment_id)
    db.session.commit()
    assert at(MONDAY, 9) in [s.starts_at for s in free_slots(doctor.id, MONDAY)]


def test_a_change_of_hours_or_leave_invalidates_the_cached_slots(app_ctx, doctor, set_hours):
    assert len(free_slots(doctor.id, MONDAY)) == 8
    set_hours(doctor.id, 0, "08:00", "10:00", slot=30)
    assert local_times(free_slots(doctor.id, MONDAY)) == ["08:00", "08:30", "09:00", "09:30"]
    exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=MONDAY)
    db.session.commit()
    assert free_slots(doctor.id, MONDAY) == []


def test_a_rolled_back_change_leaves_the_cache_alone(app_ctx, doctor, patient_account):
    """The invalidation waits for the commit; a booking that rolled back never hid a slot."""
    from app.scheduling.services import appointment_book

    user, patient = patient_account()
    appointment_book(actor=Actor.for_user(user), patient_id=patient.id, doctor_id=doctor.id, starts_at=at(MONDAY, 9))
    db.session.rollback()
    assert at(MONDAY, 9) in [s.starts_at for s in free_slots(doctor.id, MONDAY)]


def test_slot_instants_are_aware_utc(app_ctx, doctor):
    slot = free_slots(doctor.id, MONDAY)[0]
    assert slot.starts_at.utcoffset() == dt.timedelta(0)
    assert to_local(slot.starts_at).tzinfo is not None
