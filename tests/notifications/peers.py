"""Real peers for the outage tests, each on a port of its own, started and killed by the test alone:
a private redis-server, a private PostgreSQL cluster, an SMTP sink that counts every message by its
outbox id, and `flask --app wsgi worker` processes. The shared PostgreSQL and Redis are never touched.
"""
from __future__ import annotations

import asyncio
import collections
import email
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def answered_quickly(request, *, within: float = 5):
    """`request()`'s response, failing the test when it took longer than `within` seconds (a request
    that waited out a timeout on a service that is down)."""
    started = time.monotonic()
    response = request()
    assert time.monotonic() - started < within, f"a request took more than {within} s"
    return response


class RedisServer:
    """redis-server on its own port, no persistence: a restart comes back empty, as after a crash."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port, self.process = directory, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=10, what="the private redis-server")

    def _answers(self) -> bool:
        from redis import Redis

        try:
            return Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except Exception:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def client(self):
        from redis import Redis

        return Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)


class PostgresServer:
    """A PostgreSQL cluster of its own (initdb in a temp dir, run as the postgres user)."""

    def __init__(self, directory: Path) -> None:
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.directory, self.port = directory, free_port()
        self.data = directory / "data"
        shutil.chown(directory, "postgres", "postgres")
        self._as_postgres(self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                          "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", self.directory / "log",
                          "-w", "start")

    def stop(self) -> None:
        """Immediate: every connection is cut, as when the database host goes away."""
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def stop_if_running(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()


class SmtpSink:
    """An SMTP server in this process that accepts every message and counts it by the outbox id it
    carries (X-MyAfya-Notification). `hold(ref)` keeps that message's DATA unanswered until
    `release()`, then refuses it (the send in flight never completed), or accepts it after all when
    `release(accept=True)`."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.accepted: collections.Counter = collections.Counter()
        self.holding: set[str] = set()
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?tls=none"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._release.set()
        self._controller.stop()

    def hold(self, reference: str) -> None:
        self.holding.add(reference)

    def release(self, *, accept: bool = False) -> None:
        if accept:
            self.holding.clear()
        self._release.set()

    def count(self) -> int:
        with self._lock:
            return sum(self.accepted.values())

    async def handle_DATA(self, server, session, envelope):
        reference = email.message_from_bytes(envelope.content).get("X-MyAfya-Notification")
        if reference in self.holding:
            self.held.set()
            while not self._release.is_set():
                await asyncio.sleep(0.02)
            if reference in self.holding:
                return "451 4.3.0 not accepted (the test held this message)"
        with self._lock:
            self.accepted[reference] += 1
        return "250 2.0.0 accepted"


class WorkerProcess:
    """`flask --app wsgi worker`, as the Procfile runs it, with settings from the environment."""

    def __init__(self, directory: Path, *, database_url: str, redis_url: str, smtp_url: str, queue: str) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix="worker-", suffix=".log", dir=directory)[1])
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, SMTP_URL=smtp_url,
                   RQ_QUEUE_NAME=queue, OUTBOX_SWEEP_SECONDS="1", REMINDER_SWEEP_SECONDS="3600",
                   APP_ENV="development", PYTHONUNBUFFERED="1")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                            env=env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        """Processes this worker started (RQ's forked scheduler would be one)."""
        found = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:
                found.append(int(Path(stat).parent.name))
        return found

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
