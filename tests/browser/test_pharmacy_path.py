"""The pharmacy path as the issue tells it: a doctor prescribes and meets an allergy warning, gives a
reason and signs; the pharmacist, on a 768 px tablet, prepares and marks it ready; the patient's
phone (in Swahili) shows "ready to collect" without a reload; the pharmacist hands it over and the
stock drops."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role, SiteKind
from app.core.actor import Actor
from app.extensions import db
from app.prescriptions.models import Medicine, StockBatch
from app.prescriptions.services import formulary_ensure
from app.records.models import EntryKind
from app.records.services import entry_add
from tests.browser.conftest import csp_violations, screenshot, sign_in

pytestmark = pytest.mark.browser
COTRIMOXAZOLE = "Sulfamethoxazole + trimethoprim"


@pytest.fixture
def pharmacy_world(app, make_user, make_patient, care, make_sites, staff_at):
    doctor = make_user(Role.DOCTOR, full_name="Dr Achieng Otieno")
    person = make_user(Role.PATIENT, full_name="Baraka Mwangi", language="sw")
    patient = make_patient(given_name="Baraka", family_name="Mwangi", user_id=person.id, phone="+254712000777")
    care(doctor, patient)
    (site_id,) = make_sites(SiteKind.PHARMACY, "Ngong Road Pharmacy")
    pharmacist = staff_at(Role.PHARMACIST, site_id, full_name="Grace Wanjiru")
    with app.app_context():
        formulary_ensure()
        medicine = db.session.query(Medicine).filter(Medicine.name == COTRIMOXAZOLE).one()
        db.session.add(StockBatch(site_id=site_id, medicine_id=medicine.id, batch_number="CTX-1",
                                  expires_on=dt.date.today() + dt.timedelta(days=300), quantity=40))
        entry_add(actor=Actor.system("test"), patient_id=patient.id, kind=EntryKind.ALLERGY,
                  content={"substance": "Sulfa drugs", "severity": "mild", "reaction": "Rash"})
        db.session.commit()
        return {"doctor": doctor, "person": person, "patient": patient, "pharmacist": pharmacist,
                "medicine_id": medicine.id, "site_id": site_id}


def test_prescribe_prepare_ready_collect(chromium, live_server, pharmacy_world, app):
    world = pharmacy_world
    doctor_context = chromium.new_context(viewport={"width": 1024, "height": 900})
    pharmacist_context = chromium.new_context(viewport={"width": 768, "height": 1024})
    patient_context = chromium.new_context(viewport={"width": 360, "height": 780})
    try:
        doctor = doctor_context.new_page()
        console = []
        doctor.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        sign_in(doctor, live_server, world["doctor"].email)
        doctor.goto(live_server(f"/doctor/patients/{world['patient'].id}"))
        doctor.get_by_role("link", name="Write a prescription").click()
        doctor.wait_for_function("() => window.htmx !== undefined")  # scripts are deferred
        doctor.locator(".rx-find").first.press_sequentially("sulfameth", delay=30)  # the list narrows as one types
        expect(doctor.locator("#items-0-medicine_id option")).to_have_count(1)
        doctor.locator("#items-0-medicine_id").select_option(str(world["medicine_id"]))
        doctor.locator("#items-0-dose").fill("960")
        doctor.locator("#items-0-frequency").select_option("bd")
        doctor.locator("#items-0-days").fill("5")
        doctor.locator("#items-0-quantity").fill("10")
        doctor.get_by_role("button", name="Check and sign").click()
        warning = doctor.locator("#findings")
        expect(warning).to_contain_text("Documented allergy to Sulfa drugs")
        screenshot(doctor, "rx-doctor-allergy-warning")
        warning.locator("input[name^=override-]").fill("Rash only, years ago; no alternative")
        doctor.get_by_role("button", name="Check and sign").click()
        expect(doctor.locator(".flash-success")).to_contain_text("Prescription signed and sent to Ngong Road Pharmacy")
        code = doctor.locator(".flash-success").inner_text().rsplit(" ", 1)[-1].rstrip(".")

        patient = patient_context.new_page()
        sign_in(patient, live_server, world["person"].email)
        patient.goto(live_server("/patient/prescriptions/"))
        expect(patient.locator("#my-prescriptions")).to_contain_text("Mpya")  # "New", in Swahili
        expect(patient.locator("body")).to_have_attribute("data-live-state", "open")

        pharmacist = pharmacist_context.new_page()
        sign_in(pharmacist, live_server, world["pharmacist"].email)
        pharmacist.goto(live_server("/pharmacy/"))
        expect(pharmacist.locator("#queue-sent")).to_contain_text("Baraka Mwangi")
        pharmacist.locator("#code").fill(code.lower())
        pharmacist.get_by_role("button", name="Find").click()
        expect(pharmacist.locator("#for-dispensing")).to_contain_text("Sulfa drugs")
        pharmacist.get_by_role("button", name="Start preparing").click()
        pharmacist.get_by_role("button", name="Ready: tell the patient").click()
        expect(pharmacist.locator(".flash-success")).to_contain_text("the patient has been told")
        screenshot(pharmacist, "rx-pharmacist-ready-768")

        # the patient's open page updates itself over the websocket
        expect(patient.locator("#my-prescriptions")).to_contain_text("Tayari kuchukuliwa")
        expect(patient.locator(".rx-code")).to_contain_text(code)
        screenshot(patient, "rx-patient-ready-sw-360")

        pharmacist.get_by_role("button", name="Hand over (take from stock)").click()
        expect(pharmacist.locator(".flash-success")).to_contain_text("CTX-1")
        pharmacist.goto(live_server(f"/pharmacy/stock/medicines/{world['medicine_id']}"))
        expect(pharmacist.locator("#batches")).to_contain_text("30")
        assert csp_violations(console) == []
    finally:
        for context in (doctor_context, pharmacist_context, patient_context):
            context.close()
