"""Documents in a real browser: a Swahili-speaking patient on a phone adds a photo to their record
without help (a wrong file first: the message beside the field), sees it listed and opens it inline;
the doctor sees it on a tablet. Screenshots in tests/artifacts/ (documents-*.png)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import csp_violations, screenshot, sign_in
from tests.browser.test_layout import PHONE, assert_fits_a_phone
from tests.files_support import HTML, image

pytestmark = pytest.mark.browser
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def people(app, make_user, make_patient, care):
    account = make_user(Role.PATIENT, full_name="Amani Otieno", language="sw")
    patient = make_patient(user_id=account.id)
    doctor = make_user(Role.DOCTOR, full_name="Dr Wanjiru Keeper")
    care(doctor, patient)
    return account, patient, doctor


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_a_patient_adds_a_photo_on_a_phone_in_swahili(page, live_server, people, console, tmp_path):
    account, patient, _ = people
    sign_in(page, live_server, account.email)
    page.goto(live_server("/patient/record/"))
    page.get_by_role("link", name="Ongeza hati").click()
    expect(page.get_by_role("heading", name="Ongeza hati kwenye rekodi yangu")).to_be_visible()
    assert_fits_a_phone(page, "documents-upload-360")
    page.reload()  # a screenshot leaves style="" on the inputs, which htmx's settle would then copy (a CSP report)

    wrong = tmp_path / "matokeo.pdf"
    wrong.write_bytes(HTML)
    page.set_input_files("#file", str(wrong))
    page.fill("#title", "Barua ya hospitali")
    page.get_by_role("button", name="Ongeza hati hii").click()
    expect(page.locator("#file-error")).to_contain_text("PDF na picha")
    expect(page.locator("#title")).to_have_value("Barua ya hospitali")
    assert_fits_a_phone(page, "documents-upload-refused-360")

    photo = tmp_path / "picha.jpg"
    photo.write_bytes(image("JPEG", size=(640, 480), colour=(196, 92, 84)))
    page.set_input_files("#file", str(photo))
    page.get_by_role("button", name="Ongeza hati hii").click()
    expect(page).to_have_url(re.compile(re.escape(live_server("/patient/record/")) + "(#documents)?$"))
    documents = page.locator("#documents")
    expect(documents.get_by_role("link", name="Barua ya hospitali")).to_be_visible()
    expect(documents).to_contain_text("JPEG")
    documents.scroll_into_view_if_needed()
    screenshot(page, "documents-record-360")

    documents.get_by_role("link", name="Barua ya hospitali").click()
    shown = page.locator("img.document-image")
    expect(shown).to_be_visible()
    expect(shown).to_have_js_property("complete", True)
    expect(shown).to_have_js_property("naturalWidth", 640)  # fetched and decoded inline
    assert_fits_a_phone(page, "documents-view-360")
    assert not csp_violations(console), console


@pytest.mark.parametrize("viewport", [TABLET], ids=["tablet"])
def test_the_doctor_sees_the_patients_document_on_a_tablet(app, page, live_server, people, console):
    from app.core.actor import Actor
    from app.extensions import db
    from app.records.documents import document_add

    account, patient, doctor = people
    with app.app_context():
        document_add(actor=Actor.for_user(account), patient_id=patient.id, title="Photo of the rash", note="Since Monday",
                     data=image("PNG", size=(300, 200)))
        db.session.commit()
    sign_in(page, live_server, doctor.email)
    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    documents = page.locator("#documents")
    expect(documents).to_contain_text("Photo of the rash")
    expect(documents).to_contain_text("Amani Otieno")
    documents.scroll_into_view_if_needed()
    screenshot(page, "documents-chart-768")
    documents.get_by_role("link", name="Photo of the rash").click()
    expect(page.locator("img.document-image")).to_be_visible()
    screenshot(page, "documents-view-768")
    assert not csp_violations(console), console
