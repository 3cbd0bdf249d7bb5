"""The chart's summary in a real browser: "Show older" brings the next entries in place (htmx, the
address stays), the add form opens inside its card; the patient does the same in Swahili on a
phone. Screenshots in tests/artifacts/ (chart-show-older-768, chart-add-note-768,
record-show-older-sw-360, record-notes-page-sw-360) for a human eye."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.records.services import PAGE_SIZE, SUMMARY_LATEST
from tests.browser.conftest import csp_violations, screenshot, sign_in
from tests.browser.test_layout import PHONE, assert_fits_a_phone
from tests.records.test_chart_summary import add_notes

pytestmark = pytest.mark.browser

TABLET = {"width": 768, "height": 1024}
NOTES = SUMMARY_LATEST + PAGE_SIZE + 3


@pytest.fixture
def noted(app, make_user, make_patient, care):
    doctor = make_user(Role.DOCTOR)
    person = make_user(Role.PATIENT, language="sw")
    patient = make_patient(user_id=person.id)
    care(doctor, patient)
    add_notes(app, patient.id, NOTES)
    return doctor, person, patient


@pytest.mark.parametrize("viewport", [TABLET], ids=["tablet"])
def test_the_doctor_shows_older_notes_in_place_and_opens_the_add_form_in_its_card(page, live_server, noted, console):
    doctor, _, patient = noted
    sign_in(page, live_server, doctor.email)
    chart = live_server(f"/doctor/patients/{patient.id}")
    page.goto(chart)
    notes = page.locator("section#note")
    expect(notes.locator("li[id^=entry-]")).to_have_count(SUMMARY_LATEST)
    notes.get_by_role("link", name="Show older").click()
    expect(notes.locator("li[id^=entry-]")).to_have_count(SUMMARY_LATEST + PAGE_SIZE)
    notes.get_by_role("link", name="Show older").click()
    expect(notes.locator("li[id^=entry-]")).to_have_count(NOTES)
    expect(notes.get_by_role("link", name="Show older")).to_have_count(0)
    assert page.url == chart  # appended in place, no navigation
    notes.scroll_into_view_if_needed()
    screenshot(page, "chart-show-older-768")

    notes.get_by_role("link", name="Add note").click()
    expect(notes.locator("#add-note form textarea").first).to_be_visible()
    assert page.url == chart
    screenshot(page, "chart-add-note-768")
    notes.locator("#add-note #subjective").fill("Reviewed the older notes.")
    notes.get_by_role("button", name="Save").click()
    expect(page.locator("section#note li").first).to_contain_text("Reviewed the older notes.")
    # an entry's actions load when its "More" is opened
    newest = page.locator("section#note li[id^=entry-]").first
    newest.locator("summary", has_text="More").click()
    expect(newest.get_by_role("link", name="Amend")).to_be_visible()
    expect(newest.get_by_role("link", name="History (1)")).to_be_visible()
    assert csp_violations(console) == []


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_the_patient_shows_older_notes_in_swahili_on_a_phone(page, live_server, noted, console):
    _, person, _ = noted
    sign_in(page, live_server, person.email)
    page.goto(live_server("/patient/record/"))
    notes = page.locator("section#note")
    expect(notes.locator("li[id^=entry-]")).to_have_count(SUMMARY_LATEST)
    notes.get_by_role("link", name="Onyesha za zamani zaidi").click()
    expect(notes.locator("li[id^=entry-]")).to_have_count(SUMMARY_LATEST + PAGE_SIZE)
    notes.scroll_into_view_if_needed()
    assert_fits_a_phone(page, "record-show-older-sw-360")

    # without htmx the same link is a page of its own
    page.goto(live_server(f"/patient/record/entries/note?after={_nth_note_id(page)}"))
    expect(page.locator("h1")).to_be_visible()
    assert_fits_a_phone(page, "record-notes-page-sw-360")
    assert csp_violations(console) == []


def _nth_note_id(page) -> str:
    """The id of the last note on the page (a link's cursor), read off the list."""
    return page.locator("section#note li[id^=entry-]").last.get_attribute("id").removeprefix("entry-")
