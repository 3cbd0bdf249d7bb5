"""Booking a new appointment, patient side and desk side: once a doctor is chosen, the picker opens on
the first day with free times (as "Move" does), not on an empty today, and marks the days with free
times; a day the person chose stays chosen."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.accounts.models import Role
from tests.scheduling.conftest import MONDAY, TUESDAY, at

WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def booking_pages(app, signed_in, make_patient, freeze):
    """Monday 11:45 (the doctor's last time today has begun): {"patient": (browser, path), "desk": ...},
    each path the booking picker's, to which a query string is added."""
    freeze(at(MONDAY, 11, 45))
    patient_browser, user = signed_in(Role.PATIENT)
    make_patient(user_id=user.id)
    desk_browser, _desk = signed_in(Role.RECEPTION)
    walk_in = make_patient(given_name="Baraka", family_name="Kiprop")
    return {"patient": (patient_browser, "/patient/appointments/book?"),
            "desk": (desk_browser, f"/reception/appointments/book?patient={walk_in.id}&")}


def week_chips(html: str) -> dict[str, str]:
    start = html.index('<nav class="week"')
    week = html[start:html.index("</nav>", start)]
    return dict(re.findall(r'day=(\d{4}-\d\d-\d\d)[^>]*>[^<]*<small>([^<]+)</small>', week))


def current_day(html: str) -> str:
    return re.search(r'day=(\d{4}-\d\d-\d\d)[^"]*"[^>]*aria-current="date"', html).group(1)


@pytest.mark.parametrize("side", ["patient", "desk"])
@pytest.mark.parametrize("htmx", [False, True])
def test_choosing_a_doctor_opens_the_first_day_with_free_times(booking_pages, doctor, side, htmx):
    browser, path = booking_pages[side]
    headers = {"HX-Request": "true", "HX-Target": "slot-picker"} if htmx else {}
    response = browser.get(f"{path}doctor={doctor.id}", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert current_day(html) == TUESDAY.isoformat()  # not today, which has nothing left
    assert "Free times on Tue 02 Mar" in html and 'value="2027-03-02T05:00Z"' in html  # Tuesday 08:00
    chips = week_chips(html)
    assert chips[MONDAY.isoformat()] == "no free time"
    assert chips[TUESDAY.isoformat()] == chips[WEDNESDAY.isoformat()] == "free times"
    assert chips[(MONDAY + dt.timedelta(days=5)).isoformat()] == "no free time"  # Saturday: not working


@pytest.mark.parametrize("side", ["patient", "desk"])
def test_a_chosen_day_stays_chosen_even_without_free_times(booking_pages, doctor, side):
    browser, path = booking_pages[side]
    html = browser.get(f"{path}doctor={doctor.id}&day={MONDAY.isoformat()}").get_data(as_text=True)
    assert current_day(html) == MONDAY.isoformat() and "No free time this day" in html


@pytest.mark.parametrize("side", ["patient", "desk"])
def test_the_doctor_links_carry_a_day_only_once_one_was_chosen(booking_pages, doctor, side):
    """Before a day is chosen, another doctor opens on their own first free day; after, on that day."""
    browser, path = booking_pages[side]
    link = re.compile(r'<a class="chip" href="[^"]*doctor=' + str(doctor.id) + r'[^"]*"')
    listing = browser.get(path.rstrip("?&")).get_data(as_text=True)
    assert "day=" not in link.search(listing).group(0)
    chosen = browser.get(f"{path}doctor={doctor.id}&day={WEDNESDAY.isoformat()}").get_data(as_text=True)
    assert f"day={WEDNESDAY.isoformat()}" in link.search(chosen).group(0)
