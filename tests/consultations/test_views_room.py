"""/visit/<token> as its members and strangers see it: the page, the waiting room on the doctor's
day and the desk's board, admission and the chat without JavaScript."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.accounts.models import Role
from app.consultations import services
from app.consultations.models import ChatMessage
from app.core.clock import clock
from app.extensions import db
from app.scheduling.models import Appointment
from tests.conftest import Browser
from tests.consultations.conftest import START, actor_of
from tests.security_support import another_token


def signed_in_as(app, user) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser


def test_members_see_the_room_and_everyone_else_a_404(app, visit, signed_in, make_patient):
    patient = signed_in_as(app, visit.patient_user)
    page = patient.get(f"/visit/{visit.token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Dr. Amina Odhiambo" in html and 'data-member="patient"' in html and "Join the waiting room" in html
    doctor_page = signed_in_as(app, visit.doctor).get(f"/visit/{visit.token}").get_data(as_text=True)
    assert 'data-member="doctor"' in doctor_page and "Let the patient in" in doctor_page
    # the doctor's doors to the chart and to a prescription (new tabs: the call goes on); not the patient's
    assert f'href="/doctor/patients/{visit.patient_id}/prescriptions/new" target="_blank"' in doctor_page
    assert "/prescriptions/new" not in html and "Open the chart" not in html
    assert patient.get(f"/visit/{another_token(visit.token)}").status_code == 404
    for role in (Role.DOCTOR, Role.RECEPTION, Role.ADMIN, Role.PATIENT):
        stranger, user = signed_in(role)
        if role == Role.PATIENT:
            make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
        assert stranger.get(f"/visit/{visit.token}").status_code == 404, role
        assert stranger.post(f"/visit/{visit.token}/chat", {"body": "hi", "client_id": "abc"}).status_code == 404, role
        assert stranger.post(f"/visit/{visit.token}/admit").status_code == 404, role
    assert Browser(app.test_client()).get(f"/visit/{visit.token}").status_code == 302  # to the sign-in


def test_before_it_opens_the_page_says_when(app, visit):
    clock.freeze(START - dt.timedelta(minutes=30))
    page = signed_in_as(app, visit.patient_user).get(f"/visit/{visit.token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "opens at 09:10" in html
    assert "data-socket" not in html and "chat-form" not in html
    clock.freeze(START - dt.timedelta(minutes=10))
    assert "data-socket" in signed_in_as(app, visit.patient_user).get(f"/visit/{visit.token}").get_data(as_text=True)


def test_waiting_online_shows_on_the_doctors_day_and_the_desks_board(app, visit, signed_in):
    doctor = signed_in_as(app, visit.doctor)
    desk, _ = signed_in(Role.RECEPTION)
    assert "waiting online" not in doctor.get("/doctor/appointments/day").get_data(as_text=True)
    with app.app_context():
        room = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token)
        services.patient_waiting_set(actor=actor_of(visit.patient_user), consultation_id=room.consultation.id,
                                     waiting=True)
        db.session.commit()
    assert f'id="waiting-{visit.appointment_id}"' in doctor.get("/doctor/appointments/day").get_data(as_text=True)
    assert f'id="waiting-{visit.appointment_id}"' in desk.get("/reception/appointments/queue").get_data(as_text=True)
    assert "Wanjiku Mwangi is waiting online" in doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    # The doctor lets them in (the form, without JavaScript): the visit starts, nobody waits any more.
    admitted = doctor.post(f"/visit/{visit.token}/admit", page=f"/visit/{visit.token}")
    assert admitted.status_code == 303 and admitted.headers["Location"].endswith(f"/visit/{visit.token}")
    assert "waiting online" not in doctor.get("/doctor/appointments/day").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Appointment, visit.appointment_id).status == "in_consultation"
    # The patient cannot admit themselves.
    assert signed_in_as(app, visit.patient_user).post(f"/visit/{visit.token}/admit").status_code == 404


def test_chat_without_javascript_posts_once_and_shows_in_order(app, visit):
    patient, doctor = signed_in_as(app, visit.patient_user), signed_in_as(app, visit.doctor)
    page = patient.get(f"/visit/{visit.token}").get_data(as_text=True)
    client_id = re.search(r'id="client_id" name="client_id" type="hidden" value="([^"]+)"', page).group(1)
    for _ in range(2):  # the same form twice (a double tap): one message
        sent = patient.post(f"/visit/{visit.token}/chat", {"body": "Nina homa tangu jana", "client_id": client_id},
                            page=f"/visit/{visit.token}")
        assert sent.status_code == 303
    doctor.post(f"/visit/{visit.token}/chat", {"body": "Pole sana. Since when?", "client_id": "d-1"},
                page=f"/visit/{visit.token}")
    html = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert html.index("Nina homa tangu jana") < html.index("Pole sana. Since when?")
    with app.app_context():
        assert db.session.execute(select(ChatMessage.seq).order_by(ChatMessage.seq)).scalars().all() == [1, 2]


def test_a_bad_chat_message_is_refused_beside_the_field_and_kept(app, visit):
    patient = signed_in_as(app, visit.patient_user)
    refused = patient.post(f"/visit/{visit.token}/chat", {"body": "x" * 2001, "client_id": "p-1"},
                           page=f"/visit/{visit.token}")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "at most 2000" in html and "x" * 2001 in html
    empty = patient.post(f"/visit/{visit.token}/chat", {"body": "  ", "client_id": "p-2"}, page=f"/visit/{visit.token}")
    assert empty.status_code == 422 and "Write a message first" in empty.get_data(as_text=True)
