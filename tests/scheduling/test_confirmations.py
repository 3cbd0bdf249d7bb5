"""A patient cancelling is asked first (issue 12 item 1); without JavaScript the question is a page."""
from __future__ import annotations

import re

from app.accounts.models import Role
from tests.scheduling.conftest import TUESDAY, appointment, at


def _status(app, appointment_id: int) -> str:
    with app.app_context():
        return appointment(appointment_id).status


def test_a_patient_cancelling_is_asked_first_and_a_bare_post_changes_nothing(
        app, signed_in, make_patient, doctor, book, freeze):
    freeze(at(TUESDAY, 7))
    browser, user = signed_in(Role.PATIENT)
    patient = make_patient(user_id=user.id)
    booked = book(user, patient.id, doctor.id, at(TUESDAY, 9))
    cancel = f"/patient/appointments/{booked}/cancel"
    page = browser.get("/patient/appointments/").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="{cancel}"[^>]*>', page).group(0)
    assert 'data-confirm="Cancel your appointment with Dr Wanjiku Mwangi?"' in form
    assert 'data-confirm-yes="Cancel the appointment"' in form and "hx-confirm" not in page
    assert 'data-confirm-detail="Tue 02 Mar 2027, 09:00"' in form

    tapped = browser.post(cancel, page="/patient/appointments/")   # one tap, no JavaScript
    assert tapped.status_code == 303 and tapped.headers["Location"] == cancel
    assert _status(app, booked) == "booked"

    question = browser.get(cancel)
    text = question.get_data(as_text=True)
    assert question.status_code == 200 and "Cancel your appointment with Dr Wanjiku Mwangi?" in text
    assert "Tue 02 Mar 2027, 09:00" in text and 'name="confirmed" value="yes"' in text
    assert 'href="/patient/appointments/">Keep it</a>' in text
    assert _status(app, booked) == "booked"

    done = browser.post(cancel, {"confirmed": "yes"}, page=cancel)
    assert done.status_code == 303 and done.headers["Location"].endswith("/patient/appointments/")
    assert _status(app, booked) == "cancelled"
    assert "Your appointment is cancelled." in browser.get("/patient/appointments/").get_data(as_text=True)


def test_another_patients_appointment_is_not_even_asked_about(signed_in, make_patient, doctor, book, freeze):
    freeze(at(TUESDAY, 7))
    owner_browser, owner = signed_in(Role.PATIENT)
    patient = make_patient(user_id=owner.id)
    booked = book(owner, patient.id, doctor.id, at(TUESDAY, 9))
    stranger, user = signed_in(Role.PATIENT)
    make_patient(user_id=user.id)
    assert stranger.get(f"/patient/appointments/{booked}/cancel").status_code == 404


def test_removing_a_leave_names_it_in_the_question(app, signed_in, freeze):
    """The doctor with two leaves ahead is asked about the one pressed, by its dates, in the dialog
    and on the page without JavaScript."""
    import datetime as dt

    from sqlalchemy import select

    from app.extensions import db
    from app.scheduling.availability import exception_add
    from app.scheduling.models import AvailabilityException, ExceptionKind

    freeze(at(TUESDAY, 7))
    browser, doctor = signed_in(Role.DOCTOR)
    with app.app_context():
        exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=TUESDAY + dt.timedelta(days=7),
                      last_day=TUESDAY + dt.timedelta(days=9))
        exception_add(doctor_id=doctor.id, kind=ExceptionKind.LEAVE, first_day=TUESDAY + dt.timedelta(days=21))
        db.session.commit()
        first_id = min(db.session.execute(select(AvailabilityException.id)).scalars())
    remove = f"/doctor/appointments/availability/exceptions/{first_id}/delete"
    page = browser.get("/doctor/appointments/availability").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="{remove}"[^>]*>', page).group(0)
    assert 'data-confirm-detail="Away: 09 Mar 2027 – 11 Mar 2027"' in form
    question = browser.get(remove).get_data(as_text=True)
    assert "Away: 09 Mar 2027 – 11 Mar 2027" in question and "23 Mar 2027" not in question
