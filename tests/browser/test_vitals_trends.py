"""The vitals trends in a real browser: drawn, inside a phone's width, no CSP complaint; screenshots
in tests/artifacts/ (vitals-trends-360.png, vitals-trends-1280.png) for a human eye."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.browser.conftest import csp_violations, screenshot, sign_in
from tests.browser.test_layout import DESKTOP, PHONE, assert_fits_a_phone
from tests.records.test_vitals_trends import READINGS, record

pytestmark = pytest.mark.browser


@pytest.fixture
def charted(app, make_user, make_patient, care):
    from app.extensions import db

    doctor = make_user(Role.DOCTOR)
    patient = make_patient()
    care(doctor, patient)
    with app.app_context():
        record(patient.id, READINGS + [{"systolic": 126, "diastolic": 80, "pulse": 68, "spo2": 98}], by=doctor.id)
        db.session.commit()
    return doctor, patient


@pytest.mark.parametrize("viewport, name", [(PHONE, "360"), (DESKTOP, "1280")], ids=["phone", "desktop"])
def test_the_trends_draw_on_the_doctors_chart(page, live_server, charted, console, viewport, name):
    doctor, patient = charted
    sign_in(page, live_server, doctor.email)
    expect(page).to_have_url(live_server("/doctor/"))
    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    trends = page.locator("#vitals .trend-chart")
    expect(trends).to_have_count(6)
    for i in range(6):
        box = trends.nth(i).bounding_box()
        assert box["width"] >= 200 and 40 <= box["height"] <= 140, box  # scaled to the column, kept short
    page.locator("#vitals").scroll_into_view_if_needed()
    if viewport == PHONE:
        assert_fits_a_phone(page, f"vitals-trends-{name}")
    else:
        screenshot(page, f"vitals-trends-{name}")
    page.locator("#vitals").screenshot(path=str(screenshot(page, f"vitals-card-{name}")))
    assert csp_violations(console) == []
