"""In a real call (two Chromium windows, fake devices) the doctor ends the visit through the room's
confirmation dialog; the patient's page says at once that the visit is over. While the call is
connected, "Continue by phone" is not offered."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.test_video_room import (  # noqa: F401
    PHONE,
    PLAYING,
    _video_visit,
    into_the_call,
    media_chromium,
    window,
)

pytestmark = pytest.mark.browser


def test_the_doctor_ends_the_visit_and_the_patients_page_says_it_is_over(app, live_server, window, make_user,  # noqa: F811
                                                                          make_patient):
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    patient_record = make_patient(given_name="Wanjiku", family_name="Mwangi", user_id=patient_user.id)
    appointment_id, token = _video_visit(app, doctor.id, patient_record.id)
    patient, doctor_page = window(PHONE), window()
    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=live_server)
    expect(doctor_page.locator("#phone-offer")).to_be_hidden()  # connected: no phone offered

    # "End the visit": a dialog first; "Keep talking" keeps the call.
    doctor_page.get_by_role("link", name="End the visit").click()
    dialog = doctor_page.locator("#end-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("End the visit with Wanjiku Mwangi?")
    dialog.get_by_role("button", name="Keep talking").click()
    expect(dialog).to_be_hidden()
    patient.wait_for_function(PLAYING)
    doctor_page.get_by_role("link", name="End the visit").click()
    dialog.get_by_role("button", name="Yes, end the visit").click()

    expect(doctor_page.locator("#visit-held")).to_contain_text("Held by video")
    expect(patient.locator("#call-status")).to_have_text("This video visit is over.")
    expect(patient.locator("#room-phone")).to_be_hidden()
    with app.app_context():
        from app.extensions import db
        from app.scheduling.models import Appointment

        assert db.session.get(Appointment, appointment_id).status == "completed"
    for page in (patient, doctor_page):
        errors = [m for m in page.console_log if (m.startswith(("error:", "pageerror:")) or "Content Security" in m)
                  and not werkzeug_after_server_close(m)]
        assert errors == [], errors


def werkzeug_after_server_close(message: str) -> bool:
    """The room's socket closes itself once the visit is over (room_socket: 'visit over'). Werkzeug's
    server (this test's, and `make run`'s) then writes its HTTP answer on the finished websocket
    (app/realtime/guard.py _after_socket, werkzeug mode), which Chrome reports as an invalid frame;
    gunicorn, in production, writes nothing."""
    return "/ws/room/" in message and "Invalid frame header" in message
