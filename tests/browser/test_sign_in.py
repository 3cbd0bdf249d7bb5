"""Signing in and out in a real browser, the shared-desk hand-over, and the idle sign-out."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import csp_violations, sign_in

pytestmark = pytest.mark.browser

HOMES = {Role.PATIENT: "/patient/", Role.DOCTOR: "/doctor/", Role.LAB: "/lab/", Role.PHARMACIST: "/pharmacy/",
         Role.RECEPTION: "/reception/", Role.ADMIN: "/admin/"}


def _path_is(server, path: str):
    return re.compile(re.escape(server(path)) + r"(\?.*)?$")


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_signs_in_sees_their_name_and_signs_out(page, live_server, make_user, role):
    user = make_user(role)
    sign_in(page, live_server, user.email)
    expect(page).to_have_url(live_server(HOMES[role]))
    expect(page.locator(".who-name")).to_contain_text(user.full_name)
    expect(page.locator("h1")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(_path_is(live_server, "/login"))
    expect(page.locator("#email")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    # Back at the home's address, the browser is sent to the login form again, not shown a page.
    page.goto(live_server(HOMES[role]))
    expect(page).to_have_url(re.compile(re.escape(live_server("/login")) + r"\?next="))


def test_wrong_password_shows_the_message_and_keeps_the_email(page, live_server, make_user):
    user = make_user(Role.DOCTOR)
    sign_in(page, live_server, user.email, "not the password at all")
    expect(page.get_by_role("alert")).to_contain_text("match an active account")
    expect(page.locator("#email")).to_have_value(user.email)
    expect(page.locator("#password")).to_have_value("")
    # The password field has the focus, so the person can type it again straight away.
    expect(page.locator("#password")).to_be_focused()
    expect(page).to_have_url(_path_is(live_server, "/login"))


def test_switch_user_signs_out_and_shows_the_login_form(page, live_server, make_user):
    nurse, doctor = make_user(Role.RECEPTION), make_user(Role.DOCTOR)
    sign_in(page, live_server, nurse.email)
    expect(page).to_have_url(live_server("/reception/"))
    page.get_by_role("button", name="Switch user").click()
    expect(page).to_have_url(_path_is(live_server, "/login"))
    expect(page.get_by_text("The next person can sign in.")).to_be_visible()
    expect(page.locator("#email")).to_be_visible()
    expect(page.locator("#email")).to_have_value("")
    # The next person signs in on the same browser.
    page.fill("#email", doctor.email)
    page.fill("#password", "correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server("/doctor/"))
    expect(page.locator(".who-name")).to_contain_text(doctor.full_name)
    expect(page.locator(".who-name")).not_to_contain_text(nurse.full_name)


def test_no_csp_violations_on_the_login_page_and_a_home(page, console, live_server, make_user):
    user = make_user(Role.DOCTOR)
    page.goto(live_server("/login"))
    page.wait_for_load_state("load")
    sign_in(page, live_server, user.email)
    expect(page).to_have_url(live_server("/doctor/"))
    page.wait_for_load_state("load")
    # A boosted navigation too: htmx swaps the page in, and must not trip the policy either.
    page.locator(".nav a").first.click()
    page.wait_for_load_state("load")
    assert csp_violations(console) == [], console
    assert not [m for m in console if m.startswith(("error:", "pageerror:"))], console


def test_idle_session_is_warned_then_signed_out(page, idle_server, make_user):
    user = make_user(Role.DOCTOR)
    sign_in(page, idle_server, user.email)
    expect(page).to_have_url(idle_server("/doctor/"))
    dialog = page.locator("#idle-warning")
    expect(dialog).to_have_attribute("open", "", timeout=6_000)
    expect(page.get_by_role("heading", name="Still there?")).to_be_visible()
    page.wait_for_url(idle_server("/login?reason=idle"), timeout=8_000)
    expect(page.get_by_text("You were signed out after a period of inactivity.")).to_be_visible()
    page.goto(idle_server("/doctor/"))
    expect(page).to_have_url(re.compile(re.escape(idle_server("/login")) + r"\?next="))


def test_stay_signed_in_keeps_the_session(page, idle_server, make_user):
    user = make_user(Role.DOCTOR)
    sign_in(page, idle_server, user.email)
    expect(page).to_have_url(idle_server("/doctor/"))
    dialog = page.locator("#idle-warning")
    # The warning comes 2 s before the end: at least 2 s after the last request of the sign-in.
    expect(dialog).to_have_attribute("open", "", timeout=6_000)
    clicked_at = time.monotonic()
    with page.expect_response(lambda r: r.url.endswith("/session/keepalive")) as kept:
        page.locator("#idle-stay").click()
    assert kept.value.ok and kept.value.json()["seconds_left"] >= 3
    expect(dialog).not_to_have_attribute("open", "")
    # 2.5 s after "Stay": past the moment the unextended session would have ended (at most 2 s
    # after the warning), well before the extended one ends (4 s, give or take the 1 s rounding).
    time.sleep(max(0.0, clicked_at + 2.5 - time.monotonic()))
    assert page.url == idle_server("/doctor/")
    page.goto(idle_server("/doctor/"))
    expect(page).to_have_url(idle_server("/doctor/"))
    expect(page.locator(".who-name")).to_contain_text(user.full_name)
