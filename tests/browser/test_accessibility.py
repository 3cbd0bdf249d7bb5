"""WCAG 2.1 AA on each role's main pages, at the role's device width, checked with the axe-core
engine in the browser (issue 12 item 10): no violation of impact serious or critical.

One browser, one context per role; the people are made in the test. A screenshot of each role's main
page with a focused element goes to tests/artifacts/a11y-<role>.png: look at the focus ring there.
"""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.accounts.models import Role, SiteKind
from app.core.actor import Actor
from app.scheduling.models import Appointment, AppointmentStatus
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

PHONE, TABLET, DESK = {"width": 360, "height": 780}, {"width": 768, "height": 1024}, {"width": 1280, "height": 800}
SERIOUS = {"serious", "critical"}
_axe = Axe()


def axe_violations(page) -> list[str]:
    """The page's serious and critical WCAG 2.x A/AA violations, one readable line per element."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in SERIOUS:
            continue
        for node in violation["nodes"]:
            detail = node.get("failureSummary", "").replace("\n", " ")
            found.append(f"{violation['id']} ({violation['impact']}) {node['target']}: {violation['help']}. {detail}")
    return found


def check_pages(page, server, role: str, paths: list[str]) -> None:
    failures = []
    for path in paths:
        page.goto(server(path))
        expect(page.locator("main h1").first).to_be_visible()
        failures += [f"{path}: {line}" for line in axe_violations(page)]
    assert not failures, f"{role}: serious or critical accessibility violations:\n  " + "\n  ".join(failures)


def focused_screenshot(page, server, role: str, path: str) -> None:
    """The role's main page with keyboard focus on the first control of its content (Tab from the top,
    through the menu), for a look at the focus ring on white."""
    page.goto(server(path))
    for _n in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('main')"):
            break
    screenshot(page, f"a11y-{role}")


@pytest.fixture
def clinic(app, live_server, make_user, make_patient, care, make_sites, staff_at):
    """A doctor working every day, a patient with an account, their chart with entries, a booking
    ahead, a completed visit today (a faded row on the boards), and one staff member per role."""
    from app.core.clock import clock
    from app.extensions import db
    from app.records.models import EntryKind
    from app.records.services import entry_add
    from app.scheduling.availability import HoursInput, weekly_hours_set
    from app.scheduling.services import appointment_book
    from app.scheduling.slots import free_slots

    zone = ZoneInfo(live_server.app.config["CLINIC_TIMEZONE"])
    if not dt.time(2, 0) <= dt.datetime.now(zone).time() <= dt.time(21, 0):
        clock.freeze(dt.datetime.combine(dt.datetime.now(zone).date(), dt.time(12, 0), tzinfo=zone))
    today = clock.now().astimezone(zone).date()
    doctor = make_user(Role.DOCTOR, full_name="Dr Achieng Otieno")
    desk = make_user(Role.RECEPTION, full_name="Wanjiku Kamau")
    admin = make_user(Role.ADMIN, full_name="Amina Hassan")
    (pharmacy_id,) = make_sites(SiteKind.PHARMACY, "Ngong Road Pharmacy")
    (lab_id,) = make_sites(SiteKind.LAB, "MyAfya Laboratory")
    pharmacist = staff_at(Role.PHARMACIST, pharmacy_id, full_name="Grace Wanjiru")
    technician = staff_at(Role.LAB, lab_id, full_name="Peter Mwangi")
    person = make_user(Role.PATIENT, full_name="Baraka Mwangi")
    patient = make_patient(given_name="Baraka", family_name="Mwangi", user_id=person.id, phone="+254712000777")
    care(doctor, patient)
    system = Actor.system("test")
    with app.app_context():
        for weekday in range(7):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(0, 0), dt.time(23, 40), 20)])
        for kind, content in ((EntryKind.ALLERGY, {"substance": "Penicillin", "severity": "severe", "reaction": "Rash"}),
                              (EntryKind.PROBLEM, {"condition": "Asthma", "onset": "2019"}),
                              (EntryKind.MEDICATION, {"drug": "Salbutamol", "dose": "100 mcg", "frequency": "as needed"}),
                              (EntryKind.VITALS, {"systolic": 128, "diastolic": 82, "pulse": 71}),
                              (EntryKind.NOTE, {"text": "Wheeze at night, better with the inhaler."})):
            entry_add(actor=system, patient_id=patient.id, kind=kind, content=content)
        started = clock.now().replace(microsecond=0) - dt.timedelta(hours=1)
        db.session.add(Appointment(doctor_id=doctor.id, patient_id=make_patient(given_name="Juma", family_name="Ali").id,
                                   starts_at=started, ends_at=started + dt.timedelta(minutes=20),
                                   status=AppointmentStatus.COMPLETED.value, reminder_stage=2, checked_in_at=started,
                                   started_at=started, completed_at=started + dt.timedelta(minutes=20)))
        desk_actor = Actor(user_id=desk.id, role=Role.RECEPTION.value)
        appointment_book(actor=desk_actor, patient_id=patient.id, doctor_id=doctor.id,
                         starts_at=free_slots(doctor.id, today)[2].starts_at, reason="Cough")
        prescription_id, lab_order_id = _queues_with_work(doctor, patient, pharmacy_id=pharmacy_id, lab_id=lab_id)
        db.session.commit()
    return SimpleNamespace(doctor=doctor, desk=desk, admin=admin, pharmacist=pharmacist, technician=technician,
                           person=person, patient=patient, today=today, prescription_id=prescription_id,
                           lab_order_id=lab_order_id)


def _queues_with_work(doctor, patient, *, pharmacy_id: int, lab_id: int) -> tuple[int, int]:
    """A prescription waiting at the pharmacy and a lab order waiting at the lab (the queues' rows,
    badges and buttons are what axe must see, not an empty list)."""
    from decimal import Decimal

    from sqlalchemy import select

    from app.extensions import db
    from app.labs.models import LabTest
    from app.labs.ordering import lab_order_place
    from app.labs.services import catalogue_ensure
    from app.prescriptions.models import Medicine
    from app.prescriptions.prescribing import ItemInput, prescription_sign
    from app.prescriptions.services import formulary_ensure

    formulary_ensure()
    catalogue_ensure()
    actor = Actor(user_id=doctor.id, role=Role.DOCTOR.value)
    paracetamol = db.session.execute(select(Medicine.id).where(Medicine.name == "Paracetamol",
                                                               Medicine.form == "tablet")).scalar_one()
    prescription = prescription_sign(actor=actor, patient_id=patient.id, pharmacy_id=pharmacy_id, refills=0,
                                     overrides={}, items=[ItemInput(medicine_id=paracetamol, dose=Decimal("500"),
                                                                    route="oral", frequency="tds", days=5, quantity=15)])
    fbc = db.session.execute(select(LabTest.id).where(LabTest.code == "FBC")).scalar_one()
    order = lab_order_place(actor=actor, patient_id=patient.id, site_id=lab_id, test_ids=[fbc], urgency="urgent",
                            note="Pale, tired.")
    return prescription.id, order.id


@pytest.fixture
def role_page(chromium):
    """role_page(viewport) -> a page in its own context (one person each), closed after the test."""
    contexts = []

    def make(viewport):
        context = chromium.new_context(viewport=viewport, locale="en-GB")
        context.set_default_timeout(8_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_patient_pages_on_a_phone(role_page, live_server, clinic):
    page = role_page(PHONE)
    sign_in(page, live_server, clinic.person.email)
    check_pages(page, live_server, "patient", [
        "/patient/",
        f"/patient/appointments/book?doctor={clinic.doctor.id}&day={clinic.today.isoformat()}",
        "/patient/appointments/", "/inbox/", "/patient/record/"])
    focused_screenshot(page, live_server, "patient", "/patient/")


def test_reception_pages_at_the_desk(role_page, live_server, clinic):
    page = role_page(DESK)
    sign_in(page, live_server, clinic.desk.email)
    check_pages(page, live_server, "reception", [
        "/reception/", "/reception/patients/?q=mwangi", "/reception/patients/new",
        f"/reception/appointments/book?patient={clinic.patient.id}&doctor={clinic.doctor.id}"])
    focused_screenshot(page, live_server, "reception", "/reception/")


def test_doctor_pages_at_the_desk(role_page, live_server, clinic):
    page = role_page(DESK)
    sign_in(page, live_server, clinic.doctor.email)
    check_pages(page, live_server, "doctor", [
        "/doctor/", f"/doctor/patients/{clinic.patient.id}", f"/doctor/patients/{clinic.patient.id}/video-chats"])
    focused_screenshot(page, live_server, "doctor", "/doctor/")


def test_pharmacist_queue_on_a_tablet(role_page, live_server, clinic):
    page = role_page(TABLET)
    sign_in(page, live_server, clinic.pharmacist.email)
    check_pages(page, live_server, "pharmacist", ["/pharmacy/", f"/pharmacy/prescriptions/{clinic.prescription_id}"])
    focused_screenshot(page, live_server, "pharmacist", "/pharmacy/")


def test_lab_queue_on_a_tablet(role_page, live_server, clinic):
    page = role_page(TABLET)
    sign_in(page, live_server, clinic.technician.email)
    check_pages(page, live_server, "lab", ["/lab/", f"/lab/orders/{clinic.lab_order_id}"])
    focused_screenshot(page, live_server, "lab", "/lab/")


def test_admin_pages_at_the_desk(role_page, live_server, clinic):
    page = role_page(DESK)
    sign_in(page, live_server, clinic.admin.email)
    check_pages(page, live_server, "admin", ["/admin/", "/admin/people/"])
    focused_screenshot(page, live_server, "admin", "/admin/")


def tab_to(page, selector: str, *, limit: int = 80, key: str = "Tab") -> int:
    """Press Tab (or `key`) until the focused element matches `selector`; the number of presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached in {limit} presses of {key}")


def test_a_patient_books_with_the_keyboard_alone_and_focus_follows_each_choice(role_page, live_server, clinic):
    """The issue counted 65 Tab presses to book: each choice in the picker dropped focus to the top."""
    page = role_page(PHONE)
    sign_in(page, live_server, clinic.person.email)
    page.goto(live_server("/patient/appointments/book"))
    presses = tab_to(page, f'.chips a[href*="doctor={clinic.doctor.id}"]') + 1
    page.keyboard.press("Enter")
    # The picker swapped in the doctor's week: focus is on the free times, and the change is read out.
    free_times, announce = page.locator("#free-times"), page.locator("#announce")
    expect(free_times).to_be_focused()
    expect(announce).to_contain_text(re.compile(re.escape(clinic.doctor.full_name) + r": \d+ free times? on "))
    said = announce.inner_text()
    screenshot(page, "a11y-picker-focus")
    # Another day (the one just before the heading: a later day, or the next week).
    presses += tab_to(page, "nav.week a:not([aria-current])", key="Shift+Tab", limit=3) + 1
    page.keyboard.press("Enter")
    expect(announce).not_to_have_text(said)
    expect(free_times).to_be_focused()
    presses += tab_to(page, ".slots > button", limit=1) + 1
    time_shown = page.evaluate("document.activeElement.textContent").strip()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Confirm the appointment")).to_be_visible()
    presses += tab_to(page, 'input[name="mode"]', limit=20) + 1
    page.keyboard.press("Space")
    presses += tab_to(page, "form .btn-primary", limit=5) + 1
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your appointment is booked")
    expect(page.locator("#my-appointments")).to_contain_text(time_shown)
    # 30 when written, most of them the menus of two pages (the issue counted 65).
    assert presses <= 32, f"{presses} key presses to book"


def test_escape_on_the_idle_warning_keeps_the_session_and_the_warning_comes_again(role_page, idle_server, make_user):
    """Escape closed the warning and left the countdown running: signed out with no warning in sight."""
    user = make_user(Role.DOCTOR)
    page = role_page(DESK)
    sign_in(page, idle_server, user.email)
    expect(page).to_have_url(idle_server("/doctor/"))
    dialog = page.locator("#idle-warning")
    expect(dialog).to_have_attribute("open", "", timeout=6_000)
    with page.expect_response(lambda r: r.url.endswith("/session/keepalive")) as kept:
        page.keyboard.press("Escape")
    assert kept.value.ok and kept.value.json()["seconds_left"] >= 3
    expect(dialog).not_to_have_attribute("open", "")
    # Left alone again, the person is warned again before being signed out, still on their page.
    expect(dialog).to_have_attribute("open", "", timeout=6_000)
    assert page.url == idle_server("/doctor/")
