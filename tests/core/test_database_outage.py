"""PostgreSQL goes away and comes back, for real.

The test starts a PostgreSQL server of its own (tests/core/own_postgres.py) and stops it the way a
crash does (`pg_ctl stop -m immediate`). While it is down every request answers a 503 page in the
layout (never Flask's bare 500), with Retry-After; /healthz names the database; a booking whose
commit is cut off changes nothing; and service returns by itself as soon as the database does.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import event, select

from tests.conftest import PASSWORD
from tests.core.apps import another_app
from tests.core.own_postgres import CLINIC, free_port, own_postgres, pg_app, seed_clinic  # noqa: F401 (fixtures)
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]


def _assert_no_half_written_booking(pg_app) -> int:
    """Every appointment has the audit row and the outbox rows its booking writes in the same
    transaction, and every booking's audit row its appointment; the audit chain is intact."""
    from app.audit.models import AuditEvent
    from app.audit.services import audit_chain_verify
    from app.extensions import db
    from app.notifications.models import Notification
    from app.scheduling.models import Appointment

    with pg_app.app_context():
        appointments = db.session.execute(select(Appointment.id)).scalars().all()
        audited = set(db.session.execute(select(AuditEvent.target).where(AuditEvent.action == "appointment.create")).scalars())
        keys = set(db.session.execute(select(Notification.dedupe_key)).scalars())
        assert audited == {f"appointment:{i}" for i in appointments}
        for i in appointments:
            assert {f"appt:{i}:booked:email", f"appt:{i}:booked:sms", f"appt:{i}:booked:doctor"} <= keys, i
        report = audit_chain_verify()
        assert report.ok, report
        db.session.rollback()
        return len(appointments)


def _assert_outage_page(response, *, fragment: bool = False) -> None:
    """`response`: a Flask test response or an Answer."""
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    headers = response.headers
    body = response.body if isinstance(response, Answer) else response.get_data(as_text=True)
    assert status == 503, (status, body[:300])
    assert int(headers["Retry-After"]) > 0
    assert headers["Cache-Control"] == "no-store"
    assert "Traceback" not in body and "Internal Server Error" not in body
    assert "Temporarily unavailable" in body
    if fragment:
        assert 'id="error"' in body and "<html" not in body
    else:
        assert CLINIC in body and 'rel="stylesheet"' in body and 'id="error"' in body


# -- in the test process: the page itself, a commit cut off -------------------------------------------


def _sign_in(client, email: str) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def test_while_the_database_is_down_a_signed_in_user_gets_the_503_page_in_the_layout(pg_app, own_postgres):
    clinic = seed_clinic(pg_app, patients=1)
    doctor = pg_app.test_client()
    _sign_in(doctor, clinic.doctor_email)
    patient = pg_app.test_client()
    token = _sign_in(patient, clinic.patient_emails[0])
    own_postgres.stop()
    try:
        _assert_outage_page(doctor.get("/doctor/"))
        _assert_outage_page(doctor.get("/doctor/appointments/day", headers={"HX-Request": "true"}), fragment=True)
        _assert_outage_page(doctor.get("/doctor/appointments/day", headers={"HX-Request": "true", "HX-Boosted": "true"}))
        _assert_outage_page(patient.get("/patient/appointments/"))
        doctor_id, start = clinic.slots[0]
        _assert_outage_page(patient.post("/patient/appointments/book/confirm", data={
            "doctor_id": doctor_id, "starts_at": start, "idempotency_key": secrets.token_urlsafe(24),
            "mode": "in_person", "csrf_token": token}))
        _assert_outage_page(patient.get("/session/status", headers={"Accept": "application/json"}))
        _assert_outage_page(patient.post("/session/keepalive", headers={"X-CSRFToken": token}))
        anonymous = pg_app.test_client()
        login_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                anonymous.get("/login").get_data(as_text=True)).group(1)  # the form needs no database
        _assert_outage_page(anonymous.post("/login", data={"email": clinic.doctor_email, "password": PASSWORD,
                                                           "csrf_token": login_token}))
        health = pg_app.test_client().get("/healthz")
        assert health.status_code == 503 and health.json["database"].startswith("error")
    finally:
        own_postgres.start(wait=True)
    # Back by itself: the connections the crash broke are not handed out again.
    assert doctor.get("/doctor/").status_code == 200
    assert pg_app.test_client().get("/healthz").status_code == 200


def test_a_booking_whose_commit_is_cut_off_answers_503_and_writes_nothing(pg_app, own_postgres):
    from app.extensions import db

    clinic = seed_clinic(pg_app, patients=1)
    patient = pg_app.test_client()
    token = _sign_in(patient, clinic.patient_emails[0])
    before = _assert_no_half_written_booking(pg_app)

    armed = []

    def crash_at_commit(session):
        # The booking request's own transaction, at its commit (not at a savepoint inside it).
        if armed and session is db.session() and not session.in_nested_transaction():
            armed.clear()
            own_postgres.stop()

    event.listen(db._factory, "before_commit", crash_at_commit)
    try:
        doctor_id, start = clinic.slots[0]
        armed.append(True)
        response = patient.post("/patient/appointments/book/confirm", data={
            "doctor_id": doctor_id, "starts_at": start, "idempotency_key": secrets.token_urlsafe(24),
            "mode": "in_person", "csrf_token": token})
        assert not armed, "the booking never reached its commit"
    finally:
        event.remove(db._factory, "before_commit", crash_at_commit)
        own_postgres.start(wait=True)
    _assert_outage_page(response)
    assert "is booked" not in response.get_data(as_text=True)
    assert _assert_no_half_written_booking(pg_app) == before
    page = patient.get("/patient/appointments/")
    assert page.status_code == 200 and "is booked" not in page.get_data(as_text=True)


def test_an_error_page_that_finds_the_database_gone_is_the_503_page(pg_app, own_postgres):
    """A bug and the outage at once: the 500 page's layout would query; the 503 page answers instead."""
    from app.core.policies import signed_in

    def fails_as_the_database_goes():
        own_postgres.stop()
        raise RuntimeError("a bug, at the worst moment")

    pg_app.add_url_rule("/test-only/fails", view_func=signed_in(fails_as_the_database_goes))
    clinic = seed_clinic(pg_app, patients=0)
    doctor = pg_app.test_client()
    _sign_in(doctor, clinic.doctor_email)
    try:
        _assert_outage_page(doctor.get("/test-only/fails"))
    finally:
        own_postgres.start(wait=True)


def test_healthz_answers_quickly_when_the_database_host_never_answers(app):
    """A host that accepts the connection and then says nothing (a network cut, a frozen machine)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/myafya"
        with another_app(app, DATABASE_URL=url, PROPAGATE_EXCEPTIONS=False) as cut_off:
            started = time.monotonic()
            health = cut_off.test_client().get("/healthz")
            took = time.monotonic() - started
    assert health.status_code == 503 and health.json["database"] == "error: OperationalError"
    assert took < 6


def test_a_live_socket_is_told_to_try_again_later_when_the_database_goes(pg_app, own_postgres, monkeypatch):
    from simple_websocket import ConnectionClosed
    from werkzeug.serving import make_server

    import app.realtime.guard as guard
    from tests.realtime.support import connect

    monkeypatch.setattr(guard, "PING_SECONDS", 0.3)  # how often the socket re-checks the session
    clinic = seed_clinic(pg_app, patients=0)
    server = make_server("127.0.0.1", 0, pg_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"127.0.0.1:{server.port}"
    try:
        doctor = Visitor(f"http://{base}", clinic.doctor_email, [], [], threading.Event())
        doctor.sign_in()
        path = f"/ws/live?channels=doctor:{clinic.doctor_id}"
        ws = connect(f"http://{base}", path, doctor.http)
        assert json.loads(ws.receive(timeout=10))["type"] == "hello"
        own_postgres.stop()
        try:
            with pytest.raises(ConnectionClosed):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    ws.receive(timeout=1)  # pings, then the close
            assert ws.close_reason == 1013  # Try Again Later
            # live.js reconnects: while the database is down the handshake answers 503 (no socket).
            assert doctor.http.get(f"http://{base}/ws/live?channels=doctor:{clinic.doctor_id}").status_code == 503
        finally:
            own_postgres.start(wait=True)
        ws = connect(f"http://{base}", path, doctor.http)
        assert json.loads(ws.receive(timeout=10))["type"] == "hello"
        ws.close()
    finally:
        server.shutdown()


# -- under load, served by gunicorn as in production --------------------------------------------------


@dataclass
class Answer:
    kind: str  # page, fragment, booking, health
    started: float
    ended: float
    status: int | None  # None: no answer at all (connection refused or reset, timeout)
    body: str
    headers: dict


class Visitor(threading.Thread):
    """A signed-in person clicking through pages, htmx partials and bookings in a loop."""

    def __init__(self, base: str, email: str, requests_: list[tuple[str, str]], answers: list, stop: threading.Event,
                 slots: list | None = None) -> None:
        super().__init__(daemon=True)
        self.base, self.email, self.requests, self.answers, self.stop, self.slots = base, email, requests_, answers, stop, slots
        self.http = requests.Session()

    def sign_in(self) -> None:
        page = self.http.get(self.base + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = self.http.post(self.base + "/login", data={"email": self.email, "password": PASSWORD, "csrf_token": token},
                                  allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.status_code
        page = self.http.get(self.base + "/", timeout=10).text
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)

    def one(self, kind: str, path: str) -> None:
        started = time.monotonic()
        try:
            if kind == "booking":
                if not self.slots:
                    return
                doctor_id, start = self.slots.pop()
                response = self.http.post(self.base + path, allow_redirects=False, timeout=10, data={
                    "doctor_id": doctor_id, "starts_at": start, "idempotency_key": secrets.token_urlsafe(24),
                    "mode": "in_person", "csrf_token": self.token})
            else:
                headers = {"HX-Request": "true"} if kind == "fragment" else {}
                response = self.http.get(self.base + path, headers=headers, allow_redirects=False, timeout=10)
            self.answers.append(Answer(kind, started, time.monotonic(), response.status_code, response.text,
                                       response.headers))
        except requests.RequestException as error:
            self.answers.append(Answer(kind, started, time.monotonic(), None, repr(error), {}))

    def run(self) -> None:
        while not self.stop.is_set():
            for kind, path in self.requests:
                self.one(kind, path)


@pytest.fixture
def served(app, pg_app, own_postgres, redis_url, tmp_path):
    """gunicorn with gevent workers (as the Procfile runs it) on the test's own PostgreSQL."""
    suffix = uuid.uuid4().hex[:8]
    env = dict(os.environ, DATABASE_URL=own_postgres.url, REDIS_URL=redis_url, SECRET_KEY=app.config["SECRET_KEY"],
               CLINIC_NAME=CLINIC, APP_ENV="development", REALTIME_PREFIX=f"test-rt-{suffix}:",
               CACHE_PREFIX=f"test-cache-{suffix}:", RQ_QUEUE_NAME=f"test-{suffix}")
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gevent", "--workers", "2",
             "--graceful-timeout", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    yield base, log
    stop(process)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_postgres_restarted_under_load(pg_app, own_postgres, served):
    base, log = served
    clinic = seed_clinic(pg_app, patients=3)
    answers: list[Answer] = []
    stop = threading.Event()
    slots = list(clinic.slots)
    patient_path = [("page", "/patient/"), ("fragment", "/patient/appointments/"),
                    ("booking", "/patient/appointments/book/confirm"), ("health", "/healthz")]
    doctor_path = [("page", "/doctor/"), ("fragment", "/doctor/appointments/day"), ("page", "/doctor/appointments/day")]
    visitors = [Visitor(base, email, patient_path, answers, stop, slots) for email in clinic.patient_emails]
    visitors.append(Visitor(base, clinic.doctor_email, doctor_path, answers, stop))
    for visitor in visitors:
        visitor.sign_in()
        visitor.start()

    def booked() -> int:
        return sum(1 for a in list(answers) if a.kind == "booking" and a.status == 303)

    try:
        _wait_for(lambda: booked() >= 3, 15, "no booking went through before the outage")
        own_postgres.stop()
        down = time.monotonic()
        _wait_for(lambda: {a.kind for a in list(answers) if a.started > down} >= {"page", "fragment", "booking", "health"}
                  and time.monotonic() > down + 2, 20, "the visitors stopped while the database was down")
        up_from = time.monotonic()
        own_postgres.start(wait=False)
        ready = own_postgres.wait_ready()
        booked_before = booked()
        _wait_for(lambda: time.monotonic() > ready + 3 and booked() > booked_before, 20,
                  "no booking went through after the database came back")
    finally:
        stop.set()
        for visitor in visitors:
            visitor.join(timeout=15)

    answers = list(answers)
    # Nothing ever answered 500, or not at all: the worker kept serving throughout.
    failures = [(a.kind, a.status, a.body[:200]) for a in answers if a.status is None or (a.status >= 500 and a.status != 503)]
    assert not failures, failures[:5]

    while_down = [a for a in answers if a.started > down and a.ended < up_from]
    assert len(while_down) >= 8
    for answer in while_down:
        if answer.kind == "health":  # names the dependency that is down
            health = json.loads(answer.body)
            assert answer.status == 503 and health["database"].startswith("error") and health["redis"] == "ok", health
        else:
            _assert_outage_page(answer, fragment=answer.kind == "fragment")

    # Back within a second of pg_isready answering, by itself, with nobody signed out; and from then on
    # every request succeeds (a redirect to the login page would show here too).
    signed_in_pages = [a for a in answers if a.kind == "page" and a.started >= ready]
    assert signed_in_pages and signed_in_pages[0].status == 200 and signed_in_pages[0].ended < ready + 1.0, \
        [(a.status, round(a.ended - ready, 2)) for a in signed_in_pages[:5]]
    late = [(a.kind, a.status) for a in answers if a.started > ready + 1.0 and a.status not in (200, 303)]
    assert not late, late[:5]

    _assert_no_half_written_booking(pg_app)
    server_log = log.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
