"""A PostgreSQL server of the test's own, on a free port, that an outage test may stop and start;
the fixtures of an app served from it, and a small clinic to seed it with.

The shared server on 5432 is never touched: this one lives in a temporary directory (owned by the
`postgres` user, as initdb and pg_ctl refuse to run as root) and is removed with it. A test module
imports the fixtures it uses: `from tests.core.own_postgres import own_postgres, pg_app`.
"""
from __future__ import annotations

import datetime as dt
import glob
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.accounts.models import Role
from tests.core.apps import another_app

CLINIC = "Outage Test Clinic"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"no {name} under /usr/lib/postgresql/*/bin"
    return found[-1]


class OwnPostgres:
    DATABASE = "myafya"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="myafya-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.DATABASE}"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=check, capture_output=True, text=True)

    def create(self) -> "OwnPostgres":
        self._as_postgres(_bin("initdb"), "--pgdata", str(self.data), "--username", "postgres", "--auth", "trust",
                          "--encoding", "UTF8", "--no-sync")
        self.start(wait=True)
        self._as_postgres(_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.DATABASE)
        return self

    def start(self, *, wait: bool) -> None:
        # fsync off: the data only has to survive this process being killed, never the machine.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c max_connections=100")
        self._as_postgres(_bin("pg_ctl"), "--pgdata", str(self.data), "--log", str(self.root / "server.log"),
                          "-o", options, *(["--wait"] if wait else ["--no-wait"]), "start")

    def stop(self) -> None:
        """As a crash or a power cut would: no checkpoint, every connection dropped at once."""
        self._as_postgres(_bin("pg_ctl"), "--pgdata", str(self.data), "--mode", "immediate", "--wait", "stop")

    def is_ready(self) -> bool:
        return subprocess.run([_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"]).returncode == 0

    def wait_ready(self, timeout: float = 30) -> float:
        """Poll pg_isready; return the monotonic time at which it first answered."""
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            assert time.monotonic() < deadline, "PostgreSQL did not come back: " + self.log_tail()
            time.sleep(0.02)
        return time.monotonic()

    def log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text()[-2000:] if log.exists() else ""

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(_bin("pg_ctl"), "--pgdata", str(self.data), "--mode", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres():
    from app.core.migrate import upgrade_to_head

    pg = OwnPostgres().create()
    try:
        upgrade_to_head(pg.url)
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def pg_app(app, own_postgres):
    """An app on the test's own PostgreSQL (the session app's services are put back afterwards).
    Errors reach the error handlers, as in production, instead of propagating to the test."""
    with another_app(app, DATABASE_URL=own_postgres.url, CLINIC_NAME=CLINIC, PROPAGATE_EXCEPTIONS=False) as other:
        yield other


@dataclass
class Clinic:
    doctor_email: str
    doctor_id: int
    patient_emails: list[str]
    slots: list[tuple[int, str]]  # (doctor id, instant) of free slots, each to be booked once


def seed_clinic(pg_app, patients: int = 2) -> Clinic:
    """A doctor working every day 06:00–22:00 in 15-minute slots, patients who sign in, free slots."""
    from app.accounts.models import StaffProfile, User
    from app.extensions import db
    from app.records.services import patient_create
    from app.scheduling.availability import HoursInput, weekly_hours_set
    from app.scheduling.clinic_time import local_today
    from app.scheduling.slots import free_slots
    from tests.conftest import _password_hash

    tag = uuid.uuid4().hex[:6]
    with pg_app.app_context():
        doctor = User(email=f"doctor-{tag}@clinic.test", full_name="Dr Outage", role=Role.DOCTOR.value,
                      password_hash=_password_hash())
        db.session.add(doctor)
        db.session.flush()
        db.session.add(StaffProfile(user_id=doctor.id, speciality="General practice"))
        for weekday in range(7):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(6), dt.time(22), 15)])
        emails = []
        for n in range(patients):
            user = User(email=f"patient{n}-{tag}@patients.test", full_name=f"Patient {n}", role=Role.PATIENT.value,
                        password_hash=_password_hash())
            db.session.add(user)
            db.session.flush()
            patient_create(given_name="Amani", family_name=f"Otieno{n}", phone=f"+2547120000{n:02d}", user_id=user.id)
            emails.append(user.email)
        db.session.commit()
        slots = [(doctor.id, slot.starts_at.strftime("%Y-%m-%dT%H:%MZ"))
                 for days in range(2, 30) for slot in free_slots(doctor.id, local_today() + dt.timedelta(days=days))]
        return Clinic(doctor.email, doctor.id, emails, slots)
