"""The visit's states, its messages and moving on a phone, in real browsers, with the clinic's clock
set to a known Monday (tests/scheduling/conftest.py's MONDAY) so the free days are known.

Screenshots go to tests/artifacts/ (gitignored): visitflow-*.png.
"""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.core.actor import Actor
from tests.browser.conftest import csp_violations, screenshot, sign_in
from tests.browser.test_booking_path import new_page  # noqa: F401 (a fixture)
from tests.browser.test_layout import PHONE, assert_fits_a_phone
from tests.scheduling.conftest import MONDAY, THURSDAY, at

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def clinic(app, live_server, make_user, make_patient):
    """Dr Wanjiku Mwangi works Monday to Friday 08:00–12:00 in 30-minute slots; Amani Otieno (an
    account) and Baraka Kiprop are patients; a receptionist. The clock is the Friday before."""
    from types import SimpleNamespace

    from app.core.clock import clock
    from app.extensions import db
    from app.scheduling.availability import HoursInput, weekly_hours_set

    clock.freeze(at(MONDAY - dt.timedelta(days=3), 10))
    doctor = make_user(Role.DOCTOR, full_name="Dr Wanjiku Mwangi")
    desk = make_user(Role.RECEPTION, full_name="Achieng Odhiambo")
    account = make_user(Role.PATIENT, email="amani@example.test", full_name="Amani Otieno")
    patient = make_patient(given_name="Amani", family_name="Otieno", phone="+254712000101", user_id=account.id)
    with app.app_context():
        for weekday in range(5):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(8, 0), dt.time(12, 0), 30)])
        db.session.commit()
    return SimpleNamespace(doctor=doctor, desk=desk, account=account, patient=patient)


def book(app, who, patient_id, doctor_id, starts_at) -> int:
    from app.extensions import db
    from app.scheduling.services import appointment_book

    with app.app_context():
        appointment = appointment_book(actor=Actor.for_user(who), patient_id=patient_id, doctor_id=doctor_id,
                                       starts_at=starts_at)
        db.session.commit()
        return appointment.id


def in_app_bodies(app, user_id: int) -> list[str]:
    from sqlalchemy import select

    from app.extensions import db
    from app.notifications.models import Notification

    with app.app_context():
        return [n.body for n in db.session.execute(
            select(Notification).where(Notification.user_id == user_id, Notification.channel == "in_app")
            .order_by(Notification.id).execution_options(populate_existing=True)).scalars()]


def contrast(page, selector: str) -> float:
    """The WCAG contrast ratio of an element's text on its own background colour."""
    return page.eval_on_selector(selector, """element => {
        const rgb = value => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => { const c = [r, g, b].map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
        const style = getComputedStyle(element);
        const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    }""")


def test_a_patient_moves_an_appointment_on_a_phone(app, new_page, live_server, clinic):
    from app.core.clock import clock

    server, c = live_server, clinic
    appointment_id = book(app, c.account, c.patient.id, c.doctor.id, at(THURSDAY, 9))
    clock.freeze(at(MONDAY, 11, 45))  # nothing free is left today
    patient = new_page(viewport=PHONE)
    sign_in(patient, server, c.account.email)
    patient.goto(server("/patient/appointments/"))
    patient.locator(f"#appointment-{appointment_id}").get_by_role("link", name="Move").click()

    # The week opens on Tuesday, the first day with free times, and marks which days have them.
    expect(patient.get_by_role("heading", name="Free times on Tue 02 Mar")).to_be_visible()
    week = patient.locator("nav.week")
    expect(week.locator("a", has_text="Tue 02 Mar")).to_contain_text("free times")
    expect(week.locator("a", has_text="Mon 01 Mar")).to_contain_text("no free time")
    expect(week.locator("a.chip-free")).to_have_count(4)  # Tuesday to Friday
    assert_fits_a_phone(patient, "visitflow-1-move-week-phone")

    # A time asks first: nothing has moved yet.
    patient.locator("#day-slots").get_by_role("button", name="10:00").click()
    expect(patient.get_by_role("heading", name="Move the appointment?")).to_be_visible()
    expect(patient.locator("#move-confirm")).to_contain_text("Tue 02 Mar 2027, 10:00")
    screenshot(patient, "visitflow-2-move-confirm-phone")
    patient.get_by_label("By video").check()
    patient.get_by_role("button", name="Move to this time").click()

    expect(patient.get_by_role("status")).to_contain_text("Your appointment has moved.")
    coming = patient.locator("#coming-appointments")
    expect(coming).to_contain_text("Tue 02 Mar 2027, 10:00")
    expect(coming).to_contain_text("video")
    expect(coming).not_to_contain_text("Thu 04 Mar")
    expect(patient.locator("#cancelled-appointments")).to_have_count(0)  # a move is not a cancellation
    screenshot(patient, "visitflow-3-moved-phone")
    # Messages (with its unread count) joined the patient's menu: still one row of links on the phone.
    assert patient.locator(".topbar").bounding_box()["height"] <= 4 * 44 + 3 * 8 + 16 + 4

    # One notice of the move each: the patient's names the doctor, the doctor's names the patient.
    patient.locator("#inbox-link").click()
    messages = patient.locator("#inbox li")
    expect(messages.filter(has_text="has moved")).to_have_count(1)
    expect(messages.filter(has_text="has moved")).to_contain_text("with Dr Wanjiku Mwangi")
    assert_fits_a_phone(patient, "visitflow-4-patient-inbox-phone")
    moves = [b for b in in_app_bodies(app, c.doctor.id) if "Amani Otieno" in b and b.startswith("Moved")]
    assert moves == ["Moved: Amani Otieno, Thu 04 Mar, 09:00 → Tue 02 Mar, 10:00."]
    assert len(in_app_bodies(app, c.doctor.id)) == 2  # the booking, then the move: no second "new booking"
    assert csp_violations(patient.console_log) == []


def test_no_visit_starts_before_arrival_and_the_notice_opens_the_appointment(app, new_page, live_server, clinic):
    from app.core.clock import clock

    server, c = live_server, clinic
    appointment_id = book(app, c.desk, c.patient.id, c.doctor.id, at(MONDAY, 9))
    clock.freeze(at(MONDAY, 8, 50))

    doctor = new_page(viewport=DESKTOP)
    sign_in(doctor, server, c.doctor.email)
    doctor.goto(server("/doctor/appointments/day"))
    row = doctor.locator(f"#appointment-{appointment_id}")
    expect(row).to_contain_text("Amani Otieno")
    expect(row.get_by_role("button", name="Check in")).to_be_visible()
    expect(row.get_by_role("button", name="Start visit")).to_have_count(0)  # never arrived: no start
    expect(row.get_by_role("button", name="Mark done")).to_have_count(0)
    expect(row.get_by_role("button", name="No-show")).to_have_count(0)  # not before 09:15
    screenshot(doctor, "visitflow-5-doctor-day-unarrived")

    desk = new_page(viewport=DESKTOP)
    sign_in(desk, server, c.desk.email)
    desk_row = desk.locator("#queue-booked li", has_text="Amani Otieno")
    expect(desk_row.get_by_role("button", name="No-show")).to_have_count(0)
    desk_row.get_by_role("button", name="Check in").click()
    expect(desk.locator("#queue-arrived")).to_contain_text("Amani Otieno")

    # The doctor's notice names the patient, its badge is readable, and it opens the appointment.
    doctor.goto(server("/doctor/appointments/day"))
    expect(row.get_by_role("button", name="Start visit")).to_be_visible()
    expect(row.get_by_role("button", name="Mark done")).to_have_count(0)  # not on "Arrived"
    badge = "#inbox-link .badge"
    expect(doctor.locator(badge)).to_be_visible()
    assert contrast(doctor, badge) >= 4.5
    doctor.locator("#inbox-link").click()
    notice = doctor.get_by_role("link", name="Amani Otieno arrived for 09:00.")
    expect(notice).to_be_visible()
    screenshot(doctor, "visitflow-6-doctor-inbox")
    notice.click()
    expect(doctor.get_by_role("heading", name="Amani Otieno")).to_be_visible()
    expect(doctor).to_have_url(server(f"/doctor/appointments/{appointment_id}"))
    for page in (doctor, desk):
        assert csp_violations(page.console_log) == []
