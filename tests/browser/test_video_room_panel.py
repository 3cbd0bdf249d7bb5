"""The doctor's side panel and a file in the chat, in a real call between two Chromium windows with
fake devices: once the patient is let in the panel loads (allergies first), the doctor saves a SOAP
note and shares a PDF without leaving the call, and the patient sees the file's message live."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import screenshot
from tests.browser.test_video_room import (  # noqa: F401
    PHONE,
    _video_visit,
    into_the_call,
    media_chromium,
    window,
)
from tests.files_support import PDF

pytestmark = pytest.mark.browser


def test_in_a_call_the_doctor_sees_allergies_saves_a_note_and_shares_a_pdf(app, live_server, window,  # noqa: F811
                                                                           make_user, make_patient):
    from sqlalchemy import select

    from app.core.actor import Actor
    from app.extensions import db
    from app.records import services as records
    from app.records.models import ClinicalEntry, EntryKind

    doctor, patient_user = make_user(Role.DOCTOR, full_name="Dr. Amina Odhiambo"), make_user(Role.PATIENT)
    patient_record = make_patient(given_name="Wanjiku", family_name="Mwangi", user_id=patient_user.id)
    with app.app_context():
        records.entry_add(actor=Actor.system("test"), patient_id=patient_record.id, kind=EntryKind.ALLERGY,
                          content={"substance": "Penicillin", "reaction": "Hives", "severity": "severe"})
        db.session.commit()
    appointment_id, token = _video_visit(app, doctor.id, patient_record.id)

    patient, doctor_page = window(PHONE), window()

    def nothing_of_the_chart_yet() -> None:
        expect(doctor_page.locator("#panel-waiting")).to_be_visible()
        expect(doctor_page.locator("#allergy-banner")).to_have_count(0)

    into_the_call(patient, doctor_page, token, patient_email=patient_user.email, doctor_email=doctor.email,
                  patient_at=live_server, before_admitting=nothing_of_the_chart_yet)

    # The panel loads itself once the patient is in: the allergy first, beside the video.
    banner = doctor_page.locator("#doctor-panel #allergy-banner")
    expect(banner).to_contain_text("Penicillin")
    box_video, box_panel = doctor_page.locator("#room").bounding_box(), doctor_page.locator("#doctor-panel").bounding_box()
    assert box_panel["x"] >= box_video["x"] + box_video["width"] - 1  # beside, on a wide screen
    expect(patient.locator("#doctor-panel")).to_have_count(0)

    # The SOAP note, saved without leaving the call.
    doctor_page.fill("#subjective", "Fever for two days, no cough.")
    doctor_page.fill("#plan", "Paracetamol; come back if worse.")
    doctor_page.get_by_role("button", name="Save the note to the chart").click()
    expect(doctor_page.locator("#visit-note")).to_contain_text("The note is saved in the chart.")
    expect(doctor_page.locator("#subjective")).to_have_value("")
    with app.app_context():
        note = db.session.execute(select(ClinicalEntry).where(ClinicalEntry.kind == "note")).scalar_one()
        assert note.content["appointment_id"] == appointment_id and note.content["subjective"].startswith("Fever")

    # A PDF shared in the chat: the patient sees its message live, a link to the document.
    doctor_page.set_input_files("#file", files=[{"name": "Advice leaflet.pdf", "mimeType": "application/pdf",
                                                 "buffer": PDF}])
    doctor_page.get_by_role("button", name="Share the file").click()
    link = patient.locator("#chat-messages a.chat-file-link")
    expect(link).to_have_text("Advice leaflet")
    assert "/patient/record/documents/" in link.get_attribute("href")
    expect(doctor_page.locator("#chat-messages a.chat-file-link")).to_have_text("Advice leaflet")
    screenshot(doctor_page, "video-room-doctor-panel-1280")
    screenshot(patient, "video-room-file-message-360")

    # Still the same call on both sides: no page was reloaded.
    assert doctor_page.evaluate("() => window.__roomPeer().connectionState") == "connected"
    assert patient.evaluate("() => window.__roomPeer().connectionState") == "connected"
    for page in (patient, doctor_page):
        errors = [m for m in page.console_log if m.startswith(("error:", "pageerror:")) or "Content Security" in m]
        assert errors == []
