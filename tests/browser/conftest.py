"""Browser fixtures: the app served on a real port, and Debian's Chromium driven by Playwright.

`live_server` is the app with the default settings; `idle_server` the same app with a 4-second idle
timeout (warning at 2 s) for the idle sign-out tests. Both share the test database, so the autouse
TRUNCATE of tests/conftest.py applies to them too: create the users a test needs inside the test.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, test_settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@dataclass
class LiveServer:
    app: object
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{server.port}", daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def live_server_factory(app, database_url, redis_url):
    """live_server_factory(**settings) -> LiveServer: one server per distinct set of settings.

    Each server is its own app on the session app's database, Redis and job queue (the autouse
    clean_state fixture re-binds the process-wide services to the session app before each test).
    """
    from app import create_app

    shared = {"RQ_QUEUE_NAME": app.config["RQ_QUEUE_NAME"]}

    servers: dict[tuple, LiveServer] = {}
    running = []

    def start(**extra) -> LiveServer:
        key = tuple(sorted(extra.items()))
        if key not in servers:
            live_app = create_app(test_settings(database_url, redis_url, **{**shared, **extra}))
            server, thread = _serve(live_app)
            running.append((server, thread))
            servers[key] = LiveServer(app=live_app, url=f"http://127.0.0.1:{server.port}")
        return servers[key]

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(live_server_factory) -> LiveServer:
    return live_server_factory()


@pytest.fixture(scope="session")
def idle_server(live_server_factory) -> LiveServer:
    return live_server_factory(IDLE_TIMEOUT_SECONDS=4, IDLE_WARNING_SECONDS=2)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def viewport():
    """Override in a test module (or parametrize) to change the window size."""
    return {"width": 1280, "height": 800}


@pytest.fixture
def console(page):
    """Everything the page wrote to its console (and uncaught errors), as 'type: text' strings."""
    return page.console_log


@pytest.fixture
def page(chromium, viewport):
    context = chromium.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(8_000)
    page = context.new_page()
    page.console_log = []
    page.on("console", lambda message: page.console_log.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: page.console_log.append(f"pageerror: {error}"))
    yield page
    context.close()


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m]


def sign_in(page, server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Sign in the way a person does: the form, typed, the button."""
    page.goto(server("/login"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
