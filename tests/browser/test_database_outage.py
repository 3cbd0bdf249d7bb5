"""What a signed-in person sees in a real browser while PostgreSQL is down, and after."""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.browser.conftest import LiveServer, sign_in
from tests.core.own_postgres import CLINIC, own_postgres, pg_app, seed_clinic  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def pg_server(pg_app):
    # The idle check asks the server 3 s after each page (the warning is due 27 s before a 30 s timeout).
    pg_app.config.update(IDLE_TIMEOUT_SECONDS=30, IDLE_WARNING_SECONDS=27)
    server = make_server("127.0.0.1", 0, pg_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app=pg_app, url=f"http://127.0.0.1:{server.port}")
    server.shutdown()
    thread.join(timeout=5)


def test_a_link_shows_the_503_page_and_nobody_is_signed_out(page, pg_app, pg_server, own_postgres):
    clinic = seed_clinic(pg_app, patients=0)
    sign_in(page, pg_server, clinic.doctor_email)
    expect(page).to_have_url(pg_server("/doctor/"))
    own_postgres.stop()
    try:
        # A link followed with hx-boost shows the 503 page in the layout instead of doing nothing.
        with page.expect_response(lambda r: r.url.endswith("/session/status") and r.status == 503):
            page.get_by_role("navigation", name="Main").get_by_role("link", name="My hours").click()
            expect(page.locator("#error")).to_contain_text("Temporarily unavailable")
            expect(page).to_have_url(pg_server("/doctor/appointments/availability"))
        expect(page.locator(".brand-clinic")).to_have_text(CLINIC)
        # The idle check found the server unavailable: it asks again later, it does not sign out.
        page.wait_for_timeout(300)
        assert "/login" not in page.url
    finally:
        own_postgres.start(wait=True)
    hours = page.url
    page.reload()  # back by itself, still signed in
    expect(page).to_have_url(hours)
    expect(page.locator(".who-name")).to_contain_text("Dr Outage")
    expect(page.locator("#error")).to_have_count(0)
