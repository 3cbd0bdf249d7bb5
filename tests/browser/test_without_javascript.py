"""Every desk, doctor and patient flow with JavaScript off, walked as a person would: links,
buttons and forms only (issue 12 item 11). Each step must land on a page that says what happened:
no dead button, no 400/405/500, and a destructive step asks first on a page of its own."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.files_support import PDF

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def no_js(chromium):
    """no_js(viewport) -> a page with JavaScript disabled, its own cookies; it records every
    response at 400 or above but 422 (a form shown again with its errors): a flow must meet none."""
    contexts = []

    def make(viewport):
        context = chromium.new_context(viewport=viewport, locale="en-GB", java_script_enabled=False)
        context.set_default_timeout(8_000)
        contexts.append(context)
        page = context.new_page()
        page.failures = []
        page.on("response", lambda r: page.failures.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 400 and r.status != 422 else None)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def clinic(app, live_server, make_user, make_patient):
    """A doctor (Paediatrics) who works every day from 00:00 to 23:40 in 20-minute slots, another
    doctor of another speciality, a receptionist, and a patient with an account."""
    from app.accounts.models import StaffProfile
    from app.core.clock import clock
    from app.extensions import db
    from app.scheduling.availability import HoursInput, weekly_hours_set

    zone = ZoneInfo(live_server.app.config["CLINIC_TIMEZONE"])
    if dt.datetime.now(zone).time() >= dt.time(21, 0):
        clock.freeze(dt.datetime.combine(dt.datetime.now(zone).date(), dt.time(12, 0), tzinfo=zone))
    doctor = make_user(Role.DOCTOR, full_name="Dr. Wanjiru Nyambura")
    other = make_user(Role.DOCTOR, full_name="Dr. Otieno Ouma")
    desk = make_user(Role.RECEPTION, full_name="Achieng Odhiambo")
    account = make_user(Role.PATIENT, email="nyokabi@example.test", full_name="Nyokabi Wanjiku")
    patient = make_patient(given_name="Nyokabi", family_name="Wanjiku", phone="+254712000101",
                           date_of_birth=dt.date(1990, 5, 1), user_id=account.id)
    with app.app_context():
        db.session.get(StaffProfile, doctor.id).speciality = "Paediatrics"
        for weekday in range(7):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(0, 0), dt.time(23, 40), 20)])
        db.session.commit()
    today = clock.now().astimezone(zone).date()
    return SimpleNamespace(doctor=doctor, other=other, desk=desk, account=account, patient=patient, today=today)


def clean(page) -> None:
    assert page.failures == [], page.failures


def choose_day(page, day: dt.date) -> None:
    """In the picker's week, the day's link (the next week's first, when the day is in it)."""
    link = page.locator(f'nav.week a[href*="day={day.isoformat()}"]')
    if not link.count():
        page.get_by_role("link", name="Next week").click()
    link.click()
    expect(page.get_by_role("heading", name=re.compile("^Free times on"))).to_contain_text(day.strftime("%a %d %b"))


# -- the desk, 1280 px -----------------------------------------------------------------------------

def test_the_desk_without_javascript(app, no_js, live_server, clinic, make_patient):
    c, server = clinic, live_server
    daniel = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444",
                          date_of_birth=dt.date(1985, 3, 14))
    desk = no_js(DESK)
    sign_in(desk, server, c.desk.email)
    expect(desk).to_have_url(server("/reception/"))

    # Find a patient: the search box, the Find button, the result.
    desk.get_by_label("Find a patient").fill("wanjiku nyokabi")
    desk.get_by_role("button", name="Find").click()
    desk.locator("#patient-results a", has_text="Wanjiku").click()
    expect(desk.get_by_role("heading", name="Nyokabi Wanjiku")).to_be_visible()
    clean(desk)

    # Register a walk-in who already has a record: caught, then registered anyway with a reason.
    desk.goto(server("/reception/"))
    desk.get_by_role("link", name="Register a walk-in").click()
    desk.fill("#given_name", "Kamau")
    desk.fill("#family_name", "Daniel")
    desk.fill("#phone", "+254722333444")
    desk.fill("#date_of_birth", "1985-03-14")
    desk.get_by_role("button", name="Register").click()
    expect(desk.locator("#likely-duplicates")).to_contain_text(daniel.mrn)
    assert desk.input_value("#given_name") == "Kamau"
    assert desk.input_value("#phone") == "+254722333444"
    assert desk.input_value("#date_of_birth") == "1985-03-14"
    desk.fill("#duplicate_reason", "A different person: the twin brother")
    desk.get_by_role("button", name="Register anyway").click()
    expect(desk.get_by_role("status")).to_contain_text("is registered as")
    expect(desk.get_by_role("heading", name="Kamau Daniel")).to_be_visible()
    clean(desk)

    # Book for a patient through the picker: speciality, doctor, day, time, confirm.
    desk.goto(server(f"/reception/patients/{c.patient.id}"))
    desk.get_by_role("link", name="Book an appointment").click()
    desk.get_by_label("Speciality").select_option("Paediatrics")
    desk.get_by_role("button", name="Show").click()
    expect(desk.locator(".chips a")).to_have_count(1)
    desk.locator(".chips a", has_text=c.doctor.full_name).click()
    choose_day(desk, c.today)
    screenshot(desk, "nojs-desk-picker-1280")
    first = desk.locator(".slots > button").first
    time_shown = first.inner_text().strip()
    first.click()
    expect(desk.get_by_role("heading", name="Confirm the appointment")).to_be_visible()
    expect(desk.locator("main")).to_contain_text("Nyokabi Wanjiku")
    desk.get_by_label("At the clinic").check()
    desk.get_by_role("button", name="Book this time").click()
    expect(desk.get_by_role("status")).to_contain_text("Booked Nyokabi Wanjiku")
    booked = desk.locator("li[id^=appointment-]", has_text=time_shown)
    expect(booked).to_be_visible()
    clean(desk)

    # Check in from the queue, then undo it from the notice.
    desk.goto(server("/reception/"))
    desk.locator("#queue-booked li", has_text="Nyokabi Wanjiku").get_by_role("button", name="Check in").click()
    expect(desk.get_by_role("status")).to_contain_text("Checked in.")
    expect(desk.locator("#queue-arrived")).to_contain_text("Nyokabi Wanjiku")
    desk.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(desk.get_by_role("status")).to_contain_text("Check-in undone")
    expect(desk.locator("#queue-booked")).to_contain_text("Nyokabi Wanjiku")
    clean(desk)

    # Cancel, through the cancel page (the reason the patient is told).
    desk.locator("#queue-booked li a", has_text="Nyokabi Wanjiku").click()
    desk.locator("li[id^=appointment-]", has_text=time_shown).get_by_role("link", name="Cancel").click()
    expect(desk.get_by_role("heading", name="Cancel the appointment")).to_be_visible()
    screenshot(desk, "nojs-desk-cancel-1280")
    desk.get_by_role("link", name="Go back").click()  # second thoughts: nothing cancelled
    expect(desk.get_by_role("heading", name="Nyokabi Wanjiku")).to_be_visible()
    desk.locator("li[id^=appointment-]", has_text=time_shown).get_by_role("link", name="Cancel").click()
    desk.get_by_label(re.compile("Reason")).fill("The clinic is closed for a training day")
    desk.get_by_role("button", name="Cancel the appointment").click()
    expect(desk.get_by_role("status")).to_contain_text("Appointment cancelled")
    expect(desk.locator("#appointment-list, main")).to_contain_text("Nothing booked.")
    clean(desk)

    desk.get_by_role("button", name="Sign out").click()
    expect(desk).to_have_url(re.compile(r"/login"))
    clean(desk)


# -- the doctor, 1280 px ---------------------------------------------------------------------------

@pytest.fixture
def doctors_day(app, clinic, make_patient):
    """Two patients booked today with the clinic's doctor, both arrived; a pharmacy and the formulary."""
    from app.accounts.models import Site, SiteKind
    from app.core.actor import Actor
    from app.extensions import db
    from app.prescriptions.services import formulary_ensure
    from app.scheduling import services
    from app.scheduling.models import VisitMode
    from app.scheduling.slots import free_slots

    baraka = make_patient(given_name="Baraka", family_name="Mwangi", phone="+254712000777")
    with app.app_context():
        formulary_ensure()
        db.session.add(Site(name="Ngong Road Pharmacy", kind=SiteKind.PHARMACY.value))
        slots = free_slots(clinic.doctor.id, clinic.today)
        for n, (patient, slot) in enumerate(((clinic.patient, slots[0]), (baraka, slots[1]))):
            appointment = services.appointment_book(
                actor=Actor.for_user(clinic.desk), patient_id=patient.id, doctor_id=clinic.doctor.id,
                starts_at=slot.starts_at, mode=VisitMode.IN_PERSON, reason=None, idempotency_key=f"nojs-{n}" * 3)
            services.appointment_advance(actor=Actor.for_user(clinic.desk), appointment_id=appointment.id,
                                         action="check_in")
        db.session.commit()
    clinic.baraka = baraka
    return clinic


def test_the_doctor_without_javascript(no_js, live_server, doctors_day):
    c, server = doctors_day, live_server
    doctor = no_js(DESK)
    sign_in(doctor, server, c.doctor.email)
    expect(doctor).to_have_url(server("/doctor/"))
    nyokabi = doctor.locator("#doctor-day li", has_text="Nyokabi Wanjiku")
    baraka = doctor.locator("#doctor-day li", has_text="Baraka Mwangi")
    expect(nyokabi).to_contain_text("Arrived")
    screenshot(doctor, "nojs-doctor-day-1280")

    # The chart: an allergy (a mistake first: shown again with what was typed), then a note.
    nyokabi.get_by_role("link", name="Chart").click()
    expect(doctor.get_by_role("heading", name="Nyokabi Wanjiku")).to_be_visible()
    doctor.get_by_role("link", name="Add allergy").click()
    doctor.get_by_label(re.compile("Reaction")).fill("Hives")
    doctor.get_by_role("button", name="Save").click()
    expect(doctor.locator(".error").first).to_be_visible()
    assert doctor.get_by_label(re.compile("Reaction")).input_value() == "Hives"
    doctor.get_by_label(re.compile("Substance")).fill("Penicillin")
    doctor.get_by_role("button", name="Save").click()
    expect(doctor.get_by_role("status")).to_contain_text("Allergy added.")
    expect(doctor.locator("#allergy")).to_contain_text("Penicillin")
    doctor.get_by_role("link", name="Add note").click()
    doctor.locator("#add-note-form textarea").first.fill("Came with a cough for a week; chest clear.")
    doctor.get_by_role("button", name="Save").click()
    expect(doctor.get_by_role("status")).to_contain_text("Note added.")
    expect(doctor.locator("#note")).to_contain_text("chest clear")
    clean(doctor)

    # The visits: start one, then the other (a page asks first), finish both.
    doctor.get_by_role("link", name="Today").click()
    nyokabi.get_by_role("button", name="Start visit").click()
    expect(doctor.get_by_role("status")).to_contain_text("Visit started.")
    expect(nyokabi).to_contain_text("With the doctor")
    expect(baraka.get_by_role("button", name="Mark done")).to_have_count(0)
    baraka.get_by_role("button", name="Start visit").click()
    expect(doctor.get_by_role("heading", name="Already with a patient")).to_be_visible()
    screenshot(doctor, "nojs-doctor-start-alongside-1280")
    doctor.get_by_role("link", name="Not now").click()
    expect(baraka).to_contain_text("Arrived")
    baraka.get_by_role("button", name="Start visit").click()
    doctor.get_by_role("button", name="Start this visit too").click()
    expect(baraka).to_contain_text("With the doctor")
    nyokabi.get_by_role("button", name="Mark done").click()
    expect(doctor.get_by_role("status")).to_contain_text("Marked done.")
    expect(nyokabi).to_contain_text("Done")
    clean(doctor)

    # A prescription: the medicine chosen from the full list (no narrowing without JavaScript).
    baraka.get_by_role("link", name="Chart").click()
    doctor.get_by_role("link", name="Write a prescription").click()
    expect(doctor.locator(".rx-find").first).to_be_hidden()  # it narrows the list as one types: JavaScript only
    medicines = doctor.locator("#items-0-medicine_id")
    medicines.select_option(medicines.locator("option", has_text="Amoxicillin").first.get_attribute("value"))
    doctor.locator("#items-0-dose").fill("500")
    doctor.locator("#items-0-frequency").select_option("tds")
    doctor.locator("#items-0-days").fill("5")
    doctor.locator("#items-0-quantity").fill("15")
    doctor.get_by_role("button", name="Check and sign").click()
    expect(doctor.locator(".flash-success")).to_contain_text("Prescription signed and sent to Ngong Road Pharmacy")
    clean(doctor)

    doctor.get_by_role("button", name="Sign out").click()
    expect(doctor).to_have_url(re.compile(r"/login"))


# -- the patient, 360 px ---------------------------------------------------------------------------

def test_the_patient_without_javascript(app, no_js, live_server, clinic):
    c, server = clinic, live_server
    tomorrow = c.today + dt.timedelta(days=1)
    patient = no_js(PHONE)
    sign_in(patient, server, c.account.email, password="not-my-password")
    expect(patient.locator(".error, .alert").first).to_be_visible()
    assert patient.input_value("#email") == c.account.email
    sign_in(patient, server, c.account.email)
    expect(patient).to_have_url(server("/patient/"))

    # Book: a speciality, the doctor, tomorrow, a time, confirm.
    patient.get_by_role("link", name="Book an appointment").first.click()
    patient.get_by_label("Speciality").select_option("Paediatrics")
    patient.get_by_role("button", name="Show").click()
    patient.locator(".chips a", has_text=c.doctor.full_name).click()
    choose_day(patient, tomorrow)
    screenshot(patient, "nojs-patient-picker-360")
    patient.locator(".slots > button", has_text="09:00").click()
    expect(patient.get_by_role("heading", name="Confirm the appointment")).to_be_visible()
    patient.get_by_label("At the clinic").check()
    patient.get_by_role("button", name="Book this time").click()
    expect(patient.get_by_role("status")).to_contain_text("Your appointment is booked")
    mine = patient.locator("#coming-appointments li[id^=appointment-]")
    expect(mine).to_contain_text("09:00")
    clean(patient)

    # Move it to 10:00: the picker opens on the doctor, a time asks first, then it moves.
    mine.get_by_role("link", name="Move").click()
    expect(patient.get_by_role("heading", name="Move the appointment")).to_be_visible()
    choose_day(patient, tomorrow)
    patient.locator(".slots > button", has_text="10:00").click()
    expect(patient.get_by_role("heading", name="Move the appointment?")).to_be_visible()
    screenshot(patient, "nojs-patient-move-confirm-360")
    patient.get_by_label("By video").check()
    patient.get_by_role("button", name="Move to this time").click()
    expect(patient.get_by_role("status")).to_contain_text("Your appointment has moved.")
    expect(mine).to_contain_text("10:00")
    expect(mine).to_contain_text("video")
    clean(patient)

    # Cancel it: a page asks first; "Keep it" keeps it, the second time it goes.
    mine.get_by_role("button", name="Cancel").click()
    expect(patient.get_by_role("heading", name=re.compile("Cancel your appointment with"))).to_be_visible()
    screenshot(patient, "nojs-patient-cancel-confirm-360")
    patient.get_by_role("link", name="Keep it").click()
    expect(mine).to_contain_text("10:00")
    mine.get_by_role("button", name="Cancel").click()
    patient.get_by_role("button", name="Cancel the appointment").click()
    expect(patient.get_by_role("status")).to_contain_text("Your appointment is cancelled.")
    expect(patient.locator("#cancelled-appointments")).to_contain_text("10:00")
    clean(patient)

    # Messages: the booking, the move and the cancellation; marked read.
    patient.get_by_role("link", name=re.compile("^Messages")).click()
    expect(patient.locator("#inbox li[id^=message-]")).to_have_count(3)
    patient.get_by_role("button", name="Mark all as read").click()
    expect(patient.locator("#inbox .badge")).to_have_count(0)
    patient.locator("#inbox li[id^=message-] a").first.click()
    expect(patient).not_to_have_url(re.compile("/inbox"))
    clean(patient)

    # The record, then the language: the pages answer in Swahili; then sign out.
    patient.get_by_role("link", name="My record").click()
    expect(patient.get_by_role("heading", name=re.compile("record", re.I)).first).to_be_visible()
    screenshot(patient, "nojs-patient-record-360")
    patient.get_by_role("link", name="Add a document").click()
    patient.get_by_role("button", name="Add the document").click()  # no file yet: said beside the field
    expect(patient.locator(".error").first).to_be_visible()
    patient.get_by_label("Title").fill("Clinic letter, March")
    patient.set_input_files("input[type=file]", files=[{"name": "letter.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF}])
    patient.get_by_role("button", name="Add the document").click()
    expect(patient.locator("#documents")).to_contain_text("Clinic letter, March")
    patient.get_by_role("link", name="Clinic letter, March").click()
    expect(patient.get_by_role("heading", name="Clinic letter, March")).to_be_visible()
    clean(patient)
    patient.get_by_role("link", name="Nyokabi Wanjiku").click()
    patient.get_by_label("Language").select_option("sw")
    patient.get_by_role("button", name="Save").click()
    expect(patient.locator("html")).to_have_attribute("lang", "sw")
    clean(patient)
    patient.locator("form[action$='/logout'] button").click()
    expect(patient).to_have_url(re.compile(r"/login"))
    clean(patient)


def test_the_doctors_chart_and_hours_without_javascript(no_js, live_server, doctors_day):
    c, server = doctors_day, live_server
    doctor = no_js(DESK)
    sign_in(doctor, server, c.doctor.email)
    doctor.goto(server(f"/doctor/patients/{c.patient.id}"))

    # A problem with its ICD-10 code typed (no search-as-you-type: the code is matched on save).
    doctor.get_by_role("link", name="Add problem").click()
    doctor.locator("#add-problem-form #code").fill("A09")
    doctor.locator("#add-problem-form #condition").fill("Diarrhoea for three days")
    doctor.get_by_role("button", name="Save").click()
    expect(doctor.get_by_role("status")).to_contain_text("Problem added.")
    problem = doctor.locator("#problem li[id^=entry-]", has_text="A09")
    expect(problem).to_be_visible()

    # "More" opens (a <details>), its link leads to the entry's actions: mark it resolved.
    problem.locator("summary").click()
    problem.get_by_role("link", name="Amend, strike out, history").click()
    doctor.get_by_role("button", name="Mark resolved").click()
    expect(doctor.get_by_role("status")).to_contain_text("Marked as resolved.")
    expect(problem).to_contain_text("resolved")

    # Entered in error asks first on its own page, with the reason; then the entry is struck through.
    doctor.get_by_role("link", name="Add allergy").click()
    doctor.get_by_label(re.compile("Substance")).fill("Latex")
    doctor.get_by_role("button", name="Save").click()
    allergy = doctor.locator("#allergy li[id^=entry-]", has_text="Latex")
    allergy.locator("summary").click()
    allergy.get_by_role("link", name="Amend, strike out, history").click()
    doctor.get_by_role("link", name="Entered in error").click()
    expect(doctor.get_by_role("heading", name="Mark as entered in error")).to_be_visible()
    doctor.get_by_role("button", name="Mark as entered in error").click()
    expect(doctor.locator(".error").first).to_be_visible()  # a reason is needed: nothing changed yet
    doctor.get_by_label(re.compile("Reason|Why")).fill("Recorded in the wrong chart.")
    doctor.get_by_role("button", name="Mark as entered in error").click()
    expect(doctor.locator("#allergy del")).to_contain_text("Latex")
    clean(doctor)

    # My hours: a day away, then removed through the confirmation page ("Go back" first).
    doctor.get_by_role("link", name="My hours").click()
    away = c.today + dt.timedelta(days=20)
    doctor.get_by_label("From date").fill(away.isoformat())
    doctor.get_by_role("button", name="Add").click()
    leave = doctor.locator("li", has_text="Away")
    expect(leave).to_have_count(1)
    leave.get_by_role("button", name="Remove").click()
    expect(doctor.locator("#confirm-page")).to_be_visible()
    screenshot(doctor, "nojs-doctor-remove-leave-confirm-1280")
    doctor.locator("#confirm-page").get_by_role("link").click()
    expect(leave).to_have_count(1)
    leave.get_by_role("button", name="Remove").click()
    doctor.locator("#confirm-page").get_by_role("button").click()
    expect(leave).to_have_count(0)
    clean(doctor)


def test_the_desks_other_steps_without_javascript(app, no_js, live_server, clinic, make_patient):
    """A walk-in seen today, a booking form shown again after a slip (what was typed kept), a move
    with the reason the patient is told, and a no-show taken back."""
    from app.core.clock import clock

    c, server = clinic, live_server
    desk = no_js(DESK)
    sign_in(desk, server, c.desk.email)
    desk.goto(server(f"/reception/patients/{c.patient.id}"))

    # The time is taken by someone else while the form is open: shown again, the reason kept, the
    # nearest free times offered.
    zone = ZoneInfo(live_server.app.config["CLINIC_TIMEZONE"])
    day = c.today + dt.timedelta(days=2)
    desk.goto(server(f"/reception/appointments/book?patient={c.patient.id}&doctor={c.doctor.id}&day={day.isoformat()}"))
    desk.locator(".slots > button", has_text="08:40").click()
    desk.get_by_label("Reason for the visit (optional)").fill("Review of the blood results")
    other = make_patient(given_name="Baraka", family_name="Mwangi")
    with app.app_context():
        from app.core.actor import Actor
        from app.extensions import db
        from app.scheduling import services
        from app.scheduling.models import VisitMode

        services.appointment_book(actor=Actor.for_user(c.desk), patient_id=other.id, doctor_id=c.doctor.id,
                                  starts_at=dt.datetime.combine(day, dt.time(8, 40), tzinfo=zone),
                                  mode=VisitMode.IN_PERSON, reason=None, idempotency_key="someone-else-first")
        db.session.commit()
    desk.get_by_role("button", name="Book this time").click()
    expect(desk.get_by_role("link", name=re.compile("09:00"))).to_be_visible()
    assert desk.get_by_label("Reason for the visit (optional)").input_value() == "Review of the blood results"
    desk.get_by_role("link", name=re.compile("09:00")).click()
    desk.get_by_label("Reason for the visit (optional)").fill("Review of the blood results")
    desk.get_by_role("button", name="Book this time").click()
    expect(desk.get_by_role("status")).to_contain_text("Booked Nyokabi Wanjiku")
    clean(desk)

    # Move it to 11:00, with the reason the patient is told.
    booked = desk.locator("li[id^=appointment-]", has_text="09:00")
    booked.get_by_role("link", name="Move").click()
    expect(desk.get_by_role("heading", name="Move the appointment")).to_be_visible()
    choose_day(desk, day)
    desk.locator(".slots > button", has_text="11:00").click()
    expect(desk.get_by_role("heading", name="Move the appointment?")).to_be_visible()
    desk.get_by_label("Why is it moving?").fill("The doctor is in theatre in the morning")
    desk.get_by_role("button", name="Move to this time").click()
    expect(desk.get_by_role("status")).to_contain_text("Appointment moved")
    expect(desk.locator("li[id^=appointment-]", has_text="11:00")).to_be_visible()
    clean(desk)

    # A walk-in: seen today, booked and checked in at once.
    desk.get_by_role("link", name="Walk-in: see today").click()
    desk.locator("#walk-in").get_by_role("button", name=re.compile(c.doctor.full_name)).click()
    expect(desk.get_by_role("status")).to_contain_text("is checked in for")
    expect(desk.locator("#queue-arrived")).to_contain_text("Nyokabi Wanjiku")
    clean(desk)

    # Two days on, 20 minutes after the moved appointment's start: a no-show, then taken back.
    clock.freeze(dt.datetime.combine(day, dt.time(11, 20), tzinfo=zone))
    desk.get_by_role("link", name="Front desk").click()
    late = desk.locator("#queue-booked li", has_text="Nyokabi Wanjiku")
    late.get_by_role("button", name="No-show").click()
    expect(desk.get_by_role("status")).to_contain_text("Marked as no-show.")
    expect(desk.locator("#queue-booked")).not_to_contain_text("Nyokabi Wanjiku")
    desk.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(desk.get_by_role("status")).to_contain_text("No-show undone")
    expect(late).to_be_visible()
    clean(desk)


def test_the_desks_speciality_choice_with_javascript_keeps_the_patient_too(chromium, live_server, clinic):
    """The same form, with htmx: the choice swaps the picker alone and the address keeps the patient."""
    context = chromium.new_context(viewport=DESK, locale="en-GB")
    try:
        desk = context.new_page()
        sign_in(desk, live_server, clinic.desk.email)
        desk.goto(live_server(f"/reception/appointments/book?patient={clinic.patient.id}"))
        desk.wait_for_function("() => window.htmx !== undefined")
        desk.get_by_label("Speciality").select_option("Paediatrics")
        expect(desk.locator(".chips a")).to_have_count(1)
        expect(desk).to_have_url(re.compile(rf"patient={clinic.patient.id}\b.*speciality=Paediatrics|"
                                            rf"speciality=Paediatrics.*patient={clinic.patient.id}\b"))
        desk.locator(".chips a", has_text=clinic.doctor.full_name).click()
        expect(desk.get_by_role("heading", name="Book for Nyokabi Wanjiku")).to_be_visible()
    finally:
        context.close()
