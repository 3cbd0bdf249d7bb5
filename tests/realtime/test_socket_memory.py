"""200 messages of 1 MB sent to the live socket of a real gunicorn gevent worker (as in the Procfile):
each is refused with 1009 before it is buffered, the worker does not grow by what was sent, and it
still serves pages and sockets afterwards. (Before the size cap, the worker kept all 200 MB.)"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from app.accounts.models import Role
from tests.realtime.support import connect, gunicorn, sign_in

MESSAGES, SIZE = 200, 1_000_000


def _worker_rss_kb(master_pid: int) -> int:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    assert len(children) == 1, children
    status = Path(f"/proc/{children[0]}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.fixture
def server(app, database_url, redis_url):
    suffix = uuid.uuid4().hex[:8]
    env = dict(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY=app.config["SECRET_KEY"],
               REALTIME_PREFIX=f"test-rt-{suffix}:", CACHE_PREFIX=f"test-cache-{suffix}:",
               RQ_QUEUE_NAME=f"test-{suffix}", APP_ENV="development")
    with gunicorn(env) as servers:
        yield servers[0]


def _send_until_closed(ws, payload: bytes, budget: int) -> tuple[int, int]:
    """Send up to `budget` messages; (how many were sent, the close code the server gave)."""
    sent = 0
    try:
        while sent < budget:
            ws.send(payload)
            sent += 1
    except (ConnectionClosed, OSError, LocalProtocolError):  # the server's close frame already arrived
        pass
    try:
        while True:
            if ws.receive(timeout=10) is None:
                return sent, 0  # still open, silent: nothing refused the messages
    except ConnectionClosed as closed:
        return sent, int(closed.reason)


def test_large_messages_are_refused_and_the_worker_does_not_keep_them(server, make_user):
    process, base = server
    doctor = make_user(Role.DOCTOR)
    session = sign_in(base, doctor.email)
    live = f"/ws/live?channels=doctor:{doctor.id}"
    payload = b"x" * SIZE

    warm = connect(base, live, session)  # everything a socket needs is loaded before measuring
    assert json.loads(warm.receive(timeout=10))["type"] == "hello"
    warm.close()
    before = _worker_rss_kb(process.pid)

    left, codes = MESSAGES, []
    started = time.monotonic()
    while left:
        assert time.monotonic() - started < 120
        ws = connect(base, live, session)
        try:
            assert json.loads(ws.receive(timeout=10))["type"] == "hello"
        except ConnectionClosed as refused:  # the account's last sockets are still closing
            assert refused.reason == 1008
            time.sleep(0.05)
            continue
        sent, code = _send_until_closed(ws, payload, left)
        left -= max(sent, 1)
        codes.append(code)
        ws.close()
    grown_mb = (_worker_rss_kb(process.pid) - before) / 1024

    assert set(codes) == {1009}, codes
    assert grown_mb < 40, f"the worker grew by {grown_mb:.0f} MB for {MESSAGES} MB sent"
    # Still serving: a page, and a socket.
    assert requests.get(base + "/healthz", timeout=5).status_code == 200
    ws = connect(base, live, session)
    try:
        assert json.loads(ws.receive(timeout=10))["type"] == "hello"
    finally:
        ws.close()
