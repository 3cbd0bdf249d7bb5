"""Open-loop load test of the video room's chat: delivery latency with many rooms open at once.

    make bench-room       (or: .venv/bin/python tests/perf/room_chat_load.py --rooms 250 --rate 50 --seconds 20)

Creates a throwaway PostgreSQL database with `--rooms` video visits (a doctor and a patient each,
inserted directly), starts two gunicorn processes as the Procfile does (one gevent worker each,
Redis pub/sub between them), signs every member in and opens their room socket: each room's patient
on the first process, its doctor on the second, so every message crosses processes through Redis
(2 x rooms sockets: 500 by default). Then chat messages are sent at a fixed rate, whatever happened
to earlier ones (open loop: a slow server cannot slow the load down, so queueing shows in the
numbers), each from one member of a room taken in turn; a message's latency is from its scheduled
send to its arrival on the other member's socket (persisted, audited, published, read back: the
whole delivery). Reports p50/p95/p99 and lost messages; exits 1 when p95 >= 100 ms or any is lost.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.load import PG, REDIS, Recorder, free_port, psql, sign_in, wait_until_up  # noqa: E402

P95_BUDGET_MS = 100


def prepare(db_url: str, rooms: int) -> list[tuple[str, str, str]]:
    """Schema and `rooms` video visits starting in 5 minutes (the rooms are open): [(token, patient
    email, doctor email)]. Accounts share one password hash: no hashing per account."""
    from app import create_app
    from app.accounts.models import Role, StaffProfile, User
    from app.accounts.passwords import password_hash
    from app.core.migrate import upgrade_to_head
    from app.extensions import db
    from app.records.services import patient_create
    from app.scheduling.models import Appointment, VisitMode
    from tests.perf.load import PASSWORD

    upgrade_to_head(db_url)
    app = create_app({"DATABASE_URL": db_url, "REDIS_URL": REDIS, "TESTING": True})
    start = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    hashed, visits = password_hash(PASSWORD), []
    with app.app_context():
        for n in range(rooms):
            doctor = User(email=f"bench-doctor{n}@clinic.test", full_name=f"Doctor {n}", role=Role.DOCTOR.value,
                          password_hash=hashed)
            patient_user = User(email=f"bench-patient{n}@clinic.test", full_name=f"Patient {n}",
                                role=Role.PATIENT.value, password_hash=hashed)
            db.session.add_all([doctor, patient_user])
            db.session.flush()
            db.session.add(StaffProfile(user_id=doctor.id, speciality="General practice"))
            patient = patient_create(given_name=f"Bench{n}", family_name="Patient", phone=f"+2547200{n:05d}")
            patient.user_id = patient_user.id
            token = secrets.token_urlsafe(24)
            db.session.add(Appointment(doctor_id=doctor.id, patient_id=patient.id, starts_at=start,
                                       ends_at=start + dt.timedelta(minutes=20), status="booked",
                                       mode=VisitMode.VIDEO.value, video_token=token))
            visits.append((token, patient_user.email, doctor.email))
        db.session.commit()
    return visits


def start_server(db_url: str, port: int, suffix: str) -> subprocess.Popen:
    """One web process (one gevent worker); both share the realtime prefix, so Redis joins them."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=REDIS, APP_ENV="development",
               CACHE_PREFIX=f"bench-room-{suffix}:", REALTIME_PREFIX=f"bench-room-rt-{suffix}:",
               RQ_QUEUE_NAME=f"bench-room-{suffix}")
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gevent",
                             "--workers", "1", "--worker-connections", "2000", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)


class Member:
    def __init__(self, base: str, email: str, token: str) -> None:
        self.base, self.email, self.token = base, email, token
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws = None

    async def sign_in(self, limit: asyncio.Semaphore) -> None:
        async with limit:
            await sign_in(self.session, self.base, self.email)

    async def open(self, limit: asyncio.Semaphore) -> None:
        async with limit:
            self.ws = await self.session.ws_connect(self.base.replace("http", "ws", 1) + f"/ws/room/{self.token}",
                                                    origin=self.base, heartbeat=None)

    async def listen(self, arrived: dict, closes: dict) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            event = json.loads(message.data)
            if event.get("type") in ("chat-refused", "error"):
                key = f"{event['type']}: {event.get('message')}"
                closes[key] = closes.get(key, 0) + 1
            if event.get("type") == "chat":
                now = time.perf_counter()
                for m in event["messages"]:
                    if not m["mine"]:
                        arrived.setdefault(m["id"], now)
        key = f"{self.ws.close_code} {self.ws.exception() or ''}".strip()
        closes[key] = closes.get(key, 0) + 1

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.session.close()


async def bench(visits, bases, rate: float, seconds: float) -> tuple[Recorder, int, int]:
    patients = [Member(bases[0], patient, token) for token, patient, _ in visits]
    doctors = [Member(bases[1], doctor, token) for token, _, doctor in visits]
    members = patients + doctors
    limit = asyncio.Semaphore(8)
    # Everyone signs in first (each sign-in hashes a password: seconds of CPU in all), then the sockets open.
    await asyncio.gather(*(m.sign_in(limit) for m in members))
    await asyncio.gather(*(m.open(limit) for m in members))
    arrived: dict[str, float] = {}
    closes: dict[str, int] = {}  # refusals, and why sockets closed during the run (none should)
    listeners = [asyncio.create_task(m.listen(arrived, closes)) for m in members]
    scheduled: dict[str, float] = {}
    t0 = time.perf_counter() + 0.5
    total = int(rate * seconds)
    for i in range(total):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        room = i % len(visits)
        sender = (patients if (i // len(visits)) % 2 == 0 else doctors)[room]
        client_id = f"bench-{i}"
        scheduled[client_id] = at
        try:
            await sender.ws.send_str(json.dumps({"type": "chat", "id": client_id, "text": f"message {i}"}))
        except aiohttp.ClientConnectionResetError:
            pass  # counted as lost
    deadline = time.perf_counter() + 15
    while len(arrived) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    record = Recorder(f"chat delivery ({len(members)} sockets)")
    for client_id, at in scheduled.items():
        if client_id in arrived:
            record.add(arrived[client_id] - at, 200)
    open_sockets = sum(1 for m in members if m.ws is not None and not m.ws.closed)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(m.close() for m in members), return_exceptions=True)
    if closes:
        print("refused or closed during the run:", closes)
    return record, total - len(record.latencies), open_sockets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=250, help="rooms (two sockets each)")
    parser.add_argument("--rate", type=float, default=50, help="chat messages per second, all rooms together")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    name = f"myafya_bench_room_{os.getpid()}"
    db_url = f"{PG}/{name}"
    psql(f"CREATE DATABASE {name}")
    servers = []
    try:
        visits = prepare(db_url, args.rooms)
        suffix = secrets.token_hex(4)
        bases = []
        for _ in range(2):
            port = free_port()
            servers.append(start_server(db_url, port, suffix))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_until_up(base)
        started = time.perf_counter()
        record, lost, open_sockets = asyncio.run(bench(visits, bases, args.rate, args.seconds))
        elapsed = time.perf_counter() - started
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"{args.rooms} rooms, {2 * args.rooms} sockets over 2 web processes; {args.rate:g} messages/s for "
          f"{args.seconds:g} s (open loop); {open_sockets} sockets still open at the end; {elapsed:.0f} s in all")
    print(record.line())
    failures = []
    if record.pct(.95) >= P95_BUDGET_MS:
        failures.append(f"chat delivery p95 >= {P95_BUDGET_MS} ms")
    if lost:
        failures.append(f"{lost} messages not delivered")
    if open_sockets != 2 * args.rooms:
        failures.append(f"only {open_sockets} of {2 * args.rooms} sockets stayed open")
    print("budgets met" if not failures else "BUDGETS MISSED: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
