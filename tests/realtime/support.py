"""Helpers for the realtime tests: real servers, signed-in HTTP sessions, websocket clients."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from simple_websocket import Client, ConnectionClosed

from tests.conftest import PASSWORD
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict, count: int = 1):
    """`count` gunicorn servers with one gevent worker each (as in the Procfile), serving wsgi:app
    with `env`; yields [(master process, base URL)], stops them afterwards."""
    servers = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gevent", "--workers", "1",
                 "--graceful-timeout", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                cwd=ROOT, env=dict(os.environ, **env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        yield servers
    finally:
        for process, _ in servers:
            stop(process)


def sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 303
    return session


def cookie_of(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


class BrowserLikeClient(Client):
    """simple-websocket's client, made to behave like a browser where the tests need it."""

    def handshake(self):
        # It sends `Host: 127.0.0.1` without the port; a browser sends the port.
        self.host = f"{self.host}:{self.port}"
        super().handshake()

    def close(self, reason=None, message=None):
        """Close, or just let go of the connection if the server closed it already."""
        try:
            super().close(reason=reason, message=message)
        except ConnectionClosed:
            self.sock.close()

    def _thread(self):
        # Frames that came in the same packet as the 101 (a hello, a close) are already parsed:
        # simple-websocket's client would only look at them after the next read, as a browser does not.
        self.connected = self._handle_events()
        super()._thread()


def connect(base: str, path: str, session: requests.Session | None = None, *, origin: str | None = "own",
            headers: dict | None = None, **options) -> Client:
    """A websocket to `base` + `path` with the session's cookie, opened from `origin` ("own": the
    server's own address, as a browser on its pages sends; None: no Origin header at all)."""
    headers = dict(headers or {})
    if session is not None:
        headers["Cookie"] = cookie_of(session)
    if origin == "own":
        origin = base
    if origin is not None:
        headers["Origin"] = origin
    return BrowserLikeClient.connect(base.replace("http", "ws", 1) + path, headers=headers, **options)
