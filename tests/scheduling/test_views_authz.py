"""Nobody sees or changes someone else's appointment; tampered input gets a message or a 4xx, never a 500."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.extensions import db
from app.scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY, TUESDAY, appointment, at
from tests.security_support import another_token

pytestmark = pytest.mark.usefixtures("the_week_before")


@pytest.fixture
def the_week_before(freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))


@pytest.fixture
def a_booking(doctor, patient_account, book):
    """Patient A's video appointment on Monday 09:00: (user A, patient A, appointment id)."""
    from app.scheduling.models import VisitMode

    user, patient = patient_account("Amani", "Otieno")
    return user, patient, book(user, patient.id, doctor.id, at(MONDAY, 9), mode=VisitMode.VIDEO, reason="Private matter")


@pytest.fixture
def patient_b(app, patient_account):
    """Patient B, signed in: (Browser, user, patient)."""
    from tests.conftest import Browser

    user, patient = patient_account("Baraka", "Kiprop")
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser, user, patient


def count(app, **filters) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Appointment)
        for name, value in filters.items():
            query = query.where(getattr(Appointment, name) == value)
        return db.session.execute(query).scalar_one()


def status_of(app, appointment_id: int) -> str:
    with app.app_context():
        return appointment(appointment_id).status


# -- one patient, another's appointment ------------------------------------------------------------------

def test_a_patient_cannot_see_or_change_anothers_appointment(app, a_booking, patient_b):
    _, _, theirs = a_booking
    browser, _, _ = patient_b
    assert browser.get(f"/patient/appointments/{theirs}/move").status_code == 404
    assert browser.get(f"/patient/appointments/{theirs}/move?doctor=1").status_code == 404
    assert browser.post(f"/patient/appointments/{theirs}/cancel", {"confirmed": "yes"}, page="/patient/appointments/").status_code == 404
    moved = browser.post(f"/patient/appointments/{theirs}/move", {
        "starts_at": at(TUESDAY, 9).isoformat(), "doctor_id": "1", "idempotency_key": "x" * 24}, page="/patient/appointments/")
    assert moved.status_code == 404
    assert status_of(app, theirs) == "booked" and count(app) == 1
    listing = browser.get("/patient/appointments/").get_data(as_text=True)
    assert f"appointment-{theirs}" not in listing and "Mon 01 Mar 2027, 09:00" not in listing


def test_a_patient_cannot_open_anothers_video_room(app, a_booking, patient_b, signed_in):
    user_a, _, theirs = a_booking
    with app.app_context():
        token = appointment(theirs).video_token
    browser, _, _ = patient_b
    assert browser.get(f"/visit/{token}").status_code == 404
    assert browser.get(f"/visit/{another_token(token)}").status_code == 404
    other_doctor, _ = signed_in(Role.DOCTOR)
    assert other_doctor.get(f"/visit/{token}").status_code == 404
    from tests.conftest import Browser

    owner = Browser(app.test_client())
    owner.login(user_a.email)
    assert owner.get(f"/visit/{token}").status_code == 200


def test_a_patient_cancels_and_moves_their_own(app, doctor, patient_b, book):
    browser, user, patient = patient_b
    mine = book(user, patient.id, doctor.id, at(MONDAY, 10))
    page = browser.get(f"/patient/appointments/{mine}/move?doctor={doctor.id}&day={TUESDAY.isoformat()}")
    assert page.status_code == 200
    asked = browser.get(f"/patient/appointments/{mine}/move?doctor={doctor.id}&start=2027-03-02T06:00Z")  # 09:00 in Nairobi
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', asked.get_data(as_text=True)).group(1)
    moved = browser.post(f"/patient/appointments/{mine}/move", {
        "starts_at": at(TUESDAY, 9).isoformat(), "doctor_id": str(doctor.id), "idempotency_key": key},
        page="/patient/appointments/")
    assert moved.status_code == 303
    assert status_of(app, mine) == "cancelled"
    with app.app_context():
        new = db.session.execute(select(Appointment).where(Appointment.rescheduled_from_id == mine)).scalar_one()
    assert browser.post(f"/patient/appointments/{new.id}/cancel", {"confirmed": "yes"}, page="/patient/appointments/").status_code == 303
    assert status_of(app, new.id) == "cancelled"


# -- tampered booking forms -------------------------------------------------------------------------------

CONFIRM = "/patient/appointments/book/confirm"


@pytest.mark.parametrize("starts_at, doctor_field, expected", [
    ("garbage", None, (400,)),
    ("", None, (400,)),
    ("2027-03-01T09:00:00", None, (400,)),                      # naive: whose 09:00?
    ("2027-03-01T09:00:00+03:00", "other", (422, "does not work at that time")),
    ("2099-03-01T09:00:00+03:00", None, (422, "up to 90 days ahead")),
    ("2020-03-02T09:00:00+03:00", None, (422, "That time has passed")),
    ("9999-12-31T23:00:00-12:00", None, (400, 422)),             # beyond the calendar once in UTC
    ("0001-01-01T00:00:00+05:00", None, (400, 422)),
    ("9999-12-31T22:00:00+00:00", None, (400, 422)),             # fine in UTC, beyond the calendar in Nairobi
    ("2027-03-01T09:07:00+03:00", None, (422, "does not work at that time")),
    ("2027-03-01T09:00:00+03:00", "abc", (404,)),
    ("2027-03-01T09:00:00+03:00", "999999", (404,)),
    ("2027-03-01T09:00:00+03:00", "me", (404,)),                 # the patient's own user id: not a doctor
])
def test_tampered_booking_values_get_a_message_or_4xx_never_500(app, doctor, make_user, set_hours, patient_b, starts_at,
                                                                 doctor_field, expected):
    browser, user, _ = patient_b
    other = make_user(Role.DOCTOR)
    set_hours(other.id, 0, "14:00", "16:00")
    doctor_id = {None: str(doctor.id), "other": str(other.id), "me": str(user.id)}.get(doctor_field, doctor_field)
    response = browser.post(CONFIRM, {"doctor_id": doctor_id, "starts_at": starts_at, "idempotency_key": "t" * 24,
                                      "mode": "in_person"}, page="/patient/appointments/")
    assert response.status_code in [e for e in expected if isinstance(e, int)], response.get_data(as_text=True)[:300]
    for message in [e for e in expected if isinstance(e, str)]:
        assert message in response.get_data(as_text=True)
    assert count(app) == 0


@pytest.mark.parametrize("query", ["doctor={d}&start=garbage", "doctor={d}&start=2027-03-01T09:00:00",
                                   "doctor=abc&start=2027-03-01T09:00:00%2B03:00", "start=2027-03-01T09:00:00%2B03:00",
                                   "doctor={d}&start=9999-12-31T23:00:00-12:00", "doctor={d}"])
def test_tampered_confirm_links_never_500(doctor, patient_b, query):
    browser, _, _ = patient_b
    response = browser.get(f"{CONFIRM}?{query.format(d=doctor.id)}")
    assert response.status_code in (400, 404), response.status_code


def test_a_tampered_mode_or_key_is_refused_with_a_message(app, doctor, patient_b):
    browser, _, _ = patient_b
    base = {"doctor_id": str(doctor.id), "starts_at": at(MONDAY, 9).isoformat()}
    response = browser.post(CONFIRM, {**base, "idempotency_key": "t" * 24, "mode": "teleport"}, page="/patient/appointments/")
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    response = browser.post(CONFIRM, {**base, "idempotency_key": "short", "mode": "in_person"}, page="/patient/appointments/")
    assert response.status_code == 422 and "Choose the time again" in response.get_data(as_text=True)
    assert count(app) == 0


def test_a_taken_slot_offers_the_nearest_free_times(app, doctor, a_booking, patient_b):
    browser, _, _ = patient_b
    response = browser.post(CONFIRM, {"doctor_id": str(doctor.id), "starts_at": at(MONDAY, 9).isoformat(),
                                      "idempotency_key": "t" * 24, "mode": "in_person"}, page="/patient/appointments/")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That time was just taken" in page and "Nearest free times" in page
    assert "Mon 01 Mar 2027, 08:30" in page and "Mon 01 Mar 2027, 09:30" in page
    assert count(app) == 1


def test_the_same_booking_form_posted_twice_books_once(app, doctor, patient_b):
    browser, _, _ = patient_b
    form = {"doctor_id": str(doctor.id), "starts_at": at(MONDAY, 9).isoformat(), "idempotency_key": "retry-key-" + "r" * 20,
            "mode": "video", "reason": "Follow-up"}
    first = browser.post(CONFIRM, form, page="/patient/appointments/")
    again = browser.post(CONFIRM, form, page="/patient/appointments/")
    assert (first.status_code, again.status_code) == (303, 303)
    assert count(app) == 1


@pytest.mark.parametrize("query, statuses", [
    ("doctor=999999", (404,)), ("doctor=abc", (200,)), ("day=garbage", (400,)), ("day=9999-12-31", (400,)),
    ("day=0001-01-01", (400,)), ("day=2030-01-01", (200,)), ("speciality=%3Cscript%3E", (200,)),
])
def test_tampered_picker_links_never_500(doctor, patient_b, query, statuses):
    browser, _, _ = patient_b
    response = browser.get(f"/patient/appointments/book?{query}")
    assert response.status_code in statuses
    assert "<script>" not in response.get_data(as_text=True).split("</head>")[-1].replace("<script src=", "")


# -- doctors and the desk ---------------------------------------------------------------------------------

@pytest.fixture
def monday_morning(freeze):
    def go():
        freeze(at(MONDAY, 8, 45))
    return go


def test_a_doctor_cannot_act_on_another_doctors_appointment(app, a_booking, signed_in, monday_morning):
    _, _, theirs = a_booking
    monday_morning()
    browser, _ = signed_in(Role.DOCTOR)
    for action in ("start", "complete", "check-in", "no-show"):
        assert browser.post(f"/doctor/appointments/{theirs}/{action}", page="/doctor/").status_code == 404
    assert browser.get(f"/doctor/appointments/{theirs}").status_code == 404
    assert browser.get(f"/doctor/appointments/{theirs}/cancel").status_code == 404
    assert browser.post(f"/doctor/appointments/{theirs}/cancel", {"reason": "mine"}, page="/doctor/").status_code == 404
    assert status_of(app, theirs) == "booked"


def test_the_doctor_starts_their_own(app, doctor, a_booking, monday_morning):
    from tests.conftest import Browser

    _, _, theirs = a_booking
    monday_morning()
    browser = Browser(app.test_client())
    browser.login(doctor.email)
    response = browser.post(f"/doctor/appointments/{theirs}/start", page="/doctor/")
    assert response.status_code == 303
    assert status_of(app, theirs) == "in_consultation"


@pytest.mark.parametrize("path", ["/doctor/appointments/day?day=9999-12-31", "/doctor/appointments/day?day=0001-01-01",
                                  "/doctor/appointments/week?day=9999-12-31", "/doctor/appointments/week?day=0001-01-01",
                                  "/doctor/appointments/day?day=nonsense", "/reception/appointments/book?patient=abc"])
def test_tampered_dates_on_staff_pages_never_500(signed_in, path):
    role = Role.RECEPTION if path.startswith("/reception") else Role.DOCTOR
    browser, _ = signed_in(role)
    assert browser.get(path).status_code in (200, 400, 404)


def test_the_desk_checks_a_patient_in_with_htmx_and_without(app, doctor, patient_account, book, signed_in, monday_morning):
    first_user, first = patient_account("Amani", "Otieno")
    second_user, second = patient_account("Baraka", "Kiprop")
    first_id = book(first_user, first.id, doctor.id, at(MONDAY, 9))
    second_id = book(second_user, second.id, doctor.id, at(MONDAY, 9, 30))
    monday_morning()
    browser, _ = signed_in(Role.RECEPTION)
    fragment = browser.post(f"/reception/appointments/{first_id}/check-in", page="/reception/",
                            headers={"HX-Request": "true", "HX-Target": "clinic-queue"})
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and 'id="clinic-queue"' in html and "Checked in." in html
    arrived = html[html.index('id="queue-arrived"'):html.index('id="queue-with-doctor"')]
    assert "Amani Otieno" in arrived and "Baraka Kiprop" not in arrived
    assert len(fragment.get_data()) < 5 * 1024
    plain = browser.post(f"/reception/appointments/{second_id}/check-in", page="/reception/")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/reception/")
    assert (status_of(app, first_id), status_of(app, second_id)) == ("checked_in", "checked_in")


def test_a_refused_step_answers_htmx_with_the_message(app, doctor, a_booking, signed_in, monday_morning):
    _, _, theirs = a_booking
    monday_morning()
    browser, _ = signed_in(Role.RECEPTION)
    response = browser.post(f"/reception/appointments/{theirs}/no-show", page="/reception/", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "marked absent 15 minutes after the start, at 09:15" in response.get_data(as_text=True)
    assert status_of(app, theirs) == "booked"
    assert browser.post("/reception/appointments/999999/check-in", page="/reception/").status_code == 404


def test_the_day_picker_fragment_is_small(doctor, set_hours, patient_b):
    set_hours(doctor.id, 0, "08:00", "17:00", slot=15, brk=("13:00", "14:00"))  # a full clinic day: 32 slots
    browser, _, _ = patient_b
    response = browser.get(f"/patient/appointments/book?doctor={doctor.id}&day={MONDAY.isoformat()}",
                           headers={"HX-Request": "true", "HX-Target": "day-slots"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.count('<button name="start"') == 32
    assert len(response.get_data()) < 5 * 1024, len(response.get_data())
    whole = browser.get(f"/patient/appointments/book?doctor={doctor.id}&day={MONDAY.isoformat()}",
                        headers={"HX-Request": "true", "HX-Target": "slot-picker"})
    assert "<html" not in whole.get_data(as_text=True) and 'id="slot-picker"' in whole.get_data(as_text=True)


def test_the_desk_finds_a_patient_as_it_types_from_the_queue(signed_in, make_patient):
    browser, _ = signed_in(Role.RECEPTION)
    patient = make_patient(given_name="Zawadi", family_name="Kimani", phone="+254722111222")
    page = browser.get("/reception/").get_data(as_text=True)
    assert 'hx-get="/reception/patients/"' in page and 'id="patient-results"' in page
    for term in ("Zaw", "kima", "722111", patient.mrn):
        fragment = browser.get(f"/reception/patients/?q={term}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" not in fragment and "Kimani" in fragment, term
