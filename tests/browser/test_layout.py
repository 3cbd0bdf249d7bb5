"""Phone-sized layout: no sideways scrolling, touch targets of 44 px; screenshots for a human eye.

Screenshots go to tests/artifacts/ (gitignored): look at them after a layout change.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.core.actor import Actor
from app.records.models import EntryKind
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import SET_UP

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# Every visible button, link in a nav (or the top bar), input, select, textarea and button-like summary.
# Returns the ones shorter than 44 px, described well enough to find them. A radio button or checkbox
# wrapped in its label is measured by the label (tapping the label ticks it).
SMALL_TARGETS_JS = """
() => {
  const selector = "button, .btn, nav a, .topbar a, input:not([type=hidden]), select, textarea, summary";
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    // A radio button or a checkbox inside its label: the whole label is what a finger taps.
    const label = el.matches("input[type=radio], input[type=checkbox]") ? el.closest("label") : null;
    const box = (label || el).getBoundingClientRect();
    if (style.display === "none" || style.visibility === "hidden" || box.width === 0 || box.height === 0) continue;
    if (el.closest("dialog:not([open]), details:not([open]) > :not(summary), .visually-hidden")) continue;
    if (box.height < 44) {
      const label = (el.innerText || el.value || el.name || el.id || "").trim().slice(0, 40);
      small.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${label}" ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}
"""

# Elements whose right edge pokes out of the viewport (the usual culprits of sideways scrolling).
OVERFLOWING_JS = """
() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5 && !el.closest(".skip, .visually-hidden")) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} right=${Math.round(box.right)}`);
    }
  }
  return out.slice(0, 10);
}
"""


def assert_fits_a_phone(page, name: str) -> None:
    screenshot(page, name)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], (scroll_width, page.evaluate(OVERFLOWING_JS))
    small = page.evaluate(SMALL_TARGETS_JS)
    assert small == [], f"touch targets under 44 px on {name}: {small}"


@pytest.fixture
def chart_patient(app, make_patient, make_user, care):
    """A patient with a full chart (long words included), and the doctor who cares for them."""
    from app.extensions import db
    from app.records.services import entry_add

    doctor = make_user(Role.DOCTOR, full_name="Dr. Wanjiru Nyambura-Kamau")
    account = make_user(Role.PATIENT, email="nyokabi@example.test", full_name="Nyokabi Wanjiku-Mwangi-Onyango")
    patient = make_patient(given_name="Nyokabi", family_name="Wanjiku-Mwangi-Onyango", phone="+254712000101",
                           sex="female", user_id=account.id)
    care(doctor, patient)
    entries = [
        (EntryKind.ALLERGY, {"substance": "Penicillin", "reaction": "hives and facial swelling", "severity": "severe"}),
        (EntryKind.ALLERGY, {"substance": "Sulfamethoxazole-trimethoprim", "reaction": "rash", "severity": "moderate"}),
        (EntryKind.PROBLEM, {"condition": "Essential hypertension", "onset": "2019", "notes": "Home readings 140/90"}),
        (EntryKind.MEDICATION, {"drug": "Tenofovir/lamivudine/dolutegravir", "dose": "1 tablet", "frequency": "once daily"}),
        (EntryKind.VITALS, {"systolic": 142, "diastolic": 91, "pulse": 78, "temperature_c": 36.8, "spo2": 97,
                            "weight_kg": 71.5}),
        (EntryKind.NOTE, {"text": "Reviewed at clinic. Tolerating medication well; advised on salt intake. "
                                  "Reference: https://guidelines.example.org/hypertension/adults/2026/first-line-therapy"}),
    ]
    with app.app_context():
        for kind, content in entries:
            entry_add(actor=SET_UP, patient_id=patient.id, kind=kind, content=content, recorded_by_id=doctor.id)
        db.session.commit()
    return doctor, patient


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_login_page_fits_a_phone(page, live_server):
    page.goto(live_server("/login"))
    assert_fits_a_phone(page, "login-360")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_login_page_with_an_error_fits_a_phone(page, live_server, make_user):
    user = make_user(Role.DOCTOR)
    sign_in(page, live_server, user.email, "not the password at all")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_fits_a_phone(page, "login-error-360")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_doctor_home_and_chart_fit_a_phone(page, live_server, chart_patient):
    doctor, patient = chart_patient
    sign_in(page, live_server, doctor.email)
    expect(page).to_have_url(live_server("/doctor/"))
    assert_fits_a_phone(page, "doctor-home-360")

    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    expect(page.locator("#patient-banner h1")).to_contain_text("Wanjiku-Mwangi-Onyango")
    assert_fits_a_phone(page, "doctor-chart-360")

    # An entry form opened: labels, inputs and the Save button must still fit.
    page.locator("#vitals").get_by_role("link", name="Add vitals").click()
    expect(page.locator("#add-vitals form")).to_be_visible()
    page.locator("#add-vitals form").scroll_into_view_if_needed()
    assert_fits_a_phone(page, "doctor-chart-vitals-form-360")


HOMES = {Role.PATIENT: "/patient/", Role.DOCTOR: "/doctor/", Role.LAB: "/lab/", Role.PHARMACIST: "/pharmacy/",
         Role.RECEPTION: "/reception/", Role.ADMIN: "/admin/"}


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_every_role_home_fits_a_phone_with_a_compact_top_bar(page, live_server, make_user):
    for role, home in HOMES.items():
        user = make_user(role, full_name=f"{role.label} Wanjiru Nyambura-Kamau")
        page.context.clear_cookies()
        sign_in(page, live_server, user.email)
        expect(page).to_have_url(live_server(home))
        assert_fits_a_phone(page, f"home-{role.value}-360")
        # Brand, name, the two buttons, one row of links: the page itself starts above the fold.
        bar = page.locator(".topbar").bounding_box()
        assert bar["height"] <= 4 * 44 + 3 * 8 + 16 + 4, (role.value, bar)


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_patient_home_and_own_record_fit_a_phone(page, live_server, chart_patient):
    sign_in(page, live_server, "nyokabi@example.test")
    expect(page).to_have_url(live_server("/patient/"))
    assert_fits_a_phone(page, "patient-home-360")
    page.get_by_role("link", name="See my record").click()
    expect(page.locator("#patient-banner")).to_contain_text("Penicillin")
    assert_fits_a_phone(page, "patient-record-360")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_patient_search_fits_a_phone(page, live_server, chart_patient):
    doctor, patient = chart_patient
    sign_in(page, live_server, doctor.email)
    page.goto(live_server("/doctor/patients/?q=nyokabi"))
    expect(page.locator(f"#patient-{patient.id}")).to_be_visible()
    assert_fits_a_phone(page, "doctor-search-360")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_idle_dialog_fits_a_phone(page, idle_server, make_user):
    user = make_user(Role.RECEPTION)
    sign_in(page, idle_server, user.email)
    expect(page.locator("#idle-warning")).to_have_attribute("open", "", timeout=6_000)
    screenshot(page, "idle-dialog-360")
    box = page.locator("#idle-warning").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.locator("#idle-stay").bounding_box()["height"] >= 44


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["desktop"])
def test_desktop_screenshots(page, live_server, chart_patient):
    doctor, patient = chart_patient
    page.goto(live_server("/login"))
    screenshot(page, "login-1280")
    sign_in(page, live_server, doctor.email)
    expect(page).to_have_url(live_server("/doctor/"))
    screenshot(page, "doctor-home-1280")
    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    expect(page.locator("#patient-banner")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    screenshot(page, "doctor-chart-1280")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_emergency_access_fits_a_phone_and_opens_the_chart(page, live_server, chart_patient, make_user):
    """A doctor with no care relationship: the form, its error, then the chart under emergency access."""
    _, patient = chart_patient
    stranger = make_user(Role.DOCTOR, full_name="Dr. Stranger Kiprotich-Langat")
    sign_in(page, live_server, stranger.email)
    expect(page).to_have_url(live_server("/doctor/"))
    page.goto(live_server(f"/doctor/patients/{patient.id}"))
    expect(page.locator("#emergency-access h2")).to_have_text("Emergency access")
    expect(page.locator("#patient-banner h1")).to_contain_text("Wanjiku-Mwangi-Onyango")
    assert "Penicillin" not in page.content()
    assert_fits_a_phone(page, "doctor-emergency-360")

    page.locator("#reason").fill("urgent")
    page.get_by_role("button", name="Open the chart for 60 minutes").click()
    expect(page.locator("#reason-error")).to_have_text("Write between 10 and 300 characters.")
    assert_fits_a_phone(page, "doctor-emergency-error-360")

    page.locator("#reason").fill("Collapsed at the desk; need allergies and medicines before treating.")
    page.get_by_role("button", name="Open the chart for 60 minutes").click()
    expect(page.locator("#emergency-grant")).to_contain_text("Emergency access")
    expect(page.locator("#patient-banner")).to_contain_text("Penicillin")
    assert_fits_a_phone(page, "doctor-chart-emergency-360")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_audit_review_fits_a_phone(page, live_server, chart_patient, make_user):
    from app.extensions import db
    from app.records import access

    _, patient = chart_patient
    stranger = make_user(Role.DOCTOR)  # no care relationship: the chart's own doctor has nothing to break
    with live_server.app.app_context():
        access.emergency_grant(actor=Actor.for_user(stranger), patient_id=patient.id,
                               why="Seizure in the waiting room, no one with the patient.")
        db.session.rollback()
    admin = make_user(Role.ADMIN)
    sign_in(page, live_server, admin.email)
    page.goto(live_server("/admin/people/audit?emergency=1"))
    expect(page.locator("#audit-rows tr.audit-emergency")).to_have_count(1)
    expect(page.locator("#audit-rows")).to_contain_text("Seizure in the waiting room")
    assert_fits_a_phone(page, "admin-audit-emergency-360")
