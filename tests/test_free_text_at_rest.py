"""Free text is clinical until proven otherwise: every kind a person types goes in with a canary, and the
canary is then looked for where it must never be in the clear: a dump of the database, every value in
Redis, and the log (at DEBUG, SQL statements included). Zero hits.

The kinds: a booking reason, a move reason, a cancellation reason, an emergency-access reason, a leave
note, a clinical note, an allergy, a document's title and note (and the document's own bytes); the messages they cause are delivered through the outbox (the
stand-in provider logs who and when, never a body).
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import subprocess
import uuid
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from app.accounts.models import Role
from tests.conftest import Browser

NAIROBI = ZoneInfo("Africa/Nairobi")
MONDAY = dt.date(2027, 3, 1)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=NAIROBI).astimezone(dt.timezone.utc)


@pytest.fixture
def debug_log(tmp_path):
    """Everything logged in this process, at DEBUG, SQL statements included, into a file."""
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root, engine_log = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    saved = root.level, engine_log.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    engine_log.setLevel(logging.INFO)
    yield path
    root.removeHandler(handler)
    handler.close()
    root.setLevel(saved[0])
    engine_log.setLevel(saved[1])


def _pg_dump(database_url: str) -> str:
    url = make_url(database_url)
    result = subprocess.run(["pg_dump", "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                             "-U", url.username or "postgres", url.database], capture_output=True, check=True, timeout=120)
    return result.stdout.decode("utf-8", "replace")


def _redis_everything(redis) -> bytes:
    """Every key and value in the Redis database the tests use, whatever its type."""
    chunks = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key).decode()
        chunks.append(key)
        if kind == "string":
            chunks.append(redis.get(key) or b"")
        elif kind == "hash":
            chunks.extend(k + b"=" + v for k, v in redis.hgetall(key).items())
        elif kind == "list":
            chunks.extend(redis.lrange(key, 0, -1))
        elif kind == "set":
            chunks.extend(redis.smembers(key))
        elif kind == "zset":
            chunks.extend(redis.zrange(key, 0, -1))
        elif kind == "stream":
            chunks.extend(repr(entry).encode() for entry in redis.xrange(key))
    return b"\n".join(chunks)


def test_typed_free_text_is_nowhere_in_the_clear(app, make_user, make_patient, database_url, debug_log):
    from app.core.clock import clock
    from app.extensions import db, jobs
    from app.notifications.tasks import notifications_sweep
    from app.scheduling.availability import HoursInput, weekly_hours_set

    canary = f"zq{uuid.uuid4().hex[:10]}"
    clock.freeze(at(MONDAY - dt.timedelta(days=7), 8))
    doctor = make_user(Role.DOCTOR, full_name="Dr Canary Check")
    stranger = make_user(Role.DOCTOR, full_name="Dr Never Met")
    with app.app_context():
        for weekday in range(5):
            weekly_hours_set(doctor_id=doctor.id, weekday=weekday,
                             intervals=[HoursInput(dt.time(8), dt.time(12), 30, None, None)])
        db.session.commit()
    patient_user = make_user(Role.PATIENT, full_name="Amani Otieno", phone="+254712000001")
    patient = make_patient(given_name="Amani", family_name="Otieno", phone="+254712000001", user_id=patient_user.id)

    def signed_in(user) -> Browser:
        browser = Browser(app.test_client())
        assert browser.login(user.email).status_code == 303
        return browser

    as_patient, as_desk = signed_in(patient_user), signed_in(make_user(Role.RECEPTION))
    as_doctor, as_stranger = signed_in(doctor), signed_in(stranger)

    booked = as_patient.post("/patient/appointments/book/confirm", {
        "doctor_id": str(doctor.id), "starts_at": at(MONDAY, 9).isoformat(), "idempotency_key": "k" * 24,
        "mode": "in_person", "reason": f"booking: chest pain {canary}"}, page="/patient/appointments/")
    assert booked.status_code == 303, booked.get_data(as_text=True)[:400]
    with app.app_context():
        from sqlalchemy import select

        from app.scheduling.models import Appointment

        first = db.session.execute(select(Appointment.id)).scalar_one()
    moved = as_desk.post(f"/reception/appointments/{first}/move", {
        "starts_at": at(MONDAY, 10).isoformat(), "doctor_id": str(doctor.id), "idempotency_key": "m" * 24,
        "reason": f"moved: went to hospital {canary}"}, page="/reception/")
    assert moved.status_code == 303, moved.get_data(as_text=True)[:400]
    with app.app_context():
        second = db.session.execute(select(Appointment.id).where(Appointment.rescheduled_from_id == first)).scalar_one()

    chart = f"/doctor/patients/{patient.id}"
    for kind, data in (("note", {"subjective": f"Seen: {canary}", "plan": f"Review: {canary}"}),
                       ("allergy", {"substance": f"Penicillin {canary}", "reaction": f"rash {canary}",
                                    "severity": "severe"})):
        added = as_doctor.post(f"{chart}/entries/{kind}", data, page=chart)
        assert added.status_code == 303, added.get_data(as_text=True)[:400]
    # a document: its title and note, and the file's own bytes (a PDF whose text holds the canary)
    uploaded = as_doctor.post(f"{chart}/documents/new", {
        "title": f"Scan {canary}", "note": f"about {canary}",
        "file": (io.BytesIO(b"%PDF-1.4\n(" + canary.encode() + b") Tj\n%%EOF\n"), f"{canary}.pdf", "application/pdf")},
        page=chart, content_type="multipart/form-data")
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)[:400]
    cancelled = as_desk.post(f"/reception/appointments/{second}/cancel",
                             {"reason": f"cancelled: chest pain, admitted {canary}"}, page="/reception/")
    assert cancelled.status_code == 303, cancelled.get_data(as_text=True)[:400]
    leave = as_doctor.post("/doctor/appointments/availability/exceptions", {
        "kind": "leave", "first_day": (MONDAY + dt.timedelta(days=14)).isoformat(),
        "note": f"sick leave: {canary}"}, page="/doctor/appointments/availability")
    assert leave.status_code in (200, 303), leave.get_data(as_text=True)[:400]
    emergency = as_stranger.post(f"{chart}/emergency-access", {"reason": f"collapsed at the desk {canary}"},
                                 page=chart)
    assert emergency.status_code == 303, emergency.get_data(as_text=True)[:400]
    assert as_stranger.get(chart).status_code == 200

    notifications_sweep()  # the messages those caused, "sent" by the stand-in provider, which logs
    clock.unfreeze()

    with app.app_context():
        from app.notifications.models import Notification

        assert db.session.query(Notification).count() >= 3  # the scan below covers real messages
    dump = _pg_dump(database_url)
    assert "INSERT" in dump or "COPY" in dump
    assert canary not in dump, "free text in the clear in the database dump"
    assert canary.encode() not in _redis_everything(jobs.redis), "free text in the clear in Redis"
    log_text = debug_log.read_text(encoding="utf-8")
    assert "console" in log_text and "appointments" in log_text  # the log really was written
    assert canary not in log_text, "free text in the log"
