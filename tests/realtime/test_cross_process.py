"""A check-in made through one web process reaches a doctor's page connected to another.

Two real gunicorn servers (gevent workers, as in the Procfile) share PostgreSQL and Redis; the
doctor's websocket is on one, the front desk posts the check-in to the other.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from simple_websocket import Client

from app.accounts.models import Role
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(app, database_url, redis_url):
    suffix = uuid.uuid4().hex[:8]
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=app.config["SECRET_KEY"],
               REALTIME_PREFIX=f"test-rt-{suffix}:", CACHE_PREFIX=f"test-cache-{suffix}:", RQ_QUEUE_NAME=f"test-{suffix}",
               APP_ENV="development")
    servers = []
    for _ in range(2):
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gevent", "--workers", "1",
             "--graceful-timeout", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        servers.append((process, f"http://127.0.0.1:{port}"))
    for process, base in servers:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
    yield [base for _, base in servers]
    for process, _ in servers:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 303
    return session


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

    doctor_session = _sign_in(doctor_server, doctor.email)
    cookie = "; ".join(f"{k}={v}" for k, v in doctor_session.cookies.items())
    ws_url = doctor_server.replace("http", "ws") + f"/ws/live?channels=doctor:{doctor.id}"
    ws = Client.connect(ws_url, headers={"Cookie": cookie})
    try:
        assert json.loads(ws.receive(timeout=20))["type"] == "hello"
        time.sleep(0.5)  # the server's Redis listener subscribes in the background

        desk_session = _sign_in(desk_server, desk.email)
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
    session = _sign_in(server, doctor.email)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    ws = Client.connect(server.replace("http", "ws") + f"/ws/live?channels=doctor:{other.id}", headers={"Cookie": cookie})
    with pytest.raises(Exception):
        ws.receive(timeout=5)
    with pytest.raises(Exception):  # anonymous: redirected to the login page, no socket
        Client.connect(server.replace("http", "ws") + f"/ws/live?channels=doctor:{doctor.id}")
