"""The booking picker's forms as a browser without JavaScript sends them (issue 12 item 11)."""
from __future__ import annotations

import datetime as dt

from app.accounts.models import Role
from tests.html_forms import forms
from tests.scheduling.conftest import MONDAY, THURSDAY, at


def test_the_desks_speciality_choice_keeps_the_patient(signed_in, doctor, make_patient):
    """A GET form's action loses its query string when submitted: the patient rides in a field."""
    desk, _user = signed_in(Role.RECEPTION)
    patient = make_patient(given_name="Daniel", family_name="Kamau")
    page = desk.get(f"/reception/appointments/book?patient={patient.id}").get_data(as_text=True)
    speciality = forms(page, "get")[0]
    assert "?" not in speciality.action
    assert ("patient", str(patient.id)) in speciality.fields

    response = desk.get(speciality.get_url(speciality="General practice"))
    assert response.status_code == 200, speciality.get_url(speciality="General practice")
    assert "Book for Daniel Kamau" in response.get_data(as_text=True)
    assert doctor.full_name in response.get_data(as_text=True)


def test_the_patients_picker_sends_the_speciality(signed_in, doctor, make_patient):
    patient_browser, user = signed_in(Role.PATIENT)
    make_patient(user_id=user.id)
    page = patient_browser.get("/patient/appointments/book").get_data(as_text=True)
    speciality = forms(page, "get")[0]
    response = patient_browser.get(speciality.get_url(speciality="General practice"))
    assert response.status_code == 200
    assert doctor.full_name in response.get_data(as_text=True)


def test_a_speciality_chosen_while_moving_lists_its_doctors(app, doctor, make_user, patient_account, book, freeze):
    """Moving opens on the appointment's doctor; choosing a speciality there shows that speciality's
    doctors (before, the page went back to the same doctor: the choice was dead)."""
    from app.accounts.models import StaffProfile
    from app.extensions import db
    from tests.conftest import Browser

    paediatrician = make_user(Role.DOCTOR, full_name="Dr Otieno Ouma")
    with app.app_context():
        db.session.get(StaffProfile, paediatrician.id).speciality = "Paediatrics"
        db.session.commit()
    freeze(at(MONDAY - dt.timedelta(days=3), 10))
    user, patient = patient_account("Amani", "Otieno")
    appointment_id = book(user, patient.id, doctor.id, at(THURSDAY, 9))
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303

    opened = browser.get(f"/patient/appointments/{appointment_id}/move", follow_redirects=True)
    speciality = forms(opened.get_data(as_text=True), "get")[0]
    response = browser.get(speciality.get_url(speciality="Paediatrics"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, response.headers.get("Location")
    assert "Dr Otieno Ouma" in page and doctor.full_name not in page.split('class="chips"', 1)[1]


def test_the_desks_cancel_page_leads_back_without_cancelling(app, signed_in, doctor, make_patient, book, freeze):
    """The cancel page is the desk's confirmation: besides the destructive button, a way back."""
    from tests.scheduling.conftest import appointment

    freeze(at(MONDAY, 8))
    desk, desk_user = signed_in(Role.RECEPTION)
    patient = make_patient()
    appointment_id = book(desk_user, patient.id, doctor.id, at(THURSDAY, 9))
    page = desk.get(f"/reception/appointments/{appointment_id}/cancel").get_data(as_text=True)
    assert f'<a class="btn btn-block" href="/reception/patients/{patient.id}">Go back</a>' in page
    with app.app_context():
        assert appointment(appointment_id).status == "booked"
