"""Cold loads on a slow link: the login page and every role's home under 1.5 s on emulated slow 3G.

    make bench-cold       # or: .venv/bin/python tests/perf/cold_load.py [--runs 3] [--waterfall]

Starts the app as the Procfile does (gunicorn, 2 gevent workers) on a throwaway SQLite database with
the demo data (or on --database-url), then, in Debian's Chromium driven by Playwright, for each page:
signs in as the demo account on a fast link, opens a new browser context with only the session
cookie (an empty cache), throttles it through CDP (Network.emulateNetworkConditions: 400 ms
latency, 400 kbps down and up) and loads the page. Measured from the start of the navigation to the
load event, and to the end of the last response (the network idle). Prints a table (the median of
--runs loads per page) and exits 1 when any page's load event comes later than the budget.

`measure_cold()` is also used by tests/browser/test_cold_load.py (the login page and two homes).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.perf.page_weight import DEMO_HOMES, DEMO_PASSWORD  # noqa: E402
from tests.processes import stop  # noqa: E402

BUDGET_MS = 1500
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

# Read from the page once it is idle: the navigation and every resource, as the browser timed them.
_TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const row = (e) => ({url: e.name, kind: e.initiatorType, start: e.startTime, end: e.responseEnd,
                       bytes: e.transferSize, body: e.encodedBodySize, blocking: e.renderBlockingStatus || ""});
  return {load: nav.loadEventEnd, dom: nav.domContentLoadedEventEnd, redirects: nav.redirectCount,
          resources: [row(nav)].concat(performance.getEntriesByType("resource").map(row))};
}"""


@dataclass
class Fetch:
    url: str
    kind: str
    start: float
    end: float
    bytes: int
    body: int
    blocking: str


@dataclass
class ColdLoad:
    label: str
    path: str
    url: str
    load_ms: float
    dom_ms: float
    idle_ms: float
    redirects: int
    fetches: list[Fetch] = field(default_factory=list)

    @property
    def transferred(self) -> int:
        return sum(f.bytes for f in self.fetches)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def signed_in_state(browser, base_url: str, email: str, password: str = DEMO_PASSWORD) -> dict:
    """Sign in through the form (its CSRF token included) on a fast link; return the storage state
    (the session cookie) for a cold context."""
    context = browser.new_context()
    try:
        form = context.request.get(base_url + "/login").text()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        answer = context.request.post(base_url + "/login", max_redirects=0,
                                      form={"email": email, "password": password, "csrf_token": token})
        if answer.status != 303 or "/login" in answer.headers.get("location", "/login"):
            raise AssertionError(f"signing in as {email} answered {answer.status} to {answer.headers.get('location')}")
        return context.storage_state()
    finally:
        context.close()


def measure_cold(browser, base_url: str, path: str, *, label: str | None = None,
                 storage_state: dict | None = None, until_idle: bool = True) -> ColdLoad:
    """Load `path` in a new context (empty cache) over the emulated slow link; `until_idle`: also wait
    for the requests made after the load event (else the idle time counts only those made before)."""
    context = browser.new_context(storage_state=storage_state)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        page.goto(base_url + path, wait_until="load", timeout=30_000)
        if until_idle:
            with contextlib.suppress(Exception):  # a page that never idles is still measured at its load event
                page.wait_for_load_state("networkidle", timeout=15_000)
        timings = page.evaluate(_TIMINGS)
        fetches = [Fetch(**r) for r in timings["resources"]]
        idle = max([timings["load"]] + [f.end for f in fetches])
        return ColdLoad(label or path, path, page.url, timings["load"], timings["dom"], idle, timings["redirects"],
                        fetches)
    finally:
        context.close()


def report(loads: list[ColdLoad], *, waterfall: bool = False) -> list[str]:
    """Print the table (and each page's requests); return the pages over budget."""
    failures = []
    print(f"{'page':<16} {'path':<12} {'DOM ready':>9} {'load':>8} {'idle':>8} {'requests':>8} {'bytes':>8}  budget "
          f"{BUDGET_MS} ms (load)")
    for c in loads:
        ok = c.load_ms <= BUDGET_MS
        print(f"{c.label:<16} {c.path:<12} {c.dom_ms:>7.0f}ms {c.load_ms:>6.0f}ms {c.idle_ms:>6.0f}ms "
              f"{len(c.fetches):>8} {c.transferred:>8}  {'ok' if ok else 'OVER'}")
        if not ok:
            failures.append(f"{c.label} ({c.path}): load event at {c.load_ms:.0f} ms > {BUDGET_MS} ms")
        if waterfall:
            for f in c.fetches:
                name = f.url.split("//", 1)[-1].split("/", 1)[-1]
                print(f"    {f.start:>6.0f} -> {f.end:>6.0f} ms  {f.bytes:>6} B  {f.kind:<10} {f.blocking:<15} "
                      f"/{name[:60]}")
    return failures


# --- the server ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(database_url: str) -> None:
    from app import create_app
    from app.core.migrate import upgrade_to_head
    from app.demo import seed_demo
    from app.extensions import db

    upgrade_to_head(database_url)
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": None, "TESTING": True})
    with app.app_context():
        seed_demo(only_if_empty=True)
        db.session.commit()


def _wait_until_up(url: str, process: subprocess.Popen, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer on {url} within {deadline_s} s")


@contextlib.contextmanager
def demo_server(database_url: str | None = None):
    """gunicorn as in the Procfile, on the demo data; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="myafya-cold-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'cold.sqlite3'}"
        _seed(url)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(DATABASE_URL=url, APP_ENV="development")
        server_log = Path(tmp) / "server.log"
        with server_log.open("wb") as out:  # the demo's reminders go to the log, not over the table
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--no-control-socket", "--worker-class", "gevent", "--workers",
                 "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                _wait_until_up(base, process)
            except RuntimeError:
                sys.stderr.write(server_log.read_text(errors="replace")[-4000:])
                raise
            yield base
        finally:
            stop(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold loads per page; the median is reported")
    parser.add_argument("--waterfall", action="store_true", help="list each page's requests with their timings")
    parser.add_argument("--database-url", help="an existing database to seed and use instead of a throwaway SQLite")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    loads = []
    with demo_server(args.database_url) as base, sync_playwright() as playwright:
        browser = launch(playwright)
        for label, email, path in DEMO_HOMES:
            state = signed_in_state(browser, base, email) if email else None
            runs = [measure_cold(browser, base, path, label=label, storage_state=state) for _ in range(args.runs)]
            runs.sort(key=lambda c: c.load_ms)
            loads.append(runs[len(runs) // 2])
        browser.close()
    failures = report(loads, waterfall=args.waterfall)
    if failures:
        print("\nOVER BUDGET:\n  " + "\n  ".join(failures))
        return 1
    print(f"\nevery page loads within {BUDGET_MS} ms on the emulated slow link (median of {args.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
