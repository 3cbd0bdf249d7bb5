"""Messages worth reading: each names the patient (to staff) or the doctor (to the patient), opens the
appointment, is in the reader's language, and is sent once per event."""
from __future__ import annotations

import datetime as dt

import pytest

from app.accounts.models import Role
from app.core.actor import Actor
from app.extensions import db
from app.notifications.models import Channel
from app.scheduling.services import appointment_advance, appointment_book, appointment_cancel, appointment_reschedule
from tests.scheduling.conftest import MONDAY, TUESDAY, at, notifications


@pytest.fixture
def friday(freeze):
    freeze(at(MONDAY - dt.timedelta(days=3), 10))


def in_app(user_id: int) -> list:
    return notifications(user_id=user_id, channel=Channel.IN_APP.value)


def test_a_booking_by_the_desk_tells_the_doctor_and_the_patient_by_name(app_ctx, doctor, patient_account, make_user,
                                                                        friday):
    user, patient = patient_account("Amani", "Otieno")
    desk = make_user(Role.RECEPTION)
    booked = appointment_book(actor=Actor.for_user(desk), patient_id=patient.id, doctor_id=doctor.id,
                              starts_at=at(MONDAY, 9))
    db.session.commit()
    [to_doctor] = in_app(doctor.id)
    assert to_doctor.body == "New booking: Amani Otieno, Mon 01 Mar, 09:00."
    [to_patient] = in_app(user.id)
    assert to_patient.body == "Your appointment with Dr Wanjiku Mwangi is booked for Mon 01 Mar, 09:00."
    assert to_patient.dedupe_key == f"appt:{booked.id}:booked:inbox"


def test_a_move_by_the_patient_is_one_notice_to_the_doctor_naming_the_patient(app_ctx, doctor, patient_account, book,
                                                                               friday):
    user, patient = patient_account("Amani", "Otieno")
    old_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    before = len(in_app(doctor.id))
    appointment_reschedule(actor=Actor.for_user(user), appointment_id=old_id, starts_at=at(TUESDAY, 10))
    db.session.commit()
    told = in_app(doctor.id)[before:]
    assert [n.body for n in told] == ["Moved: Amani Otieno, Mon 01 Mar, 09:00 → Tue 02 Mar, 10:00."]
    moved = [n.body for n in in_app(user.id) if ":moved:" in n.dedupe_key]
    assert moved == ["Your appointment on Mon 01 Mar, 09:00 has moved to Tue 02 Mar, 10:00 with Dr Wanjiku Mwangi."]


def test_a_cancellation_by_the_patient_sends_them_a_confirmation(app_ctx, doctor, patient_account, book, friday):
    user, patient = patient_account("Amani", "Otieno")
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    appointment_cancel(actor=Actor.for_user(user), appointment_id=appointment_id)
    db.session.commit()
    email = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:email")
    inbox = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:inbox")
    assert len(email) == 1 and len(inbox) == 1 and inbox[0].user_id == user.id
    assert inbox[0].body == "As you asked, your appointment with Dr Wanjiku Mwangi on Mon 01 Mar, 09:00 is cancelled."
    assert "/patient/appointments/" in email[0].body  # a link to the appointments
    [to_doctor] = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:doctor")
    assert to_doctor.body == "Cancelled by the patient: Amani Otieno, Mon 01 Mar, 09:00."


def test_the_patient_reads_it_in_their_language(app_ctx, doctor, make_user, make_patient, book, friday):
    user = make_user(Role.PATIENT, email="neema@patients.test", full_name="Neema Achieng", language="sw")
    patient = make_patient(given_name="Neema", family_name="Achieng", phone="+254712000009", user_id=user.id)
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    appointment_cancel(actor=Actor.for_user(user), appointment_id=appointment_id)
    db.session.commit()
    [inbox] = notifications(dedupe_key=f"appt:{appointment_id}:cancelled:inbox")
    assert "Dr Wanjiku Mwangi" in inbox.body and "As you asked" not in inbox.body and "Jumatatu" in inbox.body


def test_an_arrival_names_the_patient_and_opens_the_appointment(app, doctor, patient_account, book, make_user, freeze):
    from tests.conftest import Browser

    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Amani", "Otieno")
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    freeze(at(MONDAY, 8, 50))
    with app.app_context():
        appointment_advance(actor=Actor.for_user(make_user(Role.RECEPTION)), appointment_id=appointment_id,
                            action="check_in")
        db.session.commit()
    browser = Browser(app.test_client())
    browser.login(doctor.email)
    inbox = browser.get("/inbox/").get_data(as_text=True)
    assert f'<a href="/doctor/appointments/{appointment_id}">Amani Otieno arrived for 09:00.</a>' in inbox
    opened = browser.get(f"/doctor/appointments/{appointment_id}")
    assert opened.status_code == 200 and "Amani Otieno" in opened.get_data(as_text=True)


def test_the_patients_inbox_is_in_their_menu_and_fills(app, doctor, patient_account, book, friday):
    from tests.conftest import Browser

    user, patient = patient_account("Amani", "Otieno")
    browser = Browser(app.test_client())
    browser.login(user.email)
    assert 'id="inbox-link"' in browser.get("/patient/").get_data(as_text=True)  # there before any message
    appointment_id = book(user, patient.id, doctor.id, at(MONDAY, 9))
    home = browser.get("/patient/").get_data(as_text=True)
    assert 'id="inbox-link"' in home and '<span class="badge badge-info">1</span>' in home
    inbox = browser.get("/inbox/").get_data(as_text=True)
    assert (f'<a href="/patient/appointments/#appointment-{appointment_id}">Your appointment with Dr Wanjiku Mwangi'
            in inbox)
