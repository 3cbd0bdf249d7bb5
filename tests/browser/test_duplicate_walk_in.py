"""At the desk (1280 px): a walk-in who already has a record is caught, and the existing record is
offered before a second one is made (issue 12 item 2)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.accounts.models import Role
from app.extensions import db
from app.records.models import Patient
from tests.browser.conftest import screenshot, sign_in


def test_a_duplicate_walk_in_is_caught_and_the_existing_record_offered(app, page, live_server, make_user,
                                                                      make_patient):
    daniel = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444",
                          date_of_birth=dt.date(1985, 3, 14))
    desk = make_user(Role.RECEPTION)
    sign_in(page, live_server, desk.email)
    page.goto(live_server("/reception/patients/new"))
    page.fill("#given_name", "Kamau")
    page.fill("#family_name", "Daniel")
    page.fill("#phone", "+254722333444")
    page.fill("#date_of_birth", "1985-03-14")
    page.get_by_role("button", name="Register").click()
    offered = page.locator("#likely-duplicates")
    offered.wait_for()
    assert daniel.mrn in offered.inner_text()
    assert page.input_value("#phone") == "+254722333444"
    screenshot(page, "desk-duplicate-walk-in-1280")
    page.get_by_role("link", name="Use this record").click()
    page.wait_for_url(f"**/reception/patients/{daniel.id}")
    with app.app_context():
        assert db.session.execute(select(func.count(Patient.id))).scalar() == 1
