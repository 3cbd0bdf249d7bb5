"""Destructive actions ask first, in a real browser on a 360 px phone (issue 12 item 1): with
JavaScript a dialog (dismissed: nothing changes; confirmed: done, the same form through htmx), and
without JavaScript a confirmation page. And a form shown again after an error keeps the page's
address, so a reload shows the form, not a 405 (item 6).

Screenshots go to tests/artifacts/ (gitignored): look at them after a change to these pages.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from app.core.actor import Actor
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_booking_path import booked, clinic, errors_in, mark_page, new_page  # noqa: F401  (fixtures)
from tests.browser.test_layout import PHONE

pytestmark = pytest.mark.browser


@pytest.fixture
def coming(app, clinic):  # noqa: F811
    """The clinic with one appointment in two days, booked by the patient (well before any cut-off)."""
    from app.extensions import db
    from app.scheduling import services
    from app.scheduling.slots import free_slots

    with app.app_context():
        slot = free_slots(clinic.doctor.id, clinic.today + dt.timedelta(days=2))[0]
        appointment = services.appointment_book(actor=Actor.for_user(clinic.account), patient_id=clinic.patient.id,
                                                doctor_id=clinic.doctor.id, starts_at=slot.starts_at)
        db.session.commit()
        clinic.appointment_id = appointment.id
    return clinic


def _status(app, appointment_id: int) -> str:
    from app.extensions import db
    from app.scheduling.models import Appointment

    with app.app_context():
        return db.session.get(Appointment, appointment_id).status


def test_on_a_phone_the_cancel_dialog_dismissed_changes_nothing_and_confirmed_cancels(
        app, live_server, coming, new_page):  # noqa: F811
    page = new_page(viewport=PHONE)
    sign_in(page, live_server, coming.account.email)
    page.goto(live_server("/patient/appointments/"))
    mark_page(page)
    row = page.locator(f"#appointment-{coming.appointment_id}")
    dialog = page.locator("#confirm-dialog")

    row.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"Cancel your appointment with {coming.doctor.full_name}?")
    expect(dialog.locator("#confirm-detail")).to_contain_text(", ")  # the day and time: which appointment
    expect(dialog.get_by_role("button", name="Go back")).to_be_focused()
    expect(dialog.get_by_role("button", name="Cancel the appointment")).to_be_visible()
    screenshot(page, "confirm-dialog-phone")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    row.get_by_role("button", name="Cancel").click()
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    assert _status(app, coming.appointment_id) == "booked"

    row.get_by_role("button", name="Cancel").click()
    dialog.get_by_role("button", name="Cancel the appointment").click()
    expect(page.locator(".flash-success")).to_have_text("Your appointment is cancelled.")
    # Out of the coming ones, into the cancelled list, with no Cancel button left.
    expect(page.locator(f"#cancelled-appointments #appointment-{coming.appointment_id}")).to_have_count(1)
    expect(page.locator(f"#appointment-{coming.appointment_id}").get_by_role("button", name="Cancel")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") == 1, "htmx's boost was bypassed"
    assert _status(app, coming.appointment_id) == "cancelled"
    assert [m for m in errors_in(page) if "WebSocket" not in m] == []  # the live socket may drop on the swap


def test_without_javascript_cancelling_asks_on_a_page_first(app, live_server, coming, new_page):  # noqa: F811
    page = new_page(viewport=PHONE, java_script_enabled=False)
    sign_in(page, live_server, coming.account.email)
    page.goto(live_server("/patient/appointments/"))
    page.locator(f"#appointment-{coming.appointment_id}").get_by_role("button", name="Cancel").click()
    cancel = live_server(f"/patient/appointments/{coming.appointment_id}/cancel")
    expect(page).to_have_url(cancel)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Cancel your appointment with {coming.doctor.full_name}?")
    screenshot(page, "confirm-page-phone-nojs")
    assert _status(app, coming.appointment_id) == "booked"
    page.reload()  # a GET: asks again, does nothing
    page.get_by_role("link", name="Keep it").click()
    expect(page).to_have_url(live_server("/patient/appointments/"))
    assert _status(app, coming.appointment_id) == "booked"

    page.locator(f"#appointment-{coming.appointment_id}").get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page).to_have_url(live_server("/patient/appointments/"))
    expect(page.locator(".flash-success")).to_have_text("Your appointment is cancelled.")
    assert _status(app, coming.appointment_id) == "cancelled"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_reload_after_a_form_error_shows_the_page_not_405(app, live_server, make_user, new_page, js):
    from app.accounts.models import Role

    doctor = make_user(Role.DOCTOR)
    page = new_page(java_script_enabled=js)
    sign_in(page, live_server, doctor.email)
    page.goto(live_server("/doctor/appointments/availability"))
    form = page.locator("form", has=page.get_by_role("button", name="Save the day"))
    form.locator('[name="start"]').fill("10:00")
    form.locator('[name="end"]').fill("09:00")
    form.get_by_role("button", name="Save the day").click()
    expect(page.locator(".field-error").first).to_be_visible()
    if js:
        expect(page).to_have_url(live_server("/doctor/appointments/availability"))
    response = page.reload() if js else page.goto(page.url)
    assert response.status == 200, response.status
    expect(page.get_by_role("button", name="Save the day")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(live_server("/doctor/appointments/availability")) + "$"))


def test_the_desk_undoes_a_check_in_from_the_notice(app, live_server, booked, new_page):  # noqa: F811
    desk = new_page()
    sign_in(desk, live_server, booked.desk.email)
    desk.goto(live_server("/reception/"))
    desk.locator("#queue-booked li", has_text=booked.patient_name).get_by_role("button", name="Check in").click()
    notice = desk.locator("#queue-notice")
    expect(notice).to_contain_text("Checked in.")
    assert _status(app, booked.appointment_id) == "checked_in"
    screenshot(desk, "desk-undo-check-in")
    notice.get_by_role("button", name="Undo").click()
    expect(desk.locator(".flash-success")).to_have_text("Check-in undone: booked again.")
    expect(desk.locator("#queue-booked li", has_text=booked.patient_name)).to_be_visible()
    assert _status(app, booked.appointment_id) == "booked"
