"""A check-in made through one web process reaches a doctor's page connected to another.

Two real gunicorn servers (gevent workers, as in the Procfile) share PostgreSQL and Redis; the
doctor's websocket is on one, the front desk posts the check-in to the other.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid

import pytest
from simple_websocket import ConnectionClosed
from simple_websocket import ConnectionError as HandshakeFailed

from app.accounts.models import Role
from tests.realtime.support import connect, gunicorn, sign_in


@pytest.fixture
def two_servers(app, database_url, redis_url):
    suffix = uuid.uuid4().hex[:8]
    env = dict(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=app.config["SECRET_KEY"],
               REALTIME_PREFIX=f"test-rt-{suffix}:", CACHE_PREFIX=f"test-cache-{suffix}:", RQ_QUEUE_NAME=f"test-{suffix}",
               APP_ENV="development")
    with gunicorn(env, count=2) as servers:
        yield [base for _, base in servers]


def _todays_booking(app, doctor_id: int, patient_id: int) -> int:
    from app.extensions import db
    from app.scheduling.models import Appointment

    start = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    with app.app_context():
        appointment = Appointment(doctor_id=doctor_id, patient_id=patient_id, starts_at=start,
                                  ends_at=start + dt.timedelta(minutes=15), status="booked")
        db.session.add(appointment)
        db.session.commit()
        return appointment.id


def test_check_in_on_one_process_reaches_the_doctor_on_another(app, two_servers, make_user, make_patient):
    desk_server, doctor_server = two_servers
    doctor, desk = make_user(Role.DOCTOR), make_user(Role.RECEPTION)
    patient = make_patient()
    appointment_id = _todays_booking(app, doctor.id, patient.id)

    doctor_session = sign_in(doctor_server, doctor.email)
    ws = connect(doctor_server, f"/ws/live?channels=doctor:{doctor.id}", doctor_session)
    try:
        assert json.loads(ws.receive(timeout=20))["type"] == "hello"  # sent once the server listens to Redis

        desk_session = sign_in(desk_server, desk.email)
        page = desk_session.get(desk_server + "/reception/").text
        assert f'id="appointment-{appointment_id}"' in page
        token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        response = desk_session.post(desk_server + f"/reception/appointments/{appointment_id}/check-in",
                                     headers={"X-CSRFToken": token, "HX-Request": "true"})
        assert response.status_code == 200

        event = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = ws.receive(timeout=2)
            if message is None:
                continue
            event = json.loads(message)
            if event.get("id") == appointment_id:
                break
        assert event == {"type": "appointment", "event": "check_in", "id": appointment_id, "status": "checked_in",
                         "channel": f"doctor:{doctor.id}"}
        # The live region the event tells the page to refresh now shows the arrival.
        day = doctor_session.get(doctor_server + "/doctor/appointments/day", headers={"HX-Request": "true"}).text
        assert "Arrived" in day and "<html" not in day
    finally:
        ws.close()


def test_a_websocket_for_someone_elses_channel_is_refused(app, two_servers, make_user):
    server = two_servers[0]
    doctor, other = make_user(Role.DOCTOR), make_user(Role.DOCTOR)
    session = sign_in(server, doctor.email)
    ws = connect(server, f"/ws/live?channels=doctor:{other.id}", session)
    with pytest.raises(ConnectionClosed) as closed:
        ws.receive(timeout=5)
    assert closed.value.reason == 1008
    with pytest.raises(HandshakeFailed):  # anonymous: redirected to the login page, no socket
        connect(server, f"/ws/live?channels=doctor:{doctor.id}")
