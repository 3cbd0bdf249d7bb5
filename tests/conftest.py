"""Fixtures: the app on a real PostgreSQL database and a real Redis, both set up by `make test`."""
from __future__ import annotations

import os
import tempfile
import time
import uuid

import pytest
from psycopg.errors import DeadlockDetected
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.accounts.models import Role, StaffProfile, User
from app.accounts.passwords import password_hash
from app.core.actor import Actor

PASSWORD = "correct horse battery"
SET_UP = Actor.system("test set-up")  # the actor of what a test writes to prepare its case
_HASH = None
_CHECKPOINTS = tempfile.mkdtemp(prefix="myafya-test-audit-")


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite with `make test` (it prepares PostgreSQL and Redis)", 2)
    return value


@pytest.fixture(scope="session")
def database_url():
    url = _required("TEST_DATABASE_URL")
    from app.core.migrate import upgrade_to_head

    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def redis_url():
    return _required("TEST_REDIS_URL")


def test_settings(database_url, redis_url, **extra) -> dict:
    settings = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RQ_QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "PUBLIC_BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        "DEV_MAILBOX_DIR": None,
        # Never the checkout's instance/ (clean_state gives the session app one per test).
        "AUDIT_CHECKPOINT_PATH": os.path.join(_CHECKPOINTS, f"{uuid.uuid4().hex}.jsonl"),
    }
    settings.update(extra)
    return settings


@pytest.fixture(scope="session")
def app(database_url, redis_url):
    from app import create_app

    return create_app(test_settings(database_url, redis_url))


@pytest.fixture(autouse=True)
def clean_state(request, app, tmp_path):
    """Every test starts with empty tables, an empty outbox queue and no backend overrides, with the
    process-wide services bound to the session app (a test may have made another app)."""
    import app.models as _all_models  # noqa: F401
    from app import bind_services
    from app.core.clock import clock
    from app.core.db import Base
    from app.extensions import db, jobs
    from app.notifications.backends import _overrides

    clock.unfreeze()
    # Ids restart with every test and test runs share one Redis: each test gets its own key space.
    suffix = uuid.uuid4().hex[:8]
    app.config.update(CACHE_PREFIX=f"test-cache-{suffix}:", REALTIME_PREFIX=f"test-rt-{suffix}:",
                      AUDIT_CHECKPOINT_PATH=str(tmp_path / "audit-checkpoints.jsonl"))
    bind_services(app)
    # Reference data a migration seeds (the ICD-10 codes) stays: no test writes it.
    names = ", ".join(t.name for t in Base.metadata.sorted_tables if not t.info.get("reference_data"))
    for attempt in range(5):
        try:
            with db.engine.begin() as conn:
                # The audit trail refuses TRUNCATE (a trigger); tests wipe it with triggers off.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                conn.execute(text("INSERT INTO audit_chain_head (id, last_seq, last_mac) VALUES (1, 0, :mac)"),
                             {"mac": "0" * 64})
            break
        except OperationalError as error:
            # A live server of the test before may still be finishing a request (a socket's last
            # message) when this one wipes the tables: PostgreSQL picks one of the two to fail.
            if not isinstance(error.orig, DeadlockDetected) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    if jobs.redis is not None:
        jobs.rq_queue.empty()
    _overrides.clear()
    yield
    _overrides.clear()
    clock.unfreeze()


@pytest.fixture
def app_ctx(app):
    from app.extensions import db

    with app.app_context():
        yield
        db.session.rollback()


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = password_hash(PASSWORD)
    return _HASH


@pytest.fixture
def make_user(app):
    """Create an account with role `role` (password: PASSWORD), committed."""
    from app.extensions import db

    counter = iter(range(1, 10_000))

    def make(role: Role = Role.DOCTOR, *, email: str | None = None, full_name: str | None = None, **fields) -> User:
        n = next(counter)
        with app.app_context():
            user = User(email=email or f"{role.value}{n}@clinic.test", full_name=full_name or f"{role.label} {n}",
                        role=role.value, **{"password_hash": _password_hash(), **fields})
            db.session.add(user)
            db.session.flush()
            if role != Role.PATIENT:
                db.session.add(StaffProfile(user_id=user.id, speciality="General practice" if role == Role.DOCTOR else None))
            db.session.commit()
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def make_patient(app):
    from app.extensions import db
    from app.records.services import patient_create

    def make(given_name="Amani", family_name="Otieno", **fields):
        with app.app_context():
            patient = patient_create(given_name=given_name, family_name=family_name, **fields)
            db.session.commit()
            db.session.expunge(patient)
            return patient

    return make


@pytest.fixture
def care(app):
    """care(doctor, patient, days_ago=30): a completed visit between them in the past, inserted
    directly (booking refuses the past), so the doctor has a care relationship and the chart opens.
    Takes users/patients or their ids."""
    import datetime as dt

    from app.core.clock import clock
    from app.extensions import db
    from app.scheduling.models import Appointment, AppointmentStatus

    def make(doctor, patient, *, days_ago: int = 30) -> int:
        starts_at = clock.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
        with app.app_context():
            visit = Appointment(doctor_id=getattr(doctor, "id", doctor), patient_id=getattr(patient, "id", patient),
                                starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=20),
                                status=AppointmentStatus.COMPLETED.value, reminder_stage=2, checked_in_at=starts_at,
                                started_at=starts_at, completed_at=starts_at + dt.timedelta(minutes=20),
                                created_at=starts_at - dt.timedelta(days=3))
            db.session.add(visit)
            db.session.commit()
            return visit.id

    return make


@pytest.fixture
def make_sites(app):
    """make_sites(SiteKind.LAB, "Ngong Road Lab", "Westlands Lab") -> their ids, committed."""
    from app.accounts.models import Site
    from app.extensions import db

    def make(kind, *names: str) -> tuple[int, ...]:
        with app.app_context():
            sites = [Site(name=name, kind=kind.value) for name in names]
            db.session.add_all(sites)
            db.session.commit()
            return tuple(site.id for site in sites)

    return make


@pytest.fixture
def staff_at(app, make_user):
    """staff_at(Role.LAB, site_id, full_name=...) -> a user of that role who works at that site (or at none)."""
    from app.extensions import db

    def make(role: Role, site_id: int | None, **fields) -> User:
        user = make_user(role, **fields)
        with app.app_context():
            db.session.get(StaffProfile, user.id).site_id = site_id
            db.session.commit()
        return user

    return make


def actor_for(user) -> Actor:
    """The actor of a request made by `user` (a test's stand-in for the signed-in request)."""
    return Actor(user_id=user.id, role=user.role, ip="127.0.0.1", origin="test")


def waiting_on_a_lock() -> bool:
    """Whether a session of this test's database waits for a lock (another transaction's). Called
    inside the racing app context: a context of its own would end that context's session, and its
    uncommitted work, on the way out."""
    from app.extensions import db

    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock'")).scalar_one() > 0


def second_waits_on_first(app, first, second):
    """A race decided by locks, made to happen every time: `first()` runs in the caller's app context and
    holds its locks uncommitted; `second()` runs in another session and either finishes (nothing made
    it wait) or waits on them; then `first` commits. Returns what `second` returned or raised."""
    import threading

    from app.extensions import db

    first()
    outcome, done = {}, threading.Event()

    def other() -> None:
        with app.app_context():
            try:
                outcome["result"] = second()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - handed to the test
                outcome["result"] = error
            finally:
                db.session.rollback()
                db.session.remove()
                done.set()

    thread = threading.Thread(target=other)
    thread.start()
    while not done.is_set() and not waiting_on_a_lock():
        done.wait(timeout=0.02)
    db.session.commit()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the second hung"
    return outcome["result"]


class Browser:
    """A test client that signs in the way a person does and keeps the page's CSRF token."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf(self, path: str = "/") -> str:
        import re

        page = self.client.get(path, follow_redirects=True).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(r'"X-CSRFToken": "([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email: str, password: str = PASSWORD, **extra):
        token = self.csrf("/login")
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})

    def post(self, path: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        token = self.csrf(page or "/")
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def signed_in(app, make_user):
    """signed_in(Role.DOCTOR) -> (Browser, user): a fresh client signed in with a new account of that role."""

    def sign_in(role: Role, **fields):
        user = make_user(role, **fields)
        b = Browser(app.test_client())
        response = b.login(user.email)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return b, user

    return sign_in


def signed_in_as(app, user) -> Browser:
    """A Browser on `app` signed in as `user` (with the test password)."""
    b = Browser(app.test_client())
    assert b.login(user.email).status_code == 303
    return b


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, database_url, tmp_path):
    """An empty database of each kind for a migration test: a SQLite file, or a PostgreSQL database of
    its own beside the suite's (dropped afterwards)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_mig_{uuid.uuid4().hex[:8]}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
