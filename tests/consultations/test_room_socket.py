"""The room's socket through real gunicorn servers (gevent, as in the Procfile), the patient on one
process and the doctor on another (Redis between them): the handshake refused to strangers, early
joiners and other sites; waiting, admission, signalling relayed; the chat across a reconnect,
nothing lost or doubled; bad input refused with the socket kept open."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import uuid

import pytest
from simple_websocket import ConnectionClosed
from simple_websocket import ConnectionError as HandshakeFailed
from sqlalchemy import select

from app.accounts.models import Role
from tests.realtime.support import connect, gunicorn, sign_in


@pytest.fixture
def two_servers(app, database_url, redis_url):
    suffix = uuid.uuid4().hex[:8]
    env = dict(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=app.config["SECRET_KEY"],
               REALTIME_PREFIX=f"test-rt-{suffix}:", CACHE_PREFIX=f"test-cache-{suffix}:", RQ_QUEUE_NAME=f"test-{suffix}",
               APP_ENV="development", TURN_URLS="turn:127.0.0.1:3478", TURN_SECRET="shared-with-coturn")
    with gunicorn(env, count=2) as servers:
        yield [base for _, base in servers]


def _video_visit(app, doctor_id: int, patient_id: int, *, in_minutes: int) -> str:
    from app.extensions import db
    from app.scheduling.models import Appointment

    start = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=in_minutes)
    token = secrets.token_urlsafe(24)
    with app.app_context():
        db.session.add(Appointment(doctor_id=doctor_id, patient_id=patient_id, starts_at=start, mode="video",
                                   ends_at=start + dt.timedelta(minutes=20), status="booked", video_token=token))
        db.session.commit()
    return token


def next_of(ws, kind: str, timeout: float = 10) -> dict:
    """The next message of this type (others are skipped), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {kind!r} message"
        raw = ws.receive(timeout=left)
        assert raw is not None, f"no {kind!r} message"
        message = json.loads(raw)
        if message["type"] == kind:
            return message


def state_with(ws, **wanted) -> dict:
    """The next room state that says `wanted` (a state can be sent more than once)."""
    while True:
        state = next_of(ws, "state")
        if all(state[k] == v for k, v in wanted.items()):
            return state


def chat_seqs(ws, count: int) -> list[tuple[int, str, bool]]:
    got = []
    while len(got) < count:
        got += [(m["seq"], m["text"], m["mine"]) for m in next_of(ws, "chat")["messages"]]
    return got


def test_the_room_socket_end_to_end(app, two_servers, make_user, make_patient):
    patient_server, doctor_server = two_servers
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    patient = make_patient(user_id=patient_user.id)
    token = _video_visit(app, doctor.id, patient.id, in_minutes=5)
    early = _video_visit(app, doctor.id, patient.id, in_minutes=120)
    path = f"/ws/room/{token}"

    patient_session = sign_in(patient_server, patient_user.email)
    doctor_session = sign_in(doctor_server, doctor.email)

    # Refused before the upgrade: a stranger (404, as the page), too early (403), another site (403).
    stranger = make_user(Role.DOCTOR)
    with pytest.raises(HandshakeFailed) as refused:
        connect(doctor_server, path, sign_in(doctor_server, stranger.email))
    assert refused.value.status_code == 404
    with pytest.raises(HandshakeFailed) as refused:
        connect(patient_server, f"/ws/room/{early}", patient_session)
    assert refused.value.status_code == 403
    with pytest.raises(HandshakeFailed) as refused:
        connect(patient_server, path, patient_session, origin="https://evil.example")
    assert refused.value.status_code == 403

    # The patient waits; the doctor, on the other process, sees it and lets them in.
    patient_ws = connect(patient_server, path, patient_session)
    hello = next_of(patient_ws, "hello")
    assert hello["member"] == "patient" and hello["polite"] is True
    [turn] = hello["ice"]
    assert turn["urls"] == ["turn:127.0.0.1:3478"] and turn["username"].endswith(f":1-{patient_user.id}")
    assert next_of(patient_ws, "state") == {"type": "state", "waiting": True, "admitted": False, "over": False,
                                                "phone": False, "call": None}
    doctor_ws = connect(doctor_server, path, doctor_session)
    assert next_of(doctor_ws, "hello")["polite"] is False
    assert state_with(doctor_ws, waiting=True)["admitted"] is False
    # Before admission no signal crosses: the patient's camera does not reach the doctor uninvited.
    patient_ws.send(json.dumps({"type": "signal", "data": {"presence": "bye"}}))
    doctor_ws.send(json.dumps({"type": "admit"}))
    assert state_with(doctor_ws, admitted=True)["waiting"] is False
    assert state_with(patient_ws, admitted=True)["waiting"] is False
    patient_ws.send(json.dumps({"type": "signal", "data": {"presence": "join"}}))
    offer = {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 10}
    doctor_ws.send(json.dumps({"type": "signal", "data": {"description": offer}}))
    assert next_of(doctor_ws, "signal")["data"] == {"presence": "join"}  # not the "bye" sent before admission
    assert next_of(patient_ws, "signal")["data"] == {"description": offer}

    # Bad input is refused and the socket stays up.
    patient_ws.send("{not json")
    assert next_of(patient_ws, "error")
    patient_ws.send(json.dumps({"type": "signal", "data": {"description": {"type": "offer", "sdp": "x" * 20_000}}}))
    assert next_of(patient_ws, "error")

    # Chat both ways.
    patient_ws.send(json.dumps({"type": "chat", "id": "p-1", "text": "Habari daktari"}))
    assert chat_seqs(doctor_ws, 1) == [(1, "Habari daktari", False)]
    assert chat_seqs(patient_ws, 1) == [(1, "Habari daktari", True)]
    # The patient's connection drops; the doctor writes meanwhile.
    patient_ws.close()
    doctor_ws.send(json.dumps({"type": "chat", "id": "d-1", "text": "Pole. Since when?"}))
    doctor_ws.send(json.dumps({"type": "chat", "id": "d-2", "text": "Any cough?"}))
    assert chat_seqs(doctor_ws, 2) == [(2, "Pole. Since when?", True), (3, "Any cough?", True)]
    # Back, with the last seq it had: the missed two, in order; its resend of p-1 is not doubled.
    patient_ws = connect(patient_server, path + "?after=1", patient_session)
    assert chat_seqs(patient_ws, 2) == [(2, "Pole. Since when?", False), (3, "Any cough?", False)]
    patient_ws.send(json.dumps({"type": "chat", "id": "p-1", "text": "Habari daktari"}))
    patient_ws.send(json.dumps({"type": "chat", "id": "p-2", "text": "Since yesterday"}))
    assert chat_seqs(doctor_ws, 1) == [(4, "Since yesterday", False)]
    assert chat_seqs(patient_ws, 1) == [(4, "Since yesterday", True)]

    # Quality samples: one out of range is refused; a step down reaches the doctor's indicator at once
    # (however soon after the last sample), and the samples are kept with the consultation.
    patient_ws.send(json.dumps({"type": "quality", "data": {"rtt": 80, "level": 9}}))
    assert next_of(patient_ws, "error")
    patient_ws.send(json.dumps({"type": "quality", "data": {"rtt": 80, "loss": 0.2, "level": 0, "audioOnly": False}}))
    patient_ws.send(json.dumps({"type": "quality", "data": {"rtt": 900, "loss": 12, "level": 3, "audioOnly": True}}))
    assert next_of(doctor_ws, "peer-quality") == {"type": "peer-quality", "level": 3, "audioOnly": True}
    with app.app_context():
        from app.consultations.models import CallQualitySample
        from app.extensions import db
        kept = [(q.member, q.rtt_ms) for q in db.session.query(CallQualitySample)]
    assert kept == [("patient", 80)]  # the second came within QUALITY_EVERY_SECONDS: not kept

    # The room socket takes a burst of ICE candidates larger than the house burst (an ICE restart
    # with TURN on two interfaces), and all of them reach the other side...
    from app.consultations.views.room import ROOM_MESSAGE_BURST
    burst = ROOM_MESSAGE_BURST - 5  # the doctor's socket has sent a few already
    assert burst > app.config["REALTIME_MESSAGE_BURST"]
    for n in range(burst):
        candidate = {"candidate": f"candidate:{n} 1 udp 2122260223 10.0.0.{n} 5{n:04d} typ host", "sdpMid": "0"}
        doctor_ws.send(json.dumps({"type": "signal", "data": {"candidate": candidate}}))
    got = [next_of(patient_ws, "signal")["data"]["candidate"]["candidate"] for _ in range(burst)]
    assert [c.split()[0] for c in got] == [f"candidate:{n}" for n in range(burst)]
    # ...but a flood still closes it.
    try:
        for _ in range(400):
            patient_ws.send("x")
    except (ConnectionClosed, OSError):
        pass
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            patient_ws.receive(timeout=10)
    assert (int(closed.value.reason), closed.value.message) == (1008, "too many messages")
    doctor_ws.close()


def test_closing_one_of_the_patients_two_tabs_keeps_them_waiting_online(app, two_servers, make_user, make_patient):
    """The patient opened the waiting room on their phone and their laptop, then closed the laptop: the
    room still says "waiting" (the doctor, on the other process, sees it); once the last tab goes, not."""
    from app.consultations.models import Consultation
    from app.extensions import db

    patient_server, doctor_server = two_servers
    doctor, patient_user = make_user(Role.DOCTOR), make_user(Role.PATIENT)
    token = _video_visit(app, doctor.id, make_patient(user_id=patient_user.id).id, in_minutes=5)
    path = f"/ws/room/{token}"
    patient_session = sign_in(patient_server, patient_user.email)
    phone_tab, laptop_tab = connect(patient_server, path, patient_session), connect(patient_server, path, patient_session)
    assert state_with(phone_tab, waiting=True) and state_with(laptop_tab, waiting=True)
    doctor_ws = connect(doctor_server, path, sign_in(doctor_server, doctor.email))
    assert state_with(doctor_ws, waiting=True)

    def waiting_in_the_database() -> bool:
        with app.app_context():
            return db.session.execute(select(Consultation.waiting_since)).scalar() is not None

    laptop_tab.close()
    assert state_with(phone_tab, waiting=False)  # the closing tab said so first ...
    assert state_with(phone_tab, waiting=True)   # ... and the phone, still there, says it is waiting
    assert waiting_in_the_database()
    assert state_with(doctor_ws, waiting=True)
    phone_tab.close()
    deadline = time.monotonic() + 10
    while waiting_in_the_database():
        assert time.monotonic() < deadline, "the last tab closed and the room still says waiting"
        time.sleep(0.05)
