"""A patient who reads Swahili, in a real browser: switches the registration page to Kiswahili,
registers, signs in and books a visit, reading Swahili at every step; the confirmation SMS is
in Swahili too. Then the same pages on a phone (Swahili words are longer).

Screenshots go to tests/artifacts/ (gitignored): swahili-*.png.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import ARTIFACTS, csp_violations, screenshot
from tests.browser.test_layout import PHONE, assert_fits_a_phone

pytestmark = pytest.mark.browser

SW_WEEKDAYS = ["Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa", "Jumamosi", "Jumapili"]
SW_MONTHS = ["Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ago", "Sep", "Okt", "Nov", "Des"]


@pytest.fixture
def doctor_today(app, live_server, make_user):
    """A doctor who works every day from 00:00 to 23:40 in 20-minute slots: free times today, whatever the hour."""
    from app.core.clock import clock
    from app.extensions import db
    from app.scheduling.availability import HoursInput, weekly_hours_set

    zone = ZoneInfo(live_server.app.config["CLINIC_TIMEZONE"])
    if dt.datetime.now(zone).time() >= dt.time(23, 10):
        clock.freeze(dt.datetime.combine(dt.datetime.now(zone).date(), dt.time(12, 0), tzinfo=zone))
    doctor = make_user(Role.DOCTOR, full_name="Dr. Wanjiru Nyambura")
    with app.app_context():
        for weekday in range(7):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(0, 0), dt.time(23, 40), 20)])
        db.session.commit()
    doctor.today = clock.now().astimezone(zone).date()
    return doctor


def screenshot_path(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def swahili_day(day: dt.date) -> str:
    return f"{SW_WEEKDAYS[day.weekday()]} {day:%d} {SW_MONTHS[day.month - 1]}"


def test_a_patient_who_chose_swahili_signs_in_and_books_in_swahili(chromium, live_server, doctor_today, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.notifications.models import Notification

    server, doctor = live_server, doctor_today
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")  # an English browser
    context.set_default_timeout(8_000)
    page = context.new_page()
    log = []
    page.on("console", lambda message: log.append(f"{message.type}: {message.text}"))
    try:
        # The registration page, in English until the patient presses "Kiswahili".
        page.goto(server("/register"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Create your patient account")
        page.get_by_role("button", name="Kiswahili").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Fungua akaunti yako ya mgonjwa")
        expect(page.locator("html")).to_have_attribute("lang", "sw")
        expect(page.get_by_label("Lugha")).to_have_value("sw")
        page.get_by_label("Jina kamili").fill("Zawadi Achieng")
        page.get_by_label("Barua pepe", exact=True).fill("zawadi@example.test")
        page.get_by_label("Simu ya mkononi").fill("+254 712 000 222")
        page.get_by_label("Nenosiri jipya", exact=True).fill("mti mrefu wa mwembe")
        page.get_by_label("Rudia nenosiri jipya").fill("mti mrefu wa mwembe")
        # (caret="initial": hiding the caret leaves style="" on the inputs, which the boosted swap to the
        # sign-in page, with inputs of the same ids, would copy and the CSP refuse.)
        page.screenshot(path=str(screenshot_path("swahili-1-register")), full_page=True, caret="initial")
        page.get_by_role("button", name="Fungua akaunti").click()

        # Signed out pages stay Swahili: the sign-in form.
        expect(page).to_have_url(server("/login"))
        expect(page.get_by_role("status")).to_contain_text("Asante. Tumetuma barua pepe")
        page.get_by_label("Barua pepe", exact=True).fill("zawadi@example.test")
        page.get_by_label("Nenosiri", exact=True).fill("mti mrefu wa mwembe")
        page.get_by_role("button", name="Ingia").click()

        # Home, then booking: every label in Swahili.
        expect(page).to_have_url(server("/patient/"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Habari, Zawadi")
        expect(page.get_by_role("navigation", name="Kuu")).to_contain_text("Rekodi yangu")
        screenshot(page, "swahili-2-home")
        page.get_by_role("link", name="Weka miadi").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Weka miadi")
        page.locator(".chips a", has_text=doctor.full_name).click()
        page.locator(f'nav.week a[href*="day={doctor.today.isoformat()}"]').click()
        expect(page.get_by_role("heading", name=re.compile("^Nafasi zilizo wazi"))).to_contain_text(
            swahili_day(doctor.today))
        screenshot(page, "swahili-3-picker")
        first = page.locator(".slots > button").first
        time_shown = first.inner_text().strip()
        first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thibitisha miadi")
        expect(page.locator("main")).to_contain_text(f"{swahili_day(doctor.today)} {doctor.today.year}, {time_shown}")
        expect(page.locator("legend")).to_have_text("Ungependa kumwona daktari vipi?")
        page.get_by_label("Kliniki").check()
        page.get_by_label("Sababu ya kuja (si lazima)").fill("Kikohozi cha wiki mbili")
        screenshot(page, "swahili-4-confirm")
        page.get_by_role("button", name="Weka muda huu").click()

        expect(page).to_have_url(server("/patient/appointments/"))
        expect(page.get_by_role("status")).to_contain_text("Miadi yako imewekwa. Tumekutumia uthibitisho.")
        mine = page.locator("#my-appointments li[id^=appointment-]")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text(time_shown)
        expect(mine).to_contain_text("Imewekwa")
        expect(mine.get_by_role("button", name="Ghairi")).to_be_visible()
        screenshot(page, "swahili-5-booked")
        assert [m for m in log if m.startswith("error:")] == [] and csp_violations(log) == [], log

        with app.app_context():
            sms = db.session.execute(select(Notification).where(Notification.channel == "sms")).scalar_one()
            assert sms.body == (f"MyAfya Clinic: Miadi yako na {doctor.full_name} imewekwa: "
                                f"{swahili_day(doctor.today)}, {time_shown}.")

        # The same pages on a phone: the longer Swahili words still fit.
        page.set_viewport_size(PHONE)
        page.goto(server(f"/patient/appointments/book?doctor={doctor.id}&day={doctor.today.isoformat()}"))
        expect(page.locator(".slots > button").first).to_be_visible()
        assert_fits_a_phone(page, "swahili-picker-360")
        page.goto(server("/patient/appointments/"))
        assert_fits_a_phone(page, "swahili-appointments-360")
    finally:
        context.close()
