"""Open-loop load test of the scheduling hot paths against a real server on PostgreSQL.

    make bench            (or: .venv/bin/python tests/perf/load.py --rate 100 --seconds 20)

Creates a throwaway database, seeds the demo plus bench patients, starts gunicorn as the Procfile
does (2 gevent workers), then fires requests at a fixed arrival rate, whether or not earlier ones
have finished (open loop: a slow server is not allowed to slow the load down, so queueing shows
up in the latencies). Latency is measured from each request's scheduled start. Reports
p50/p95/p99 and errors per scenario and exits 1 when a budget is missed:

- the free-slots partial: p95 < 50 ms at 100 requests/s, and under 5 KB;
- booking: p95 < 100 ms at 20 bookings/s (a slot already taken is an expected 422, not an error).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
PASSWORD = "demo-password"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql, "postgres"], check=True)


@contextmanager
def seeded_demo(db_url: str):
    """The schema and the demo on `db_url`, inside an app context: yields the demo (its sites, its
    doctor, its patients' ids) for a benchmark to add its own rows to; the caller commits."""
    from app import create_app
    from app.core.migrate import upgrade_to_head

    upgrade_to_head(db_url)
    app = create_app({"DATABASE_URL": db_url, "REDIS_URL": REDIS, "TESTING": True})
    with app.app_context():
        from app.demo import seed_demo

        seed_demo()
        yield Demo()


class Demo:
    """What a benchmark needs of the seeded demo (inside its app context)."""

    @staticmethod
    def site(kind: str):
        from sqlalchemy import select

        from app.accounts.models import Site
        from app.extensions import db

        return db.session.execute(select(Site).where(Site.kind == kind)).scalars().first()

    @staticmethod
    def user(email: str):
        from sqlalchemy import select

        from app.accounts.models import User
        from app.extensions import db

        return db.session.execute(select(User).where(User.email == email)).scalar_one()

    @staticmethod
    def patient_ids() -> list[int]:
        from sqlalchemy import select

        from app.extensions import db
        from app.records.models import Patient

        return list(db.session.execute(select(Patient.id)).scalars())


def prepare(db_url: str, bench_patients: int) -> None:
    """Schema, demo data, and patients to book for (inserted directly: no password hashing)."""
    with seeded_demo(db_url):
        from app.extensions import db
        from app.records.services import patient_create

        for i in range(bench_patients):
            patient_create(given_name=f"Bench{i}", family_name="Patient", phone=f"+2547100{i:05d}")
        db.session.commit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=REDIS, APP_ENV="development",
               CACHE_PREFIX=f"bench-{port}:", REALTIME_PREFIX=f"bench-rt-{port}:", RQ_QUEUE_NAME=f"bench-{port}")
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gevent",
                             "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                            cwd=ROOT, env=env)


@contextmanager
def bench_database(prefix: str) -> Iterator[str]:
    """A throwaway PostgreSQL database for one run, dropped afterwards whatever happened."""
    name = f"{prefix}_{os.getpid()}"
    psql(f"CREATE DATABASE {name}")
    try:
        yield f"{PG}/{name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def served(db_url: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn as the Procfile runs it, on a free port, up and answering: (its base URL, the process)."""
    from tests.processes import stop

    port = free_port()
    server = start_server(db_url, port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        yield base, server
    finally:
        stop(server)


async def bench_get(base: str, rate: float, seconds: float, *, name: str, email: str, path: str, clients: int = 5,
                    htmx: bool = True, on_start=lambda: None) -> Recorder:
    """GET `path` at `rate` per second for `seconds`, open loop, as `email` signed in on `clients`
    sessions (an htmx partial unless `htmx` is False), gzip accepted: latencies and sizes as sent."""
    record = Recorder(name)
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(clients)]
    headers = {"Accept-Encoding": "gzip", **({"HX-Request": "true"} if htmx else {})}
    try:
        for session in sessions:
            await sign_in(session, base, email)
        on_start()  # after signing in: a password hash is not what is measured
        loop = asyncio.get_running_loop()

        async def one(i: int, scheduled: float) -> None:
            async with sessions[i % len(sessions)].get(f"{base}{path}", headers=headers) as response:
                body = await response.read()
                record.add(loop.time() - scheduled, response.status, int(response.headers.get("Content-Length", len(body))))

        await open_loop(rate, seconds, one)
    finally:
        for session in sessions:
            await session.close()
    return record


async def bench_post(base: str, rate: float, seconds: float, *, name: str, email: str, path_of, done) -> Recorder:
    """POST to `path_of(i)` at `rate` per second for `seconds`, open loop, as `email` (a CSRF token and
    nothing else in the form): `done(response)` tells an action done from one refused."""
    record = Recorder(name)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50), cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        token = await sign_in(session, base, email)
        loop = asyncio.get_running_loop()

        async def one(i: int, scheduled: float) -> None:
            async with session.post(f"{base}{path_of(i)}", data={"csrf_token": token},
                                    allow_redirects=False) as response:
                await response.read()
                record.add(loop.time() - scheduled, response.status if done(response) else f"{response.status} refused")

        await open_loop(rate, seconds, one)
    finally:
        await session.close()
    return record


def verdict(missed: dict[str, bool], *recorders: "Recorder") -> int:
    """Print which budgets were missed (any errors miss one too); the exit status: 1 when any was."""
    failures = [budget for budget, was_missed in missed.items() if was_missed]
    if any(recorder.errors for recorder in recorders):
        failures.append("errors")
    print("budgets met" if not failures else "BUDGETS MISSED: " + ", ".join(failures))
    return 1 if failures else 0


def wait_until_up(base: str, attempts: int = 100) -> None:
    """Until the server answers /healthz (about 20 s at most)."""
    import urllib.request

    for _ in range(attempts):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return
        except Exception:
            time.sleep(0.2)


async def sign_in(session: aiohttp.ClientSession, base: str, email: str) -> str:
    async with session.get(base + "/login") as response:
        page = await response.text()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    async with session.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False) as response:
        assert response.status == 303, response.status
    async with session.get(base + "/") as response:
        page = await response.text()
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


class Recorder:
    def __init__(self, name: str) -> None:
        self.name, self.latencies, self.errors, self.statuses, self.sizes = name, [], 0, {}, []

    def add(self, latency: float, status: int | None, size: int = 0, ok=(200, 303)) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.sizes.append(size)
        if status not in ok:
            self.errors += 1

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")

    def line(self) -> str:
        return (f"{self.name:<22} n={len(self.latencies):<5} p50={self.pct(.50):6.1f} ms  p95={self.pct(.95):6.1f} ms  "
                f"p99={self.pct(.99):6.1f} ms  max={max(self.latencies) * 1000 if self.latencies else 0:6.1f} ms  "
                f"errors={self.errors}  statuses={self.statuses}")


async def open_loop(rate: float, seconds: float, make_request) -> None:
    """Start request i at t0 + i/rate, regardless of the others."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    tasks = []
    for i in range(int(rate * seconds)):
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(make_request(i, scheduled)))
    await asyncio.gather(*tasks)


async def bench_slots(base: str, rate: float, seconds: float, doctors: list[int]) -> Recorder:
    record = Recorder("free-slots partial")
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50), cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(10)]
    try:
        for session in sessions:
            await sign_in(session, base, "patient@demo.test")
        today = dt.date.today()
        loop = asyncio.get_running_loop()

        async def one(i: int, scheduled: float):
            day = today + dt.timedelta(days=1 + i % 14)
            url = f"{base}/patient/appointments/book?doctor={doctors[i % len(doctors)]}&day={day.isoformat()}"
            try:
                async with sessions[i % len(sessions)].get(url, headers={"HX-Request": "true", "HX-Target": "day-slots"}) as r:
                    body = await r.read()
                    record.add(loop.time() - scheduled, r.status, len(body), ok=(200,))
            except Exception:
                record.add(loop.time() - scheduled, None)

        await open_loop(rate, seconds, one)
    finally:
        for session in sessions:
            await session.close()
    return record


async def bench_booking(base: str, rate: float, seconds: float, targets: list[tuple[int, int, str]]) -> Recorder:
    record = Recorder("booking")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100), cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        token = await sign_in(session, base, "reception@demo.test")
        loop = asyncio.get_running_loop()

        async def one(i: int, scheduled: float):
            patient_id, doctor_id, start = targets[i % len(targets)]
            data = {"doctor_id": str(doctor_id), "starts_at": start, "idempotency_key": secrets.token_urlsafe(24),
                    "mode": "in_person", "reason": "bench", "csrf_token": token}
            try:
                async with session.post(f"{base}/reception/appointments/book/confirm?patient={patient_id}", data=data,
                                        allow_redirects=False) as r:
                    await r.read()
                    record.add(loop.time() - scheduled, r.status, ok=(303, 422))
            except Exception:
                record.add(loop.time() - scheduled, None)

        await open_loop(rate, seconds, one)
    finally:
        await session.close()
    return record


def booking_targets(db_url: str, count: int) -> tuple[list[int], list[tuple[int, int, str]]]:
    """Distinct free slots, each paired with a distinct bench patient."""
    from app import create_app

    app = create_app({"DATABASE_URL": db_url, "REDIS_URL": REDIS, "TESTING": True})
    with app.app_context():
        from sqlalchemy import select

        from app.records.models import Patient
        from app.scheduling.clinic_time import local_today
        from app.scheduling.queries import doctors_list
        from app.scheduling.slots import free_slots

        doctors = [d.id for d in doctors_list()]
        patients = list(db_session_scalars(select(Patient.id).where(Patient.family_name == "Patient")))
        slots = []
        for offset in range(2, 60):
            for doctor_id in doctors:
                for slot in free_slots(doctor_id, local_today() + dt.timedelta(days=offset)):
                    slots.append((doctor_id, slot.starts_at.isoformat()))
            if len(slots) >= count:
                break
    return doctors, [(patients[i % len(patients)], d, s) for i, (d, s) in enumerate(slots[:count])]


def db_session_scalars(query):
    from app.extensions import db

    return db.session.execute(query).scalars()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100, help="free-slots requests per second")
    parser.add_argument("--booking-rate", type=float, default=20, help="bookings per second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    bookings = int(args.booking_rate * args.seconds)
    with bench_database("myafya_bench") as db_url:
        prepare(db_url, bench_patients=bookings)
        doctors, targets = booking_targets(db_url, bookings)
        with served(db_url) as (base, _server):
            slots = asyncio.run(bench_slots(base, args.rate, args.seconds, doctors))
            booking = asyncio.run(bench_booking(base, args.booking_rate, args.seconds, targets))
    print(slots.line())
    print(f"{'':<22} partial size: median {statistics.median(slots.sizes or [0]):.0f} B, max {max(slots.sizes or [0])} B")
    print(booking.line())
    return verdict({"free-slots p95 >= 50 ms": slots.pct(.95) >= 50,
                    "free-slots partial >= 5 KB": max(slots.sizes or [0]) >= 5 * 1024,
                    "booking p95 >= 100 ms": booking.pct(.95) >= 100}, slots, booking)


if __name__ == "__main__":
    sys.exit(main())
