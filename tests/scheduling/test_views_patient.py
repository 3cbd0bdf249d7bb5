"""The patient's own pages: the appointments list refreshes itself when the clinic changes it."""
from __future__ import annotations

from app.accounts.models import Role
from tests.scheduling.conftest import TUESDAY, at


def test_the_appointments_list_listens_on_the_patients_own_channel(signed_in, make_patient, doctor, book, freeze):
    freeze(at(TUESDAY, 7))
    browser, user = signed_in(Role.PATIENT)
    patient = make_patient(user_id=user.id)
    book(user, patient.id, doctor.id, at(TUESDAY, 9))
    page = browser.get("/patient/appointments/").get_data(as_text=True)
    assert f'data-live="patient:{user.id}"' in page and "Tue 02 Mar 2027, 09:00" in page
    fragment = browser.get("/patient/appointments/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="my-appointment-list"' in fragment


def test_day_slot_buttons_carry_compact_utc_instants_that_book(signed_in, make_patient, doctor, freeze):
    freeze(at(TUESDAY, 7))
    browser, user = signed_in(Role.PATIENT)
    make_patient(user_id=user.id)
    fragment = browser.get(f"/patient/appointments/book?doctor={doctor.id}&day={TUESDAY.isoformat()}",
                           headers={"HX-Request": "true", "HX-Target": "day-slots"}).get_data(as_text=True)
    assert 'value="2027-03-02T05:00Z"' in fragment  # 08:00 in Nairobi
    confirm = browser.get(f"/patient/appointments/book/confirm?doctor={doctor.id}&start=2027-03-02T05:00Z")
    assert confirm.status_code == 200 and "Tue 02 Mar 2027, 08:00" in confirm.get_data(as_text=True)
