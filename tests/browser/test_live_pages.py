"""A live page loads its list once: connecting its socket re-fetches only what changed since the
page was rendered (the server's hello names the stale channels), and still catches up on a change
made between the render and the connection."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import sign_in
from tests.browser.test_booking_path import LIVE, booked, clinic, errors_in, new_page, wait_until_live  # noqa: F401

pytestmark = pytest.mark.browser

HOMES = [(Role.DOCTOR, "/doctor/", "/doctor/appointments/day", "doctor:{id}"),
         (Role.RECEPTION, "/reception/", "/reception/appointments/queue", "clinic")]


@pytest.mark.parametrize("role, home, fragment, channel", HOMES, ids=["doctor", "desk"])
def test_a_live_home_page_fetches_its_list_once_when_nothing_changed(new_page, live_server, make_user,
                                                                       role, home, fragment, channel):
    from app.extensions import hub

    user = make_user(role)
    page = new_page()
    pages, lists = [], []
    page.on("request", lambda r: pages.append(r.url) if r.url == live_server(home) else None)
    page.on("request", lambda r: lists.append(r.url) if fragment in r.url else None)
    sign_in(page, live_server, user.email)
    expect(page).to_have_url(live_server(home))
    wait_until_live(page)
    # The hello asked for nothing. An event now makes exactly one fetch: had the hello asked for
    # one too, it would have been made before this one.
    with page.expect_request(lambda r: fragment in r.url):
        hub.publish(channel.format(id=user.id), {"type": "appointment", "event": "booked", "id": 0})
    assert len(pages) == 1, pages
    assert len(lists) == 1, lists
    assert errors_in(page) == []


def test_a_change_between_the_render_and_the_socket_is_still_fetched(new_page, live_server, booked, app):
    """The page is rendered showing "Booked"; the patient is checked in before its socket connects
    (so the socket never sees the event): the hello says the doctor's channel is stale."""
    from app.core.actor import Actor
    from app.extensions import db
    from app.scheduling import services

    c = booked
    doctor = new_page()
    lists = []
    doctor.on("request", lambda r: lists.append(r.url) if "/doctor/appointments/day" in r.url else None)

    def check_in_first(socket):
        if re.search(r"/doctor/?$", doctor.url):
            expect(doctor.locator("#doctor-day li", has_text=c.patient_name)).to_contain_text("Booked")
            with app.app_context():
                services.appointment_advance(actor=Actor.for_user(c.desk), appointment_id=c.appointment_id,
                                             action="check_in")
                db.session.commit()
        socket.connect_to_server()

    doctor.route_web_socket(re.compile(r"/ws/live"), check_in_first)
    sign_in(doctor, live_server, c.doctor.email)
    expect(doctor).to_have_url(live_server("/doctor/"))
    wait_until_live(doctor)
    expect(doctor.locator("#doctor-day li", has_text=c.patient_name)).to_contain_text("Arrived", timeout=LIVE)
    assert len(lists) == 1, lists
    assert errors_in(doctor) == []
