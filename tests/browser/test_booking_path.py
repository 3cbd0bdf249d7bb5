"""The whole appointment path in real browsers: a patient books, the desk checks them in, the
doctor's day updates live (no reload), the doctor sees them and marks the visit done, and the
desk's queue follows. Then the same path with JavaScript off, and the scheduling pages on a phone.

Screenshots go to tests/artifacts/ (gitignored): look at them after a change to these pages.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.core.actor import Actor
from tests.browser.conftest import csp_violations, screenshot, sign_in
from tests.browser.test_layout import PHONE, SMALL_TARGETS_JS, assert_fits_a_phone

pytestmark = pytest.mark.browser

LIVE = 6_000  # ms: how long a live update may take to show


# -- set-up ------------------------------------------------------------------------------------------

@pytest.fixture
def clinic(app, live_server, make_user, make_patient):
    """A doctor who works every day from 00:00 to 23:40 in 20-minute slots (so there are free
    times today whatever the hour), a receptionist, and a patient with an account."""
    from app.core.clock import clock
    from app.extensions import db
    from app.scheduling.availability import HoursInput, weekly_hours_set

    zone = ZoneInfo(live_server.app.config["CLINIC_TIMEZONE"])
    if dt.datetime.now(zone).time() >= dt.time(22, 0):
        # Late in the day, the last slots may be inside the booking notice: run the day at noon (the
        # clean_state fixture unfreezes it).
        clock.freeze(dt.datetime.combine(dt.datetime.now(zone).date(), dt.time(12, 0), tzinfo=zone))
    doctor = make_user(Role.DOCTOR, full_name="Dr. Wanjiru Nyambura-Kamau")
    desk = make_user(Role.RECEPTION, full_name="Achieng Odhiambo")
    account = make_user(Role.PATIENT, email="nyokabi@example.test", full_name="Nyokabi Wanjiku-Mwangi-Onyango")
    patient = make_patient(given_name="Nyokabi", family_name="Wanjiku-Mwangi-Onyango", phone="+254712000101",
                           user_id=account.id)
    with app.app_context():
        for weekday in range(7):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(0, 0), dt.time(23, 40), 20)])
        db.session.commit()
    today = clock.now().astimezone(zone).date()
    return SimpleNamespace(doctor=doctor, desk=desk, account=account, patient=patient, today=today,
                           patient_name="Nyokabi Wanjiku-Mwangi-Onyango")


@pytest.fixture
def new_page(chromium):
    """new_page(viewport=..., java_script_enabled=...) -> a page in a browser context of its own
    (its own cookies: one person each), with page.console_log; all closed after the test."""
    contexts = []

    def make(*, viewport=None, java_script_enabled=True):
        context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 800}, locale="en-GB",
                                       java_script_enabled=java_script_enabled)
        context.set_default_timeout(8_000)
        contexts.append(context)
        page = context.new_page()
        page.console_log = []
        page.on("console", lambda message: page.console_log.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: page.console_log.append(f"pageerror: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()


def wait_until_live(page) -> None:
    """live.js has its socket open and the server's hello received (it marks <body>)."""
    expect(page.locator("body")).to_have_attribute("data-live-state", "open", timeout=LIVE)


def mark_page(page) -> None:
    """Mark the window and the page's heading: a reload loses both, and a (boosted) navigation
    the heading; a live or htmx update of a part of the page neither."""
    page.evaluate("window.__notReloaded = 1; document.querySelector('h1').dataset.marker = '1'")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__notReloaded") == 1, "the page was reloaded"
    assert page.evaluate("document.querySelector('h1').dataset.marker") == "1", "another page was swapped in"


def errors_in(page) -> list[str]:
    return [m for m in page.console_log if m.startswith(("error:", "pageerror:"))] + csp_violations(page.console_log)


def book_first_free_time_today(page, server, c, *, reason: str, js: bool = True) -> str:
    """The patient's booking, as a person does it; returns the chosen time as shown (HH:MM)."""
    page.get_by_role("link", name="Book an appointment").first.click()
    expect(page).to_have_url(re.compile(re.escape(server("/patient/appointments/book")) + r"(\?.*)?$"))
    if js:
        mark_page(page)
    page.locator(".chips a", has_text=c.doctor.full_name).click()
    expect(page.locator(".chips a[aria-current]")).to_contain_text(c.doctor.full_name)
    page.locator(f'nav.week a[href*="day={c.today.isoformat()}"]').click()
    expect(page.locator('nav.week a[aria-current="date"]')).to_have_attribute(
        "href", re.compile(f"day={c.today.isoformat()}"))
    expect(page.get_by_role("heading", name=re.compile("^Free times on"))).to_contain_text(
        c.today.strftime("%a %d %b"))
    if js:  # choosing the doctor and the day swapped the picker alone
        assert_not_reloaded(page)
    first = page.locator(".slots > button").first
    time_shown = first.inner_text().strip()
    first.click()
    expect(page.get_by_role("heading", name="Confirm the appointment")).to_be_visible()
    expect(page.locator("main")).to_contain_text(time_shown)
    expect(page.locator("main")).to_contain_text(c.doctor.full_name)
    page.get_by_label("At the clinic").check()
    page.get_by_label("Reason for the visit (optional)").fill(reason)
    return time_shown


# -- the whole path, three people, live ----------------------------------------------------------------

def test_patient_books_desk_checks_in_doctor_sees_it_live_and_finishes(new_page, live_server, clinic):
    c, server = clinic, live_server
    doctor, desk, patient = new_page(), new_page(), new_page()

    # The doctor has their day open, live, before anything is booked.
    sign_in(doctor, server, c.doctor.email)
    expect(doctor).to_have_url(server("/doctor/"))
    wait_until_live(doctor)
    expect(doctor.locator("#doctor-day")).to_contain_text("No appointments this day.")
    mark_page(doctor)
    screenshot(doctor, "path-1-doctor-empty-day")

    # a. The patient books the first free time today, at the clinic.
    sign_in(patient, server, c.account.email)
    expect(patient).to_have_url(server("/patient/"))
    time_shown = book_first_free_time_today(patient, server, c, reason="Headaches for a week")
    screenshot(patient, "path-2-patient-confirm")
    patient.get_by_role("button", name="Book this time").click()
    expect(patient).to_have_url(server("/patient/appointments/"))
    expect(patient.get_by_role("status")).to_contain_text("Your appointment is booked")
    mine = patient.locator("#my-appointments li[id^=appointment-]")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(time_shown)
    expect(mine).to_contain_text(c.doctor.full_name)
    expect(mine).to_contain_text("Booked")
    screenshot(patient, "path-3-patient-booked")

    # b. The doctor's day shows it, without a reload.
    row = doctor.locator("#doctor-day li", has_text=c.patient_name)
    expect(row).to_contain_text("Booked", timeout=LIVE)
    expect(row).to_contain_text(time_shown)
    assert_not_reloaded(doctor)
    screenshot(doctor, "path-4-doctor-sees-booking")

    # c. The desk sees the patient in today's queue, and checks them in.
    sign_in(desk, server, c.desk.email)
    expect(desk).to_have_url(server("/reception/"))
    wait_until_live(desk)
    mark_page(desk)
    expect(desk.locator("#queue-booked")).to_contain_text(c.patient_name)
    screenshot(desk, "path-5-desk-queue")
    desk.locator("#queue-booked li", has_text=c.patient_name).get_by_role("button", name="Check in").click()
    expect(desk.locator("#queue-arrived")).to_contain_text(c.patient_name)
    expect(desk.locator("#queue-booked")).not_to_contain_text(c.patient_name)
    expect(desk.get_by_role("status")).to_contain_text("Checked in.")
    assert_not_reloaded(desk)  # htmx swapped the queue in place
    screenshot(desk, "path-6-desk-checked-in")

    # d. The doctor's list says "Arrived", still without a reload.
    expect(row).to_contain_text("Arrived", timeout=LIVE)
    assert_not_reloaded(doctor)
    screenshot(doctor, "path-7-doctor-sees-arrival")

    # e. The doctor starts the visit and marks it done; the desk's queue follows, live.
    row.get_by_role("button", name="Start visit").click()
    expect(row).to_contain_text("With the doctor")
    expect(desk.locator("#queue-with-doctor")).to_contain_text(c.patient_name, timeout=LIVE)
    row.get_by_role("button", name="Mark done").click()
    expect(row).to_contain_text("Done")
    expect(row.get_by_role("button")).to_have_count(0)
    screenshot(doctor, "path-8-doctor-done")
    expect(desk.locator("#queue-done")).to_contain_text(c.patient_name, timeout=LIVE)
    expect(desk.locator("#queue-with-doctor")).not_to_contain_text(c.patient_name)
    assert_not_reloaded(desk)
    assert_not_reloaded(doctor)
    screenshot(desk, "path-9-desk-done")

    # The patient's list says so too (on their next visit to it).
    patient.reload()
    expect(patient.locator("#my-appointments")).to_contain_text("Done")

    for who, page in (("doctor", doctor), ("desk", desk), ("patient", patient)):
        assert errors_in(page) == [], (who, page.console_log)


# -- the same path with JavaScript off --------------------------------------------------------------

def test_every_step_works_without_javascript(new_page, live_server, clinic):
    c, server = clinic, live_server
    patient = new_page(java_script_enabled=False)
    sign_in(patient, server, c.account.email)
    expect(patient).to_have_url(server("/patient/"))
    time_shown = book_first_free_time_today(patient, server, c, reason="Cough", js=False)
    patient.get_by_role("button", name="Book this time").click()
    expect(patient).to_have_url(server("/patient/appointments/"))
    expect(patient.get_by_role("status")).to_contain_text("Your appointment is booked")
    expect(patient.locator("#my-appointments li[id^=appointment-]")).to_contain_text(time_shown)
    screenshot(patient, "nojs-1-patient-booked")

    desk = new_page(java_script_enabled=False)
    sign_in(desk, server, c.desk.email)
    expect(desk).to_have_url(server("/reception/"))
    desk.locator("#queue-booked li", has_text=c.patient_name).get_by_role("button", name="Check in").click()
    expect(desk).to_have_url(server("/reception/"))  # a plain POST, then a redirect back to the desk
    expect(desk.get_by_role("status")).to_contain_text("Checked in.")
    expect(desk.locator("#queue-arrived")).to_contain_text(c.patient_name)
    screenshot(desk, "nojs-2-desk-checked-in")

    doctor = new_page(java_script_enabled=False)
    sign_in(doctor, server, c.doctor.email)
    expect(doctor).to_have_url(server("/doctor/"))
    row = doctor.locator("#doctor-day li", has_text=c.patient_name)
    expect(row).to_contain_text("Arrived")
    row.get_by_role("button", name="Start visit").click()
    expect(doctor).to_have_url(server("/doctor/"))
    expect(row).to_contain_text("With the doctor")
    row.get_by_role("button", name="Mark done").click()
    expect(doctor.get_by_role("status")).to_contain_text("Marked done.")
    expect(row).to_contain_text("Done")
    screenshot(doctor, "nojs-3-doctor-done")

    desk.reload()
    expect(desk.locator("#queue-done")).to_contain_text(c.patient_name)


# -- the scheduling pages on a phone -----------------------------------------------------------------

# Buttons, button-like links, chips and slots narrower than 44 px (a "›" is short, not small).
NARROW_TARGETS_JS = """
() => [...document.querySelectorAll("button, .btn, .chip, .slot, nav a")]
  .filter(el => { const b = el.getBoundingClientRect(); return b.width > 0 && b.width < 44 && !el.closest(".visually-hidden"); })
  .map(el => `${el.tagName.toLowerCase()} "${(el.innerText || "").trim().slice(0, 20)}" ${Math.round(el.getBoundingClientRect().width)}px`)
"""


def assert_fits(page, name: str) -> None:
    assert_fits_a_phone(page, name)
    assert page.evaluate(NARROW_TARGETS_JS) == [], name


@pytest.fixture
def booked(app, clinic):
    """The clinic with one appointment today (booked by the patient), with a long reason."""
    from app.extensions import db
    from app.scheduling import services
    from app.scheduling.models import VisitMode
    from app.scheduling.slots import free_slots

    with app.app_context():
        slot = free_slots(clinic.doctor.id, clinic.today)[0]
        appointment = services.appointment_book(
            actor=Actor.for_user(clinic.account), patient_id=clinic.patient.id, doctor_id=clinic.doctor.id,
            starts_at=slot.starts_at, mode=VisitMode.VIDEO, reason="Follow-up of hypertension; bring the home readings", idempotency_key="k" * 20)
        db.session.commit()
        clinic.appointment_id = appointment.id
    return clinic


def test_scheduling_pages_fit_a_phone(new_page, live_server, booked):
    c, server = booked, live_server
    patient = new_page(viewport=PHONE)
    sign_in(patient, server, c.account.email)
    patient.goto(server(f"/patient/appointments/book?doctor={c.doctor.id}&day={c.today.isoformat()}"))
    expect(patient.locator(".slots > button").first).to_be_visible()
    assert_fits(patient, "booking-picker-360")
    patient.locator(".slots > button").first.click()
    expect(patient.get_by_role("heading", name="Confirm the appointment")).to_be_visible()
    assert_fits(patient, "booking-confirm-360")
    patient.goto(server("/patient/appointments/"))
    expect(patient.locator(f"#appointment-{c.appointment_id}")).to_be_visible()
    assert_fits(patient, "patient-appointments-360")

    desk = new_page(viewport=PHONE)
    sign_in(desk, server, c.desk.email)
    expect(desk.locator("#queue-booked")).to_contain_text(c.patient_name)
    assert_fits(desk, "reception-queue-360")

    doctor = new_page(viewport=PHONE)
    sign_in(doctor, server, c.doctor.email)
    expect(doctor.locator("#doctor-day")).to_contain_text(c.patient_name)
    assert_fits(doctor, "doctor-day-360")
    doctor.goto(server("/doctor/appointments/availability"))
    expect(doctor.get_by_role("heading", name=re.compile("^Working hours"))).to_be_visible()
    assert_fits(doctor, "doctor-hours-360")


@pytest.mark.parametrize("width", [900, 1280])
def test_reception_queue_fits_wide_screens(new_page, live_server, booked, width):
    """Four columns side by side from 900 px: long names wrap inside them, nothing pokes out."""
    desk = new_page(viewport={"width": width, "height": 800})
    sign_in(desk, live_server, booked.desk.email)
    expect(desk.locator("#queue-booked")).to_contain_text(booked.patient_name)
    screenshot(desk, f"reception-queue-{width}")
    assert desk.evaluate("document.documentElement.scrollWidth") <= width
    columns = [desk.locator(f"#queue-{key}").bounding_box() for key in ("booked", "arrived", "with-doctor", "done")]
    assert len({round(box["y"]) for box in columns}) == 1, columns  # one row
    assert columns[-1]["x"] + columns[-1]["width"] <= width, columns
    assert desk.evaluate(SMALL_TARGETS_JS) == []


def test_a_change_during_a_live_refresh_is_not_lost(new_page, live_server, booked, app):
    """The doctor's list is being re-fetched (it read the database: "Booked") when the patient is
    checked in; the check-in's event reaches the page before that response does. The page must
    fetch again, not keep the older answer."""
    from app.extensions import db, hub
    from app.scheduling import services
    from app.scheduling.channels import doctor_channel

    c = booked
    doctor = new_page()
    calls = []

    def slow_first_refresh(route):
        calls.append(route.request.url)
        if len(calls) > 1:
            route.continue_()
            return
        stale = route.fetch()  # the server has read the day: the patient is still "Booked"
        with app.app_context():
            services.appointment_advance(actor=Actor.for_user(c.desk), appointment_id=c.appointment_id, action="check_in")
            db.session.commit()
        deadline = time.monotonic() + 5
        while not any('"check_in"' in str(f) for f in frames) and time.monotonic() < deadline:
            doctor.wait_for_timeout(50)  # until the check-in's event has reached the page
        doctor.wait_for_timeout(200)
        route.fulfill(response=stale)

    frames = []
    doctor.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    doctor.route(re.compile(r"/doctor/appointments/day\?"), slow_first_refresh)
    sign_in(doctor, live_server, c.doctor.email)
    expect(doctor).to_have_url(live_server("/doctor/"))
    mark_page(doctor)
    wait_until_live(doctor)
    # Any event makes the list refresh: the slow request above.
    hub.publish(doctor_channel(c.doctor.id), {"type": "appointment", "event": "booked", "id": 0})
    row = doctor.locator("#doctor-day li", has_text=c.patient_name)
    expect(row).to_contain_text("Arrived", timeout=LIVE)
    assert len(calls) >= 2, calls
    assert_not_reloaded(doctor)


def test_live_updates_do_not_keep_an_unattended_desk_signed_in(new_page, idle_server, make_user):
    """The desk's queue re-fetches itself on every event; that is not the person at the desk. With
    events flowing, an untouched session is still warned and signed out (idle timeout 4 s)."""
    from app.extensions import hub
    from app.scheduling.channels import CLINIC

    desk_user = make_user(Role.RECEPTION)
    desk = new_page()
    sign_in(desk, idle_server, desk_user.email)
    expect(desk).to_have_url(idle_server("/reception/"))
    wait_until_live(desk)
    refreshes = []
    desk.on("request", lambda r: refreshes.append(r.url) if "/reception/appointments/queue" in r.url else None)
    warned = False
    deadline = time.monotonic() + 9
    while time.monotonic() < deadline and "/login" not in desk.url:
        hub.publish(CLINIC, {"type": "appointment", "event": "booked", "id": 0})
        desk.wait_for_timeout(400)
        warned = warned or desk.evaluate("document.getElementById('idle-warning')?.open === true")
    assert len(refreshes) >= 3, refreshes  # the queue did follow the events
    assert desk.url == idle_server("/login?reason=idle"), "still signed in while events flowed"
    assert warned, "signed out without the warning"
