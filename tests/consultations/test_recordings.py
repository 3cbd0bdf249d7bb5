"""Recording a video visit, without HTTP: both consents before any piece is kept, either member stops
it, a piece sent twice is kept once, kept encrypted, played only through the records gate, purged
after the retention period, and every step audited."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.consultations import recordings
from app.consultations.recording_models import Recording, RecordingChunk
from app.core import files
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import AccessDenied, DomainError, NotFound
from app.extensions import db
from app.records.access import ChartAccessDenied
from tests.consultations.conftest import actor_of
from tests.consultations.recording_support import MATROSKA, WEBM_FIRST, WEBM_NEXT, call_started, recording_agreed


def audit_rows(prefix="recording."):
    return [(e.action, e.actor_user_id, e.reason, e.target) for e in db.session.execute(
        select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.seq)).scalars()]


def kept_pieces() -> int:
    return db.session.execute(select(func.count()).select_from(RecordingChunk)).scalar_one()


def stored_files() -> int:
    return db.session.execute(select(func.count()).select_from(files.StoredFile)).scalar_one()


def test_no_piece_is_kept_until_both_consented(app, visit):
    patient, doctor = actor_of(visit.patient_user), actor_of(visit.doctor)
    with app.app_context():
        consultation_id = call_started(visit)
        asked = recordings.recording_consent(actor=patient, consultation_id=consultation_id)  # the patient asks
        db.session.commit()
        assert recordings.recording_state(consultation_id) == {"id": asked.id, "on": False, "patient": True,
                                                                "doctor": False}
        with pytest.raises(recordings.NotConsented):
            recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=asked.id, seq=0,
                                   data=WEBM_FIRST)
        db.session.rollback()
        assert kept_pieces() == 0 and stored_files() == 0
        recordings.recording_consent(actor=doctor, consultation_id=consultation_id)  # the doctor agrees
        db.session.commit()
        assert recordings.recording_state(consultation_id)["on"] is True
        chunk, made = recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=asked.id,
                                             seq=0, data=WEBM_FIRST)
        db.session.commit()
        assert made and chunk.seq == 0 and db.session.get(Recording, asked.id).content_type == "video/webm"
        target = f"recording:{asked.id}"
        assert audit_rows() == [("recording.consent", visit.patient_user.id, "consultation", target),
                                ("recording.consent", visit.doctor.id, "consultation", target),
                                ("recording.write", visit.doctor.id, "consultation", target)]


def test_withdrawing_stops_acceptance_and_a_new_recording_needs_both_again(app, visit):
    patient, doctor = actor_of(visit.patient_user), actor_of(visit.doctor)
    with app.app_context():
        consultation_id = call_started(visit)
        first = recording_agreed(visit, consultation_id)
        recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=first.id, seq=0,
                               data=WEBM_FIRST)
        db.session.commit()
        recordings.recording_withdraw(actor=patient, consultation_id=consultation_id)  # the patient stops it
        db.session.commit()
        with pytest.raises(recordings.NotConsented, match="both of you must agree"):
            recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=first.id, seq=1,
                                   data=WEBM_NEXT)
        db.session.rollback()
        # What was recorded before the stop stays; asking again is a new recording, waiting for the other.
        assert kept_pieces() == 1
        second = recordings.recording_consent(actor=doctor, consultation_id=consultation_id)
        db.session.commit()
        assert second.id != first.id and not second.is_recording
        recordings.recording_withdraw(actor=patient, consultation_id=consultation_id)  # this time: no
        db.session.commit()
        assert recordings.recording_state(consultation_id) == {"id": None, "on": False, "patient": False,
                                                                "doctor": False}
        assert [(action, who) for action, who, _reason, _target in audit_rows()
                if action != "recording.write"] == [
            ("recording.consent", visit.doctor.id), ("recording.consent", visit.patient_user.id),
            ("recording.withdraw", visit.patient_user.id), ("recording.consent", visit.doctor.id),
            ("recording.refuse", visit.patient_user.id)]


def test_a_piece_sent_again_is_kept_once(app, visit):
    doctor = actor_of(visit.doctor)
    with app.app_context():
        consultation_id = call_started(visit)
        recording = recording_agreed(visit, consultation_id)
        for seq, data in ((0, WEBM_FIRST), (1, WEBM_NEXT), (1, WEBM_NEXT), (0, WEBM_FIRST)):
            recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=recording.id, seq=seq,
                                   data=data)
            db.session.commit()
        kept = db.session.get(Recording, recording.id)
        assert kept_pieces() == 2 and stored_files() == 2
        assert kept.chunk_count == 2 and kept.size == len(WEBM_FIRST) + len(WEBM_NEXT)
        assert len([r for r in audit_rows() if r[0] == "recording.write"]) == 2


def test_pieces_are_encrypted_at_rest(app, visit):
    doctor = actor_of(visit.doctor)
    with app.app_context():
        consultation_id = call_started(visit)
        recording = recording_agreed(visit, consultation_id)
        recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=recording.id, seq=0,
                               data=WEBM_FIRST)
        db.session.commit()
        stored = bytes(db.session.execute(text("SELECT data FROM stored_files")).scalar_one())
        assert b"\x1a\x45\xdf\xa3" not in stored and b"webm" not in stored and stored.startswith(b"gAAAAA")
        _recording, keys = recordings.recording_play(actor=doctor, recording_id=recording.id)
        assert recordings.chunk_bytes(keys[0]) == WEBM_FIRST


@pytest.mark.parametrize("seq, data, error", [
    (0, b"<html><script>alert(1)</script></html>", recordings.NotMedia),
    (0, MATROSKA, recordings.NotMedia),
    (0, b"", DomainError),
    (0, WEBM_FIRST + bytes(1024 * 1024), recordings.PieceTooLarge),
    (1, WEBM_NEXT, recordings.NotConsented),  # a middle piece before the first: its type is unknown
    (recordings.SEQ_MAX, WEBM_NEXT, DomainError),
])
def test_bad_pieces_are_refused_and_nothing_kept(app, visit, seq, data, error):
    doctor = actor_of(visit.doctor)
    app.config["RECORDING_CHUNK_MAX_BYTES"] = 1024 * 1024
    try:
        with app.app_context():
            consultation_id = call_started(visit)
            recording = recording_agreed(visit, consultation_id)
            db.session.commit()
            with pytest.raises(error):
                recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=recording.id,
                                       seq=seq, data=data)
            db.session.rollback()
            assert kept_pieces() == 0 and stored_files() == 0
    finally:
        app.config["RECORDING_CHUNK_MAX_BYTES"] = 4 * 1024 * 1024


def test_only_the_doctors_side_uploads_and_strangers_see_nothing(app, visit, make_user):
    patient = actor_of(visit.patient_user)
    stranger = actor_of(make_user(Role.DOCTOR))
    with app.app_context():
        consultation_id = call_started(visit)
        recording = recording_agreed(visit, consultation_id)
        db.session.commit()
        with pytest.raises(AccessDenied):
            recordings.chunk_store(actor=patient, consultation_id=consultation_id, recording_id=recording.id, seq=0,
                                   data=WEBM_FIRST)
        for attempt in (lambda: recordings.recording_consent(actor=stranger, consultation_id=consultation_id),
                        lambda: recordings.recording_withdraw(actor=stranger, consultation_id=consultation_id),
                        lambda: recordings.chunk_store(actor=stranger, consultation_id=consultation_id,
                                                       recording_id=recording.id, seq=0, data=WEBM_FIRST)):
            with pytest.raises(NotFound):
                attempt()
        db.session.rollback()
        assert kept_pieces() == 0


def test_consent_needs_the_call_under_way(app, visit):
    with app.app_context():
        from app.consultations import services

        consultation_id = services.room_enter_open(actor=actor_of(visit.patient_user), token=visit.token).consultation.id
        db.session.commit()
        with pytest.raises(DomainError, match="once the call has started"):
            recordings.recording_consent(actor=actor_of(visit.patient_user), consultation_id=consultation_id)


def _recorded(visit) -> int:
    doctor = actor_of(visit.doctor)
    consultation_id = call_started(visit)
    recording = recording_agreed(visit, consultation_id)
    recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=recording.id, seq=0,
                           data=WEBM_FIRST)
    recordings.chunk_store(actor=doctor, consultation_id=consultation_id, recording_id=recording.id, seq=1,
                           data=WEBM_NEXT)
    db.session.commit()
    return recording.id


# Who may play a recording: the gate's answer for that part of the chart (the patient's own: yes).
PLAYERS = {"the doctor of the visit": True, "the patient themself": True, "another doctor": False,
           "another patient": False, "the front desk": False, "an administrator": False}


@pytest.mark.parametrize("who, may_play", sorted(PLAYERS.items()))
def test_who_may_play_a_recording(app, visit, make_user, make_patient, who, may_play):
    with app.app_context():
        recording_id = _recorded(visit)
    if who == "the doctor of the visit":
        actor = actor_of(visit.doctor)
    elif who == "the patient themself":
        actor = actor_of(visit.patient_user)
    elif who == "another patient":
        user = make_user(Role.PATIENT)
        make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
        actor = actor_of(user)
    else:
        actor = actor_of(make_user({"another doctor": Role.DOCTOR, "the front desk": Role.RECEPTION,
                                    "an administrator": Role.ADMIN}[who]))
    with app.app_context():
        if may_play:
            recording, keys = recordings.recording_play(actor=actor, recording_id=recording_id)
            assert b"".join(recordings.chunk_bytes(k) for k in keys) == WEBM_FIRST + WEBM_NEXT
            assert [r.id for r in recordings.recordings_of_patient(actor=actor, patient_id=visit.patient_id)] == [
                recording_id]
            db.session.commit()
            plays = db.session.execute(select(AuditEvent).where(AuditEvent.action == "recording.play")).scalars().all()
            assert [(p.actor_user_id, p.outcome, p.target) for p in plays] == [
                (actor.user_id, "allowed", f"recording:{recording_id}")]
        else:
            with pytest.raises(ChartAccessDenied):
                recordings.recording_play(actor=actor, recording_id=recording_id)
            db.session.rollback()
            denied = db.session.execute(select(AuditEvent).where(AuditEvent.outcome == "denied")).scalars().all()
            assert [(d.actor_user_id, d.action, d.target) for d in denied] == [
                (actor.user_id, "access.denied", "recording.play")]
            assert not db.session.execute(select(AuditEvent).where(AuditEvent.action == "recording.play")).first()


def test_the_purge_deletes_old_recordings_and_their_files_audited_as_the_system(app, visit):
    with app.app_context():
        old_id = _recorded(visit)
        assert stored_files() == 2
        clock.advance(dt.timedelta(days=29, hours=23))
        purger = Actor.system("recordings-purge")
        assert recordings.recordings_purge(actor=purger, retention_days=30) == 0
        db.session.commit()
        assert db.session.get(Recording, old_id) is not None
        clock.advance(dt.timedelta(hours=2))
        assert recordings.recordings_purge(actor=purger, retention_days=30) == 1
        db.session.commit()
        assert recordings.recordings_purge(actor=purger, retention_days=30) == 0  # again: nothing left to do
        db.session.commit()
        assert db.session.get(Recording, old_id) is None and kept_pieces() == 0 and stored_files() == 0
        purges = db.session.execute(select(AuditEvent).where(AuditEvent.action == "recording.purge")).scalars().all()
        assert [(p.actor_role, p.actor_user_id, p.reason, p.path, p.target, p.patient_id) for p in purges] == [
            ("system", None, "system", "recordings-purge", f"recording:{old_id}", visit.patient_id)]


def test_the_purge_sweep_uses_the_retention_setting(app, visit):
    from app.consultations.tasks import recordings_purge_sweep

    with app.app_context():
        _recorded(visit)
    clock.advance(dt.timedelta(days=8))
    app.config["RECORDING_RETENTION_DAYS"] = 7
    try:
        assert recordings_purge_sweep() == 1
    finally:
        app.config["RECORDING_RETENTION_DAYS"] = 30
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
