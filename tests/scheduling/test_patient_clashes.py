"""The picker offers a patient only times they can take: none that clashes with one of their own
bookings, with any doctor (issue 12 item 10: it offered them, only to refuse them on the next page)."""
from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role
from app.scheduling.slots import days_with_free_time, free_slots, patient_free_slots
from tests.scheduling.conftest import MONDAY, NAIROBI, TUESDAY, at


def local_times(slots) -> list[str]:
    return [s.starts_at.astimezone(NAIROBI).strftime("%H:%M") for s in slots]


@pytest.fixture
def second_doctor(make_user, set_hours):
    """Another doctor, Monday 08:30-10:30 in 20-minute slots, and Tuesday 09:00-09:30 only."""
    user = make_user(Role.DOCTOR, full_name="Dr Otieno Kamau")
    set_hours(user.id, MONDAY.weekday(), "08:30", "10:30", slot=20)
    set_hours(user.id, TUESDAY.weekday(), "09:00", "09:30", slot=30)
    return user


@pytest.fixture(autouse=True)
def before_the_week(freeze):
    freeze(at(MONDAY - dt.timedelta(days=2), 10))


def test_times_that_overlap_the_patients_own_booking_are_not_offered_to_them(app_ctx, doctor, second_doctor,
                                                                               patient_account, book):
    user, patient = patient_account()
    book(user, patient.id, doctor.id, at(MONDAY, 9))  # 09:00-09:30 with the first doctor
    everyone = ["08:30", "08:50", "09:10", "09:30", "09:50", "10:10"]
    assert local_times(free_slots(second_doctor.id, MONDAY)) == everyone
    # 08:50-09:10 and 09:10-09:30 overlap 09:00-09:30; 09:30 starts as it ends.
    assert local_times(patient_free_slots(second_doctor.id, MONDAY, patient_id=patient.id)) == [
        "08:30", "09:30", "09:50", "10:10"]
    _other_user, other = patient_account("Juma", "Ali", phone="+254712000002")
    assert local_times(patient_free_slots(second_doctor.id, MONDAY, patient_id=other.id)) == everyone


def test_moving_an_appointment_offers_the_times_around_it(app_ctx, doctor, second_doctor, patient_account, book):
    user, patient = patient_account()
    moving = book(user, patient.id, doctor.id, at(MONDAY, 9))
    assert local_times(patient_free_slots(second_doctor.id, MONDAY, patient_id=patient.id, moving_id=moving)) == [
        "08:30", "08:50", "09:10", "09:30", "09:50", "10:10"]


def test_a_cancelled_booking_is_not_in_the_way(app_ctx, doctor, second_doctor, patient_account, book):
    from app.core.actor import Actor
    from app.extensions import db
    from app.scheduling.services import appointment_cancel

    user, patient = patient_account()
    booked = book(user, patient.id, doctor.id, at(MONDAY, 9))
    appointment_cancel(actor=Actor.for_user(user), appointment_id=booked, reason="better")
    db.session.commit()
    assert "09:10" in local_times(patient_free_slots(second_doctor.id, MONDAY, patient_id=patient.id))


def test_a_day_whose_only_free_time_clashes_is_not_marked_free_for_the_patient(app_ctx, doctor, second_doctor,
                                                                                  patient_account, book):
    user, patient = patient_account()
    book(user, patient.id, doctor.id, at(TUESDAY, 9))
    week = [MONDAY + dt.timedelta(days=i) for i in range(7)]
    assert days_with_free_time(second_doctor.id, week, today=MONDAY) == {MONDAY, TUESDAY}
    assert days_with_free_time(second_doctor.id, week, today=MONDAY, patient_id=patient.id) == {MONDAY}


def test_the_patients_and_the_desks_pickers_leave_out_the_clashing_times(signed_in, make_user, make_patient, doctor,
                                                                         second_doctor, book):
    browser, user = signed_in(Role.PATIENT)
    patient = make_patient(user_id=user.id)
    book(user, patient.id, doctor.id, at(MONDAY, 9))
    url = f"/patient/appointments/book?doctor={second_doctor.id}&day={MONDAY.isoformat()}"
    page = browser.get(url).get_data(as_text=True)
    assert 'value="2027-03-01T05:30Z"' in page           # 08:30 in Nairobi
    assert 'value="2027-03-01T05:50Z"' not in page       # 08:50: overlaps the patient's 09:00
    assert 'value="2027-03-01T06:10Z"' not in page       # 09:10: likewise
    fragment = browser.get(url, headers={"HX-Request": "true", "HX-Target": "day-slots"}).get_data(as_text=True)
    assert 'value="2027-03-01T05:50Z"' not in fragment and 'value="2027-03-01T06:30Z"' in fragment

    desk, _desk_user = signed_in(Role.RECEPTION)
    page = desk.get(f"/reception/appointments/book?patient={patient.id}&doctor={second_doctor.id}"
                    f"&day={MONDAY.isoformat()}").get_data(as_text=True)
    assert 'value="2027-03-01T05:30Z"' in page and 'value="2027-03-01T05:50Z"' not in page
