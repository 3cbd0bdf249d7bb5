"""The doctor's "End the visit" and "Continue by phone" as people and strangers see them: only the
room's doctor may use them (everyone else a 404, as for the room), each POST needs its CSRF token, the
end is confirmed on a page of its own without JavaScript and happens once."""
from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.consultations.models import Consultation
from app.extensions import db
from app.scheduling.models import Appointment
from tests.conftest import Browser
from tests.consultations.test_ending import admitted
from tests.consultations.test_views_room import signed_in_as

ACTIONS = ("end", "phone", "phone/minutes")


def test_only_the_rooms_doctor_may_end_or_go_by_phone(app, visit, signed_in, make_patient):
    consultation_id = admitted(app, visit)
    patient = signed_in_as(app, visit.patient_user)
    patient_page = patient.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "End the visit" not in patient_page and "Continue by phone" not in patient_page
    for action in ACTIONS:
        assert patient.post(f"/visit/{visit.token}/{action}", {"minutes": "5"}).status_code == 404, action
    assert patient.get(f"/visit/{visit.token}/end").status_code == 404
    for role in (Role.DOCTOR, Role.RECEPTION, Role.ADMIN, Role.PATIENT):
        stranger, user = signed_in(role)
        if role == Role.PATIENT:
            make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
        for action in ACTIONS:
            assert stranger.post(f"/visit/{visit.token}/{action}", {"minutes": "5"}).status_code == 404, (role, action)
        assert stranger.get(f"/visit/{visit.token}/end").status_code == 404, role
    assert Browser(app.test_client()).post(f"/visit/{visit.token}/end").status_code in (302, 400)
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.ended_at is None and consultation.phone_since is None


@pytest.mark.parametrize("action", ACTIONS)
def test_each_post_needs_its_csrf_token(app, visit, action):
    consultation_id = admitted(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    assert doctor.client.post(f"/visit/{visit.token}/{action}", data={"minutes": "5"}).status_code == 400
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.ended_at is None and consultation.phone_since is None


def test_without_javascript_the_end_is_confirmed_on_its_own_page_and_happens_once(app, visit):
    admitted(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    room = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert f'id="end-visit" href="/visit/{visit.token}/end"' in room and '<dialog id="end-dialog"' in room
    confirm = doctor.get(f"/visit/{visit.token}/end")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "End the visit with Wanjiku Mwangi?" in html and "Yes, end the visit" in html
    for _click in range(2):
        ended = doctor.post(f"/visit/{visit.token}/end", page=f"/visit/{visit.token}/end")
        assert ended.status_code == 303 and ended.headers["Location"].endswith(f"/visit/{visit.token}")
    over = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "This video visit is over." in over and "Held by video · 0 min" in over
    assert "End the visit" not in over
    assert doctor.get(f"/visit/{visit.token}/end").status_code == 303  # nothing left to confirm
    with app.app_context():
        assert db.session.get(Appointment, visit.appointment_id).status == "completed"
    patient_page = signed_in_as(app, visit.patient_user).get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "This video visit is over." in patient_page and "Held by video" in patient_page


def test_ending_before_the_patient_is_let_in_is_refused_with_a_reason(app, visit):
    doctor = signed_in_as(app, visit.doctor)
    doctor.get(f"/visit/{visit.token}")  # the room opens
    refused = doctor.post(f"/visit/{visit.token}/end", page=f"/visit/{visit.token}")
    assert refused.status_code == 303
    page = doctor.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Let the patient in first" in page
    with app.app_context():
        assert db.session.get(Appointment, visit.appointment_id).status == "booked"


def test_continue_by_phone_without_javascript(app, visit):
    admitted(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    room = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert 'id="phone-offer"' in room and 'id="phone-offer" method="post"' in room
    switched = doctor.post(f"/visit/{visit.token}/phone", page=f"/visit/{visit.token}")
    assert switched.status_code == 303 and switched.headers["Location"].endswith("#room-phone")
    page = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "The visit continues by phone" in page and "record has no phone number." in page
    assert 'id="phone-offer"' not in page and "Held by phone: end the visit" in page


def test_the_patient_reads_the_phone_panel_in_swahili(app, visit):
    from sqlalchemy import update

    from app.accounts.models import User
    from app.records.models import Patient

    with app.app_context():
        db.session.execute(update(User).where(User.id == visit.patient_user.id).values(language="sw"))
        db.session.execute(update(Patient).where(Patient.id == visit.patient_id).values(phone="+254712000101"))
        db.session.commit()
    admitted(app, visit)
    signed_in_as(app, visit.doctor).post(f"/visit/{visit.token}/phone", page=f"/visit/{visit.token}")
    page = signed_in_as(app, visit.patient_user).get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "Ziara inaendelea kwa simu" in page and "Daktari atakupigia kwa nambari +254712000101." in page
