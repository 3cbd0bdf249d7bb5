"""Forms after an error (issue 12 item 6): the form comes back with what was typed, the address stays
the page's (a reload shows the page, not a 405), and a successful write says what was saved."""
from __future__ import annotations

from tests.records.test_views_clinical import chart_url, post_entry, seen  # noqa: F401  (fixture)

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


def test_a_boosted_form_shown_again_keeps_the_pages_address(seen):
    browser, _, patient, _ = seen
    refused = post_entry(browser, patient, "allergy", {"substance": "", "reaction": "hives"}, headers=BOOSTED)
    assert refused.status_code == 422 and 'value="hives"' in refused.get_data(as_text=True)
    assert refused.headers["HX-Push-Url"] == "false"  # htmx leaves the address bar on the page
    saved = post_entry(browser, patient, "allergy", {"substance": "Latex", "reaction": "hives", "severity": "mild"},
                       headers=BOOSTED)
    assert saved.status_code == 303 and "HX-Push-Url" not in saved.headers


def test_the_address_a_form_posts_to_leads_back_to_its_page(seen):
    browser, _, patient, _ = seen
    reloaded = browser.get(f"{chart_url(patient)}/entries/allergy")
    assert reloaded.status_code == 303 and reloaded.headers["Location"].endswith(chart_url(patient))
    hours = browser.get("/doctor/appointments/availability/exceptions")
    assert hours.status_code == 303 and hours.headers["Location"].endswith("/doctor/appointments/availability")


def test_each_write_on_the_chart_says_what_was_saved(seen):
    browser, _, patient, _ = seen
    post_entry(browser, patient, "allergy", {"substance": "Latex", "reaction": "itch", "severity": "mild"})
    assert "Allergy added." in browser.get(chart_url(patient)).get_data(as_text=True)
    post_entry(browser, patient, "problem", {"code": "E11.9"})
    assert "Problem added." in browser.get(chart_url(patient)).get_data(as_text=True)
