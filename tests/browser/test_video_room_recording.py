"""Recording a video visit in two real Chromium windows with fake cameras and microphones: nothing is
kept while only one has agreed; once both have, the doctor's browser records (MediaRecorder) and
sends its pieces as it goes; the patient stops it; the doctor plays the recording from the chart."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_video_room import (  # noqa: F401
    PHONE,
    _video_visit,
    into_the_call,
    media_chromium,
    window,
)

pytestmark = pytest.mark.browser

# A piece sent by hand from the doctor's page, as the recorder would: the start of a WebM file.
SEND_PIECE = """async ([url]) => {
  const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
  const head = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d]);
  const r = await fetch(url, {method: 'POST', body: head, headers: {'X-CSRFToken': token, 'Content-Type': 'video/webm'}});
  return [r.status, (await r.json()).error || null];
}"""
RECORDING = "() => window.__roomRecording.state()"
MEDIA_LOADED = """() => { const v = document.querySelector('#recordings video');
  return v && v.readyState >= 1 && v.videoWidth > 0 ? [v.videoWidth, v.videoHeight] : null; }"""


def test_recording_needs_both_consents_and_plays_from_the_chart(app, live_server, window, make_user, make_patient):
    doctor, patient_user = make_user(Role.DOCTOR, full_name="Dr. Amina Odhiambo"), make_user(Role.PATIENT)
    patient_record = make_patient(given_name="Wanjiku", family_name="Mwangi", user_id=patient_user.id)
    _, token = _video_visit(app, doctor.id, patient_record.id)
    patient, doctor_page = window(PHONE), window()
    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=live_server)

    # The patient asks; the doctor sees it live. Nothing is recorded, and a piece is refused.
    expect(patient.locator("#recording-status")).to_have_text("Not recording.")
    patient.get_by_role("button", name="Ask to record this visit").click()
    expect(patient.locator("#recording-status")).to_have_text("Waiting for Dr. Amina Odhiambo to agree to recording.")
    expect(doctor_page.locator("#recording-status")).to_have_text(
        "Wanjiku Mwangi asks to record this visit. Nothing is recorded unless you agree.")
    asked = doctor_page.evaluate(RECORDING)
    assert asked["recording"] is False and asked["asked"]
    piece_url = f"/visit/{token}/recording/{asked['asked']}/pieces/0"
    assert doctor_page.evaluate(SEND_PIECE, [piece_url]) == [
        409, "The recording has stopped: both of you must agree to record again."]

    # The doctor agrees: both see "Recording", the doctor's browser records and sends pieces as it goes.
    doctor_page.get_by_role("button", name="Agree to record").click()
    for page in (patient, doctor_page):
        expect(page.locator("#recording-status")).to_have_text("Recording")
        expect(page.locator("#recording-status")).to_have_class("recording-on")
        expect(page.get_by_role("button", name="Stop recording")).to_be_visible()
    doctor_page.wait_for_function("() => window.__roomRecording.state().recording")
    recording_id = doctor_page.evaluate(RECORDING)["id"]
    screenshot(patient, "video-room-recording-360")
    for pieces in (1, 2, 3):  # a few seconds of call, cut into pieces sooner than every 5 s
        doctor_page.wait_for_timeout(1500)
        doctor_page.evaluate("() => window.__roomRecording.cut()")
        doctor_page.wait_for_function(f"() => window.__roomRecording.state().sent >= {pieces}")

    # The patient stops it: at once, for both; nothing more is kept.
    patient.get_by_role("button", name="Stop recording").click()
    expect(doctor_page.locator("#recording-status")).to_have_text("Not recording.")
    doctor_page.wait_for_function("() => !window.__roomRecording.state().recording")
    expect(patient.get_by_role("button", name="Ask to record this visit")).to_be_visible()
    sent = doctor_page.evaluate(RECORDING)["sent"]
    with app.app_context():
        from app.consultations.recording_models import Recording
        from app.extensions import db

        recording = db.session.get(Recording, recording_id)
        assert recording.ended_at is not None and recording.chunk_count == sent >= 3
        assert recording.content_type == "video/webm"

    # The doctor plays it from the chart: the card loads, the video's metadata (its picture size) arrives.
    chart = window()
    sign_in(chart, live_server, doctor.email)
    chart.goto(live_server(f"/doctor/patients/{patient_record.id}"))
    expect(chart.locator(f"#recording-{recording_id} video")).to_be_attached()
    chart.evaluate("() => { const v = document.querySelector('#recordings video'); v.muted = true; v.preload = 'auto'; v.play(); }")
    assert chart.wait_for_function(MEDIA_LOADED, timeout=15_000).json_value() == [320, 240]
    for page in (patient, doctor_page, chart):
        errors = [m for m in page.console_log if m.startswith(("error:", "pageerror:")) and "409" not in m]
        assert errors == []
