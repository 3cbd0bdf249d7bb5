"""The chart prints as a one-page summary: banner, allergies, problems, medicines and the latest
vitals; no menus, forms, buttons or notes. The screenshot (tests/artifacts/) is for a human eye."""
from __future__ import annotations

import re

import pytest

from app.accounts.models import Role
from app.extensions import db
from app.records import services
from app.records.models import EntryKind
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import SET_UP

pytestmark = pytest.mark.browser

A4_WIDTH = {"width": 794, "height": 1123}  # CSS pixels at 96 dpi


@pytest.fixture
def viewport():
    return A4_WIDTH


@pytest.fixture
def charted(app, make_patient, make_user, care):
    doctor = make_user(Role.DOCTOR, full_name="Dr Achieng Odhiambo")
    patient = make_patient(given_name="Nyokabi", family_name="Wanjiku", phone="+254712000101", sex="female")
    care(doctor, patient)
    entries = [(EntryKind.ALLERGY, {"substance": "Penicillin", "reaction": "Anaphylaxis", "severity": "severe"}),
               (EntryKind.ALLERGY, {"substance": "Sulfa drugs", "reaction": "Rash", "severity": "moderate"})]
    entries += [(EntryKind.PROBLEM, {"condition": f"Problem {n}", "onset": "2020"}) for n in range(6)]
    entries += [(EntryKind.MEDICATION, {"drug": f"Medicine {n}", "dose": "10 mg", "frequency": "daily"})
                for n in range(6)]
    entries += [(EntryKind.VITALS, {"systolic": 120 + n, "diastolic": 80, "pulse": 70 + n}) for n in range(10)]
    entries += [(EntryKind.NOTE, {"text": f"Consultation note {n}. " * 20}) for n in range(5)]
    with app.app_context():
        for kind, content in entries:  # added in order: the last vitals (systolic 129) are the latest
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=kind, content=content,
                               recorded_by_id=doctor.id)
        db.session.commit()
    return doctor, patient


def visible(page, selector: str) -> bool:
    return page.locator(selector).first.is_visible()


def test_the_chart_prints_on_one_page_with_the_summary_only(page, live_server, charted):
    doctor, patient = charted
    sign_in(page, live_server, doctor.email)
    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    assert visible(page, ".topbar") and visible(page, "#record-actions") and visible(page, "#note")

    page.emulate_media(media="print")
    for hidden in (".topbar", "#record-actions", "#note", "details", "form"):
        assert not visible(page, hidden), hidden
    for shown in ("#patient-banner", "#allergy", "#problem", "#medication", "#vitals"):
        assert visible(page, shown), shown
    vitals = page.locator("#vitals li")  # the summary lists the latest five, the print the latest one
    assert [vitals.nth(i).is_visible() for i in range(vitals.count())] == [True] + [False] * 5  # + "Show older"
    assert "129/80" in vitals.first.inner_text()
    screenshot(page, "chart-print-preview")

    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_print_summary_calls_the_browsers_print(page, live_server, charted):
    doctor, patient = charted
    sign_in(page, live_server, doctor.email)
    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    page.evaluate("() => { window.print = function () { window.printed = (window.printed || 0) + 1; }; }")
    page.get_by_role("button", name="Print summary").click()
    assert page.evaluate("window.printed") == 1


def test_without_javascript_the_print_button_is_not_offered(chromium, live_server, charted):
    doctor, patient = charted
    context = chromium.new_context(java_script_enabled=False, viewport=A4_WIDTH)
    try:
        page = context.new_page()
        sign_in(page, live_server, doctor.email)
        page.goto(live_server(f"/doctor/patients/{patient.id}"))
        assert not page.get_by_role("button", name="Print summary").is_visible()
        assert page.get_by_role("link", name="Export (FHIR)").is_visible()
    finally:
        context.close()
