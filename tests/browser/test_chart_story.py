"""The chart as the issue tells it: a doctor records vitals and a severe allergy in the browser; the
patient, who reads MyAfya in Swahili, sees them on their record (the trend drawn) and finds that
doctor under "who looked at my record"."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import csp_violations, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_a_doctor_records_and_the_swahili_patient_sees_it_and_who_looked(chromium, live_server, make_user,
                                                                          make_patient, care):
    doctor = make_user(Role.DOCTOR, full_name="Dr Achieng Otieno")
    person = make_user(Role.PATIENT, full_name="Baraka Mwangi", language="sw")
    patient = make_patient(given_name="Baraka", family_name="Mwangi", user_id=person.id)
    care(doctor, patient)

    context = chromium.new_context(viewport={"width": 360, "height": 780})
    try:
        page = context.new_page()
        console = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        sign_in(page, live_server, doctor.email)
        page.goto(live_server(f"/doctor/patients/{patient.id}"))
        vitals = page.locator("section#vitals")
        vitals.get_by_role("link", name="Add vitals").click()
        vitals.locator("#systolic").fill("128")
        vitals.locator("#diastolic").fill("84")
        vitals.locator("#pulse").fill("76")
        vitals.get_by_role("button", name="Save").click()
        expect(page.locator("section#vitals")).to_contain_text("128/84")
        allergies = page.locator("section#allergy")
        allergies.get_by_role("link", name="Add allergy").click()
        allergies.locator("#substance").fill("Penicillin")
        allergies.locator("#severity").select_option("severe")
        allergies.locator("#verified").select_option("verified")
        allergies.get_by_role("button", name="Save").click()
        expect(page.locator("section#allergy")).to_contain_text("Penicillin")
        expect(page.locator("#allergy-banner.allergy-severe")).to_contain_text("Penicillin")
        assert csp_violations(console) == []
    finally:
        context.close()

    context = chromium.new_context(viewport={"width": 360, "height": 780})
    try:
        page = context.new_page()
        sign_in(page, live_server, person.email)
        page.goto(live_server("/patient/record/"))
        expect(page.locator("#allergy-banner.allergy-severe")).to_contain_text("Penicillin")
        expect(page.locator("#allergy-banner")).to_contain_text("kali")  # severe, in Swahili
        expect(page.locator("body")).to_contain_text("Mapigo ya moyo")  # the pulse trend, in Swahili
        expect(page.locator("svg").first).to_be_visible()
        screenshot(page, "story-patient-record-sw-360")
        page.get_by_role("link", name="Nani aliangalia rekodi yangu").click()
        expect(page.locator("body")).to_contain_text("Dr Achieng Otieno")
        expect(page.locator("body")).to_contain_text("Daktari")
        screenshot(page, "story-who-looked-sw-360")
    finally:
        context.close()
