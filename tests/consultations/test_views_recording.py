"""Recording as the room's members, strangers and attackers see it over HTTP: the consent forms with
and without JavaScript, the pieces (CSRF, size, type, consent), the chart's list and the player."""
from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Role
from app.consultations import recordings
from app.consultations.recording_models import Recording, RecordingChunk
from app.core.files import StoredFile
from app.extensions import db
from tests.consultations.conftest import actor_of
from tests.consultations.recording_support import WEBM_FIRST, WEBM_NEXT, call_started
from tests.consultations.test_views_room import signed_in_as

JSON = {"Accept": "application/json"}


def piece_url(visit, recording_id, seq):
    return f"/visit/{visit.token}/recording/{recording_id}/pieces/{seq}"


def send_piece(browser, visit, recording_id, seq, data, *, token=None):
    token = token if token is not None else browser.csrf(f"/visit/{visit.token}")
    return browser.client.post(piece_url(visit, recording_id, seq), data=data, content_type="video/webm",
                               headers={"X-CSRFToken": token} if token else {})


def kept() -> tuple[int, int]:
    return (db.session.execute(select(func.count()).select_from(RecordingChunk)).scalar_one(),
            db.session.execute(select(func.count()).select_from(StoredFile)).scalar_one())


def test_both_agree_with_plain_forms_and_the_room_says_recording(app, visit):
    with app.app_context():
        call_started(visit)
    patient, doctor = signed_in_as(app, visit.patient_user), signed_in_as(app, visit.doctor)
    page = patient.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "Not recording." in page and "Ask to record this visit" in page
    asked = patient.post(f"/visit/{visit.token}/recording/consent", page=f"/visit/{visit.token}")
    assert asked.status_code == 303 and asked.headers["Location"].endswith(f"/visit/{visit.token}#recording")
    assert "Waiting for Dr. Amina Odhiambo to agree to recording." in patient.get(f"/visit/{visit.token}").get_data(
        as_text=True)
    doctor_page = doctor.get(f"/visit/{visit.token}").get_data(as_text=True)
    assert "Wanjiku Mwangi asks to record this visit. Nothing is recorded unless you agree." in doctor_page
    assert "Agree to record" in doctor_page and ">Refuse<" in doctor_page
    # With JavaScript: 204, the new state goes to both over the socket.
    token = doctor.csrf(f"/visit/{visit.token}")
    agreed = doctor.client.post(f"/visit/{visit.token}/recording/consent", headers={**JSON, "X-CSRFToken": token})
    assert agreed.status_code == 204
    for member in (patient, doctor):
        html = member.get(f"/visit/{visit.token}").get_data(as_text=True)
        assert 'class="recording-on">Recording</p>' in html and "Stop recording" in html
    stopped = patient.post(f"/visit/{visit.token}/recording/withdraw", page=f"/visit/{visit.token}")
    assert stopped.status_code == 303
    assert "Not recording." in doctor.get(f"/visit/{visit.token}").get_data(as_text=True)


def test_asking_before_the_call_is_refused_on_the_room_page(app, visit):
    patient = signed_in_as(app, visit.patient_user)
    patient.get(f"/visit/{visit.token}")  # the room opens; nobody let in yet
    refused = patient.post(f"/visit/{visit.token}/recording/consent", page=f"/visit/{visit.token}",
                           follow_redirects=True)
    assert "A recording can be asked for once the call has started." in refused.get_data(as_text=True)
    token = patient.csrf(f"/visit/{visit.token}")
    answer = patient.client.post(f"/visit/{visit.token}/recording/consent", headers={**JSON, "X-CSRFToken": token})
    assert answer.status_code == 409 and answer.get_json() == {
        "error": "A recording can be asked for once the call has started."}
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Recording)).scalar_one() == 0


def _running(app, visit) -> int:
    with app.app_context():
        consultation_id = call_started(visit)
        recording = recordings.recording_consent(actor=actor_of(visit.doctor), consultation_id=consultation_id)
        recordings.recording_consent(actor=actor_of(visit.patient_user), consultation_id=consultation_id)
        db.session.commit()
        return recording.id


def test_pieces_are_kept_once_and_refused_without_consent(app, visit):
    recording_id = _running(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    first = send_piece(doctor, visit, recording_id, 0, WEBM_FIRST)
    assert first.status_code == 201 and first.get_json() == {"seq": 0, "kept": True}
    again = send_piece(doctor, visit, recording_id, 0, WEBM_FIRST)
    assert again.status_code == 200 and again.get_json() == {"seq": 0, "kept": False}
    assert send_piece(doctor, visit, recording_id, 1, WEBM_NEXT).status_code == 201
    patient = signed_in_as(app, visit.patient_user)
    assert patient.post(f"/visit/{visit.token}/recording/withdraw", page=f"/visit/{visit.token}").status_code == 303
    late = send_piece(doctor, visit, recording_id, 2, WEBM_NEXT)
    assert late.status_code == 409 and "both of you must agree" in late.get_json()["error"]
    with app.app_context():
        assert kept() == (2, 2)


def test_bad_pieces_answer_clearly_and_keep_nothing(app, visit):
    recording_id = _running(app, visit)
    doctor, patient = signed_in_as(app, visit.doctor), signed_in_as(app, visit.patient_user)
    assert send_piece(doctor, visit, recording_id, 0, b"<html>not a video</html>").status_code == 415
    assert send_piece(doctor, visit, recording_id, 0, WEBM_FIRST, token="").status_code == 400  # no CSRF token
    assert send_piece(doctor, visit, recording_id, 0, WEBM_FIRST, token="forged").status_code == 400
    assert send_piece(patient, visit, recording_id, 0, WEBM_FIRST).status_code == 403  # the doctor's side records
    assert send_piece(doctor, visit, recording_id + 1, 0, WEBM_FIRST).status_code == 404
    app.config["RECORDING_CHUNK_MAX_BYTES"] = 100 * 1024
    try:
        over = send_piece(doctor, visit, recording_id, 0, WEBM_FIRST + bytes(101 * 1024))
        assert over.status_code == 413 and "at most 100 KB" in over.get_json()["error"]
        far_over = send_piece(doctor, visit, recording_id, 0, WEBM_FIRST + bytes(300 * 1024))
        assert far_over.status_code == 413  # refused before the body is read
    finally:
        app.config["RECORDING_CHUNK_MAX_BYTES"] = 4 * 1024 * 1024
    with app.app_context():
        assert kept() == (0, 0)


def test_strangers_get_404_everywhere_in_the_room(app, visit, signed_in, make_patient):
    recording_id = _running(app, visit)
    for role in (Role.DOCTOR, Role.PATIENT, Role.RECEPTION, Role.ADMIN):
        stranger, user = signed_in(role)
        if role == Role.PATIENT:
            make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
        token = stranger.csrf("/")
        for path in ("recording/consent", "recording/withdraw"):
            assert stranger.client.post(f"/visit/{visit.token}/{path}", headers={"X-CSRFToken": token}).status_code \
                == 404, (role, path)
        assert send_piece(stranger, visit, recording_id, 0, WEBM_FIRST, token=token).status_code == 404, role
    with app.app_context():
        assert kept() == (0, 0) and db.session.get(Recording, recording_id).ended_at is None


def test_the_chart_lists_and_plays_the_recording_for_those_the_gate_lets(app, visit, signed_in, make_patient):
    recording_id = _running(app, visit)
    doctor = signed_in_as(app, visit.doctor)
    send_piece(doctor, visit, recording_id, 0, WEBM_FIRST)
    send_piece(doctor, visit, recording_id, 1, WEBM_NEXT)
    chart = doctor.get(f"/doctor/patients/{visit.patient_id}").get_data(as_text=True)
    assert f'hx-get="/recordings/patients/{visit.patient_id}"' in chart  # the door; htmx fills it
    listed = doctor.get(f"/recordings/patients/{visit.patient_id}", headers={"HX-Request": "true"})
    assert listed.status_code == 200 and f'src="/recordings/{recording_id}/play"' in listed.get_data(as_text=True)
    assert 'preload="none"' in listed.get_data(as_text=True)  # listing plays nothing
    played = doctor.get(f"/recordings/{recording_id}/play")
    assert played.status_code == 200 and played.get_data() == WEBM_FIRST + WEBM_NEXT
    assert played.mimetype == "video/webm" and played.headers["Cache-Control"] == "no-store"
    assert played.headers["X-Content-Type-Options"] == "nosniff"
    assert played.headers["Content-Disposition"].startswith('attachment; filename="visit-recording-')
    assert played.headers["Content-Length"] == str(len(WEBM_FIRST + WEBM_NEXT))
    patient = signed_in_as(app, visit.patient_user)
    assert f"/recordings/{recording_id}/play" in patient.get(f"/recordings/patients/{visit.patient_id}").get_data(
        as_text=True)
    assert patient.get(f"/recordings/{recording_id}/play").get_data() == WEBM_FIRST + WEBM_NEXT
    for role in (Role.DOCTOR, Role.PATIENT, Role.RECEPTION):
        stranger, user = signed_in(role)
        if role == Role.PATIENT:
            make_patient(given_name="Baraka", family_name="Kim", user_id=user.id)
        assert stranger.get(f"/recordings/{recording_id}/play").status_code == 403, role
        assert stranger.get(f"/recordings/patients/{visit.patient_id}").status_code == 403, role
    assert doctor.get(f"/recordings/{recording_id + 7}/play").status_code == 404
    from app.audit.models import AuditEvent
    with app.app_context():
        plays = db.session.execute(select(AuditEvent.actor_user_id).where(AuditEvent.action == "recording.play")
                                   .order_by(AuditEvent.seq)).scalars().all()
        assert plays == [visit.doctor.id, visit.patient_user.id]
    # The patient reads, in words, who recorded and who played their visit.
    who_looked = patient.get("/patient/record/access").get_data(as_text=True)
    assert "Played a video visit recording" in who_looked and "Recorded part of a video visit" in who_looked
