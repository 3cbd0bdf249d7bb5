"""How a visit ends: the doctor's end records mode, start, end and duration once (even two ends at
once, on PostgreSQL), completes the appointment through scheduling's flow, and is audited."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.consultations import services
from app.consultations.models import CallQualitySample, Consultation
from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.scheduling.models import Appointment
from tests.consultations.conftest import START, actor_of


def admitted(app, visit) -> int:
    """The patient let in at 09:15; the consultation's id."""
    with app.app_context():
        room = services.room_enter_open(actor=actor_of(visit.doctor), token=visit.token)
        services.patient_admit(actor=actor_of(visit.doctor), consultation_id=room.consultation.id)
        db.session.commit()
        return room.consultation.id


def audit_count(action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).scalar()


def test_the_doctor_ends_a_video_visit_once_and_the_appointment_is_done(app, visit):
    consultation_id = admitted(app, visit)
    clock.advance(dt.timedelta(minutes=12, seconds=30))
    with app.app_context():
        ended = services.visit_end(actor=actor_of(visit.doctor), consultation_id=consultation_id)
        db.session.commit()
        assert (ended.mode, ended.duration_seconds) == ("video", 750)
        assert ended.started_at == START - dt.timedelta(minutes=5) and ended.ended_at == clock.now()
        appointment = db.session.get(Appointment, visit.appointment_id)
        assert appointment.status == "completed" and appointment.completed_at == clock.now()
        assert services.room_state(ended)["over"]
        # A second click, a minute later: nothing moves.
        clock.advance(dt.timedelta(minutes=1))
        again = services.visit_end(actor=actor_of(visit.doctor), consultation_id=consultation_id)
        db.session.commit()
        assert again.duration_seconds == 750 and again.ended_at == clock.now() - dt.timedelta(minutes=1)
        assert audit_count("consultation.end.video") == 1 and audit_count("appointment.complete") == 1
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "consultation.end.video")).scalar_one()
        assert event.actor_user_id == visit.doctor.id and event.reason == "consultation"


def test_audio_when_most_of_the_call_was_audio_only(app, visit):
    consultation_id = admitted(app, visit)
    with app.app_context():
        for audio_only in (True, True, True, False):
            db.session.add(CallQualitySample(consultation_id=consultation_id, member="patient", level=3 if audio_only else 1,
                                             audio_only=audio_only, measured_at=clock.now()))
        db.session.commit()
        assert services.visit_end(actor=actor_of(visit.doctor), consultation_id=consultation_id).mode == "audio"


def test_half_audio_only_is_still_video(app, visit):
    consultation_id = admitted(app, visit)
    with app.app_context():
        for audio_only in (True, False):
            db.session.add(CallQualitySample(consultation_id=consultation_id, member="doctor", level=0,
                                             audio_only=audio_only, measured_at=clock.now()))
        db.session.commit()
        assert services.visit_end(actor=actor_of(visit.doctor), consultation_id=consultation_id).mode == "video"


def test_only_the_doctor_ends_and_only_a_visit_that_started(app, visit):
    with app.app_context():
        room = services.room_enter_open(actor=actor_of(visit.doctor), token=visit.token)
        db.session.commit()
        with pytest.raises(DomainError, match="Let the patient in first"):
            services.visit_end(actor=actor_of(visit.doctor), consultation_id=room.consultation.id)
        db.session.rollback()
    consultation_id = admitted(app, visit)
    with app.app_context():
        with pytest.raises(NotFound):
            services.visit_end(actor=actor_of(visit.patient_user), consultation_id=consultation_id)
        db.session.rollback()
        assert db.session.get(Consultation, consultation_id).ended_at is None


def test_two_ends_at_once_end_it_once(app, visit):
    """Two tabs, or a double click through two connections: the consultation's row lock orders them on
    PostgreSQL; the second finds it ended and changes nothing."""
    consultation_id = admitted(app, visit)
    clock.advance(dt.timedelta(minutes=9))
    barrier, results = threading.Barrier(2), []

    def end():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                consultation = services.visit_end(actor=actor_of(visit.doctor), consultation_id=consultation_id)
                results.append(consultation.duration_seconds)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported by the assertion
                results.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=end) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [540, 540]
    with app.app_context():
        assert audit_count("consultation.end.video") == 1 and audit_count("appointment.complete") == 1
        assert db.session.get(Appointment, visit.appointment_id).status == "completed"
