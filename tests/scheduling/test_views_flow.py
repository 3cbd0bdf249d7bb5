"""The day's flow as the desk and the doctor see it: only the steps the state machine allows are
buttons, a second patient "with the doctor" is an explicit choice, and of two clicks the loser is told."""
from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role
from tests.scheduling.conftest import MONDAY, appointment, at


@pytest.fixture
def two_bookings(app, doctor, patient_account, book, freeze):
    """Amani at 09:00 and Baraka at 09:30 on Monday, booked the Friday before: their ids."""
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    first_user, first = patient_account("Amani", "Otieno")
    second_user, second = patient_account("Baraka", "Kiprop")
    return (book(first_user, first.id, doctor.id, at(MONDAY, 9)),
            book(second_user, second.id, doctor.id, at(MONDAY, 9, 30)))


def status_of(app, appointment_id: int) -> str:
    with app.app_context():
        return appointment(appointment_id).status


def row(page: str, appointment_id: int) -> str:
    start = page.index(f'id="appointment-{appointment_id}"')
    return page[start:page.index("</li>", start)]


def doctor_browser(app, doctor):
    from tests.conftest import Browser

    browser = Browser(app.test_client())
    assert browser.login(doctor.email).status_code == 303
    return browser


def test_the_doctor_is_not_offered_start_for_a_patient_who_never_arrived(app, doctor, two_bookings, freeze):
    first_id, _ = two_bookings
    freeze(at(MONDAY, 8, 50))
    browser = doctor_browser(app, doctor)
    booked = row(browser.get("/doctor/appointments/day").get_data(as_text=True), first_id)
    assert "Check in" in booked and "Start visit" not in booked and "Mark done" not in booked
    assert "No-show" not in booked  # not before the grace period is over
    # Posting it anyway (an old page, a crafted form) is refused and changes nothing.
    refused = browser.post(f"/doctor/appointments/{first_id}/start", page="/doctor/", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "This appointment is booked." in refused.get_data(as_text=True)
    assert status_of(app, first_id) == "booked"
    browser.post(f"/doctor/appointments/{first_id}/check-in", page="/doctor/")
    arrived = row(browser.get("/doctor/appointments/day").get_data(as_text=True), first_id)
    assert "Start visit" in arrived and "Mark done" not in arrived


@pytest.mark.parametrize("htmx", [False, True])
def test_starting_a_second_patient_asks_first_and_says_who_is_in(app, doctor, two_bookings, signed_in, freeze, htmx):
    first_id, second_id = two_bookings
    freeze(at(MONDAY, 9, 5))
    desk, _ = signed_in(Role.RECEPTION)
    for appointment_id in (first_id, second_id):
        assert desk.post(f"/reception/appointments/{appointment_id}/check-in", page="/reception/").status_code == 303
    browser = doctor_browser(app, doctor)
    assert browser.post(f"/doctor/appointments/{first_id}/start", page="/doctor/").status_code == 303
    headers = {"HX-Request": "true", "HX-Target": "doctor-day"} if htmx else {}
    asked = browser.post(f"/doctor/appointments/{second_id}/start", page="/doctor/", headers=headers)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and ("<html" in html) != htmx
    assert "Dr Wanjiku Mwangi is already with Amani Otieno (since 09:05)." in html
    assert "Start the visit of Baraka Kiprop (09:30) as well?" in html and 'name="alongside" value="1"' in html
    assert status_of(app, second_id) == "checked_in"  # nothing changed yet
    confirmed = browser.post(f"/doctor/appointments/{second_id}/start", {"alongside": "1"}, page="/doctor/")
    assert confirmed.status_code == 303
    assert status_of(app, second_id) == "in_consultation"


def test_of_two_desks_the_second_check_in_is_told(app, doctor, two_bookings, signed_in, freeze):
    first_id, _ = two_bookings
    freeze(at(MONDAY, 8, 50))
    one, _ = signed_in(Role.RECEPTION)
    other, _ = signed_in(Role.RECEPTION)
    assert one.post(f"/reception/appointments/{first_id}/check-in", page="/reception/").status_code == 303
    late = other.post(f"/reception/appointments/{first_id}/check-in", page="/reception/",
                      headers={"HX-Request": "true", "HX-Target": "clinic-queue"})
    assert late.status_code == 422
    assert "This appointment is already arrived: nothing was changed." in late.get_data(as_text=True)
