"""The room's rules without HTTP: who gets in and when, waiting and admission, the chat's order,
its de-duplication and replay, and the audit rows they leave."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.consultations import services
from app.consultations.access import Member
from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.scheduling import queries as scheduling_queries
from app.scheduling.models import Appointment
from tests.consultations.conftest import START, actor_of
from tests.security_support import another_token


def audit_actions():
    return [(e.action, e.actor_user_id, e.reason) for e in db.session.execute(
        select(AuditEvent).order_by(AuditEvent.seq)).scalars()]


def test_only_the_appointments_patient_and_doctor_get_in(app, visit, make_user, make_patient):
    other_doctor, other_patient = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    make_patient(given_name="Baraka", family_name="Kim", user_id=other_patient.id)
    desk = make_user(Role.RECEPTION)
    with app.app_context():
        assert services.room_enter(actor=actor_of(visit.doctor), token=visit.token).member == Member.DOCTOR
        room = services.room_enter(actor=actor_of(visit.patient_user), token=visit.token)
        assert room.member == Member.PATIENT and room.polite
        for stranger in (other_doctor, other_patient, desk):
            with pytest.raises(NotFound):
                services.room_enter(actor=actor_of(stranger), token=visit.token)
        with pytest.raises(NotFound):
            services.room_enter(actor=actor_of(visit.doctor), token=another_token(visit.token))


def test_the_room_opens_ten_minutes_before_the_start(app, visit):
    clock.freeze(START - dt.timedelta(minutes=10, seconds=1))
    with app.app_context():
        room = services.room_enter(actor=actor_of(visit.patient_user), token=visit.token)
        assert not room.is_open and room.opens_at == START - dt.timedelta(minutes=10)
        with pytest.raises(DomainError, match="not open yet"):
            services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token)
        clock.advance(dt.timedelta(seconds=1))
        assert services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token).is_open


def test_a_cancelled_visit_has_no_room(app, visit):
    with app.app_context():
        db.session.get(Appointment, visit.appointment_id).status = "cancelled"
        db.session.commit()
        room = services.room_enter(actor=actor_of(visit.patient_user), token=visit.token)
        assert room.is_over
        with pytest.raises(DomainError, match="over"):
            services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token)


def test_the_patient_waits_and_the_doctor_admits(app, visit):
    patient, doctor = actor_of(visit.patient_user), actor_of(visit.doctor)
    with app.app_context():
        room = services.room_enter_open(actor=patient, token=visit.token)
        consultation_id = room.consultation.id
        services.patient_waiting_set(actor=patient, consultation_id=consultation_id, waiting=True)
        db.session.commit()
        assert scheduling_queries.waiting_online([visit.appointment_id]) == {visit.appointment_id}
        with pytest.raises(NotFound):  # the patient cannot let themselves in
            services.patient_admit(actor=patient, consultation_id=consultation_id)
        consultation = services.patient_admit(actor=doctor, consultation_id=consultation_id)
        db.session.commit()
        assert services.room_state(consultation) == {"waiting": False, "admitted": True, "over": False,
                                                       "phone": False, "call": None}
        assert scheduling_queries.waiting_online([visit.appointment_id]) == set()
        assert db.session.get(Appointment, visit.appointment_id).status == "in_consultation"
        services.patient_admit(actor=doctor, consultation_id=consultation_id)  # again: nothing changes
        db.session.commit()
        assert [a for a in audit_actions() if a[0] == "consultation.admit"] == [
            ("consultation.admit", visit.doctor.id, "consultation")]


def test_chat_is_ordered_deduplicated_and_replayed_from_a_cursor(app, visit):
    patient, doctor = actor_of(visit.patient_user), actor_of(visit.doctor)
    with app.app_context():
        consultation_id = services.room_enter_open(actor=patient, token=visit.token).consultation.id
        first, made = services.chat_post(actor=patient, consultation_id=consultation_id, client_id="p-1", body="Habari daktari")
        assert made and first.seq == 1
        services.chat_post(actor=doctor, consultation_id=consultation_id, client_id="d-1", body="Karibu. How are you?")
        again, made = services.chat_post(actor=patient, consultation_id=consultation_id, client_id="p-1",
                                         body="Habari daktari")  # a resend after a lost connection
        assert not made and again.seq == 1
        services.chat_post(actor=patient, consultation_id=consultation_id, client_id="p-2", body="Better, thank you")
        db.session.commit()
        everything = services.chat_read(actor=doctor, consultation_id=consultation_id)
        assert [(m.seq, m.body) for m in everything] == [
            (1, "Habari daktari"), (2, "Karibu. How are you?"), (3, "Better, thank you")]
        missed = services.chat_read(actor=doctor, consultation_id=consultation_id, after_seq=2)
        assert [m.seq for m in missed] == [3]
        db.session.commit()
        rows = audit_actions()
        assert [r for r in rows if r[0] == "chat.create"] == [
            ("chat.create", visit.patient_user.id, "consultation"), ("chat.create", visit.doctor.id, "consultation"),
            ("chat.create", visit.patient_user.id, "consultation")]  # three messages, not four: the resend is none
        assert [r for r in rows if r[0] == "chat.read"] == [("chat.read", visit.doctor.id, "consultation")] * 2
        # Reading only one's own messages back reads nobody's data: no row.
        services.chat_read(actor=doctor, consultation_id=consultation_id, after_seq=1)
        services.chat_read(actor=patient, consultation_id=consultation_id, after_seq=2)
        db.session.commit()
        assert len([r for r in audit_actions() if r[0] == "chat.read"]) == 3


def test_chat_text_is_encrypted_at_rest(app, visit):
    from sqlalchemy import text

    with app.app_context():
        consultation_id = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token).consultation.id
        services.chat_post(actor=actor_of(visit.patient_user), consultation_id=consultation_id, client_id="x",
                           body="I have chest pain")
        db.session.commit()
        stored = db.session.execute(text("SELECT body FROM consultation_messages")).scalar_one()
        assert b"chest" not in bytes(stored)


@pytest.mark.parametrize("client_id, body, field", [
    ("", "hello", "client_id"), ("x" * 41, "hello", "client_id"), ("ok", "   ", "body"), ("ok", "x" * 2001, "body"),
])
def test_bad_chat_messages_are_refused_beside_their_field(app, visit, client_id, body, field):
    with app.app_context():
        consultation_id = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token).consultation.id
        with pytest.raises(DomainError) as refused:
            services.chat_post(actor=actor_of(visit.patient_user), consultation_id=consultation_id,
                               client_id=client_id, body=body)
        assert refused.value.field == field


def test_a_stranger_can_neither_write_nor_read_the_chat(app, visit, make_user):
    stranger = actor_of(make_user(Role.DOCTOR))
    with app.app_context():
        consultation_id = services.room_enter_open(actor=actor_of(visit.doctor), token=visit.token).consultation.id
        db.session.commit()
        with pytest.raises(NotFound):
            services.chat_post(actor=stranger, consultation_id=consultation_id, client_id="s", body="hi")
        with pytest.raises(NotFound):
            services.chat_read(actor=stranger, consultation_id=consultation_id)
