"""The lab path: a doctor orders tests from the chart; the technician (at the bench's 1280 px screen,
and again on a 768 px tablet) sees the order arrive in the queue without a reload, takes the sample
(its label with the QR), finds it again by typing the sample id, receives it, starts, enters a high
and a critical result (the doctor's day shows the critical one live), releases; the patient's phone
(in Swahili) shows the results with their flags."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role, SiteKind
from app.extensions import db
from app.labs.services import catalogue_ensure
from tests.browser.conftest import csp_violations, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def lab_world(app, make_user, make_patient, care, make_sites, staff_at):
    doctor = make_user(Role.DOCTOR, full_name="Dr Achieng Otieno")
    person = make_user(Role.PATIENT, full_name="Baraka Mwangi", language="sw")
    patient = make_patient(given_name="Baraka", family_name="Mwangi", user_id=person.id, phone="+254712000777",
                           sex="male", date_of_birth=dt.date(1979, 6, 2))
    care(doctor, patient)
    (lab,) = make_sites(SiteKind.LAB, "MyAfya Laboratory")
    technician = staff_at(Role.LAB, lab, full_name="Peter Mwangi")
    with app.app_context():
        catalogue_ensure()
        db.session.commit()
    return {"doctor": doctor, "person": person, "patient": patient, "technician": technician}


@pytest.mark.parametrize("bench_width", [1280, 768], ids=["bench-1280", "tablet-768"])
def test_order_collect_receive_result_release(chromium, live_server, lab_world, bench_width):
    world = lab_world
    doctor_context = chromium.new_context(viewport={"width": 1024, "height": 900})
    tech_context = chromium.new_context(viewport={"width": bench_width, "height": 1024})
    patient_context = chromium.new_context(viewport={"width": 360, "height": 780})
    try:
        tech = tech_context.new_page()
        console = []
        tech.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        sign_in(tech, live_server, world["technician"].email)
        tech.goto(live_server("/lab/"))
        expect(tech.locator("body")).to_have_attribute("data-live-state", "open")
        expect(tech.locator("#lab-queue")).to_contain_text("No orders here.")

        doctor = doctor_context.new_page()
        doctor.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        sign_in(doctor, live_server, world["doctor"].email)
        doctor.goto(live_server(f"/doctor/patients/{world['patient'].id}"))
        doctor.get_by_role("link", name="Order lab tests").click()
        doctor.get_by_label("Full blood count").check()
        doctor.get_by_label("Urgent").check()
        doctor.locator("#note").fill("Tired and pale for a month.")
        doctor.get_by_role("button", name="Send to the lab").click()
        expect(doctor.locator(".flash-success")).to_contain_text("Lab order sent to MyAfya Laboratory")
        doctor.goto(live_server("/doctor/"))
        expect(doctor.locator("body")).to_have_attribute("data-live-state", "open")
        expect(doctor.locator("#lab-critical")).to_have_count(0)

        # the technician's open queue shows the new order without a reload
        expect(tech.locator("#lab-queue")).to_contain_text("Baraka Mwangi")
        expect(tech.locator("#lab-queue")).to_contain_text("Urgent")
        screenshot(tech, f"lab-queue-{bench_width}")
        tech.locator("#lab-queue a.row").first.click()
        expect(tech.locator("#order-note")).to_have_text("Tired and pale for a month.")
        tech.get_by_role("button", name="Sample taken: print the label").click()
        expect(tech.locator("#sample-label svg")).to_be_visible()
        code = tech.locator("#label-code").inner_text()
        screenshot(tech, f"lab-label-{bench_width}")

        tech.goto(live_server("/lab/"))
        tech.locator("#code").fill(code.lower())
        tech.get_by_role("button", name="Open").click()
        expect(tech.locator("#sample-code")).to_have_text(code)
        tech.get_by_role("button", name="Received at the bench").click()
        tech.get_by_role("button", name="Start testing").click()
        values = {"Haemoglobin (g/dL)": "6.1", "Haematocrit (%)": "22", "White cells (10^9/L)": "12.5",
                  "Platelets (10^9/L)": "210", "Red cells (10^12/L)": "3.1", "Mean cell volume (fL)": "70"}
        for label, value in values.items():
            tech.get_by_label(label).fill(value)
        tech.get_by_role("button", name="Save the results").click()
        expect(tech.locator(".flash-success")).to_contain_text("the doctor has been alerted")
        expect(tech.locator("#results")).to_contain_text("Critically low")
        expect(tech.locator("#results")).to_contain_text("High")

        # the doctor's day shows the critical result live
        expect(doctor.locator("#lab-critical")).to_be_visible()

        tech.get_by_role("button", name="Release the results").click()
        expect(tech.locator(".flash-success")).to_contain_text("Results released")
        expect(tech.locator("#order-status")).to_contain_text("Completed")
        # After the last swap on this page: Playwright's screenshot leaves style="" on inputs, which htmx's
        # settle would copy onto the next page's elements of the same id (a CSP report, not a real user's).
        screenshot(tech, f"lab-results-released-{bench_width}")

        patient = patient_context.new_page()
        sign_in(patient, live_server, world["person"].email)
        patient.goto(live_server("/patient/lab-results"))
        results = patient.locator("#my-lab-results")
        expect(results).to_contain_text("6.1")
        expect(results).to_contain_text("Chini kwa kiwango cha hatari")  # "Critically low", in Swahili
        expect(results).to_contain_text("Juu")
        screenshot(patient, "lab-patient-results-sw-360")
        assert csp_violations(console) == []
    finally:
        for context in (doctor_context, tech_context, patient_context):
            context.close()
