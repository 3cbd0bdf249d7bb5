"""The booking picker's forms as a browser without JavaScript sends them (issue 12 item 11)."""
from __future__ import annotations

from app.accounts.models import Role
from tests.html_forms import forms


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


def test_the_patients_and_the_move_pickers_send_what_they_need(signed_in, doctor, make_patient):
    patient_browser, user = signed_in(Role.PATIENT)
    make_patient(user_id=user.id)
    page = patient_browser.get("/patient/appointments/book").get_data(as_text=True)
    speciality = forms(page, "get")[0]
    response = patient_browser.get(speciality.get_url(speciality="General practice"))
    assert response.status_code == 200
    assert doctor.full_name in response.get_data(as_text=True)
