"""The admin's people page in a real browser (issue 12 item 8): the search field has room beside the
filters at 1280 px and on a 768 px tablet; an invitation is resent, then withdrawn through the
confirmation dialog (dismissed first: nothing changes).

Screenshots go to tests/artifacts/ (gitignored): look at them after a change to these pages.
"""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from app.accounts.models import AccountToken, Role, User
from app.core.actor import Actor
from app.core.db import utcnow
from app.extensions import db
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_booking_path import new_page  # noqa: F401  (fixture)
from tests.browser.test_layout import OVERFLOWING_JS

pytestmark = pytest.mark.browser

TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def people(app, make_user):
    """An admin, a few colleagues, and Dr Wanjiku Kamau invited two minutes ago: (admin, invitee id)."""
    from app.accounts import services

    admin = make_user(Role.ADMIN, full_name="Achieng Otieno")
    for role, name in ((Role.DOCTOR, "Dr Baraka Mwangi"), (Role.RECEPTION, "Neema Wafula"),
                       (Role.PHARMACIST, "Otieno Omondi"), (Role.LAB, "Zawadi Njeri")):
        make_user(role, full_name=name)
    with app.app_context():
        invitee = services.staff_invite(actor=Actor.for_user(db.session.get(User, admin.id)),
                                        email="w.kamau@clinic.test", full_name="Dr Wanjiku Kamau", role=Role.DOCTOR)
        invitee_id = invitee.id
        # Sent a while ago, so "Resend" is not taken for a double click.
        db.session.execute(update(AccountToken).values(created_at=utcnow() - dt.timedelta(minutes=2)))
        db.session.commit()
    return admin, invitee_id


def _invite_emails(app) -> int:
    from app.notifications.models import Notification

    with app.app_context():
        subjects = db.session.execute(select(Notification.subject)).scalars()  # encrypted: read, then compared
        return sum(1 for subject in subjects if subject.startswith("You're invited"))


def _search_width(page) -> float:
    return page.locator("#q").bounding_box()["width"]


def test_at_768_px_the_search_field_has_room_beside_the_filters(live_server, people, new_page):  # noqa: F811
    admin, _ = people
    page = new_page(viewport=TABLET)
    sign_in(page, live_server, admin.email)
    page.goto(live_server("/admin/people/"))
    screenshot(page, "people-768")
    assert _search_width(page) >= 600, _search_width(page)  # the whole line; the filters below it
    assert page.evaluate(OVERFLOWING_JS) == []


def test_at_1280_px_an_invitation_is_resent_then_withdrawn_through_the_dialog(app, live_server, people, page):
    admin, invitee_id = people
    sign_in(page, live_server, admin.email)
    page.goto(live_server("/admin/people/"))
    assert _search_width(page) >= 400, _search_width(page)
    screenshot(page, "people-1280")

    page.get_by_label("Status").select_option("invited")  # the list narrows in place (htmx)
    expect(page.locator("#people tbody tr")).to_have_count(1)
    row = page.locator(f"#user-{invitee_id}")
    expect(row).to_contain_text("invited")
    expect(row).to_contain_text("link valid until")
    screenshot(page, "people-1280-invited")

    row.get_by_role("link", name="Dr Wanjiku Kamau").click()
    expect(page.get_by_role("heading", name="Dr Wanjiku Kamau")).to_be_visible()
    expect(page.locator("#account-status")).to_contain_text("invited")
    page.get_by_role("button", name="Resend invitation").click()
    expect(page.locator(".flash-success")).to_contain_text("A new invitation was sent")
    assert _invite_emails(app) == 2

    dialog = page.locator("#confirm-dialog")
    page.get_by_role("button", name="Withdraw invitation").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(
        "Withdraw this invitation? Its link stops working and the account is deactivated.")
    screenshot(page, "people-1280-withdraw-dialog")
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#account-status")).to_contain_text("invited")

    page.get_by_role("button", name="Withdraw invitation").click()
    dialog.get_by_role("button", name="Withdraw invitation").click()
    expect(page.locator(".flash-success")).to_contain_text("Invitation withdrawn")
    expect(page.locator("#account-status")).to_have_text("deactivated")
    expect(page.get_by_role("button", name="Resend invitation")).to_have_count(0)
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    screenshot(page, "people-1280-withdrawn")
    with app.app_context():
        assert db.session.get(User, invitee_id).is_active_account is False
    assert _invite_emails(app) == 2
