"""The admin's duplicates page at 1280 px (issue 12 item 2): dismissing the confirmation changes nothing,
confirming merges, undo (confirmed too) separates the records again. Then the desk's details form."""
from __future__ import annotations

import datetime as dt
import shutil

from app.accounts.models import Role
from app.extensions import db
from app.records.models import Patient
from tests.browser.conftest import screenshot, sign_in

BORN = dt.date(1985, 3, 14)


def _merged_into(app, patient_id):
    with app.app_context():
        return db.session.get(Patient, patient_id).merged_into_id


def _shot(page, name):
    shutil.copy(screenshot(page, name), f"/tmp/merge-{name}.png")


def test_the_admin_merges_after_confirming_and_undoes(app, page, chromium, live_server, make_user, make_patient):
    first = make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444", date_of_birth=BORN)
    second = make_patient(given_name="Kamau", family_name="Danel", date_of_birth=BORN)
    admin = make_user(Role.ADMIN)
    sign_in(page, live_server, admin.email)
    page.get_by_role("link", name="Duplicate records").click()
    card = page.locator(f"#pair-{first.id}-{second.id}")
    card.wait_for()
    card.locator(f'input[name="kept"][value="{first.id}"]').check()
    card.get_by_label("Why are they the same person?").fill("Same birthday; given and family names swapped, one typo")
    _shot(page, "admin-duplicates-1280")

    card.get_by_role("button", name="Merge").click()
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    page.locator("#confirm-no").click()
    dialog.wait_for(state="hidden")
    assert _merged_into(app, second.id) is None and card.is_visible()

    # A second tab (another admin's, opened at the same time) keeps the other record.
    other = page.context.new_page()
    other.goto(live_server("/admin/patients/duplicates"))
    other_card = other.locator(f"#pair-{first.id}-{second.id}")
    other_card.locator(f'input[name="kept"][value="{second.id}"]').check()
    other_card.get_by_label("Why are they the same person?").fill("Same person")

    card.get_by_role("button", name="Merge").click()
    dialog.wait_for(state="visible")
    page.locator("#confirm-yes").click()
    page.get_by_text(f"{second.mrn} was merged into {first.mrn}.").wait_for()
    assert _merged_into(app, second.id) == first.id
    assert page.locator(f"#pair-{first.id}-{second.id}").count() == 0
    _shot(page, "admin-merged-1280")

    other_card.get_by_role("button", name="Merge").click()
    other.locator("#confirm-yes").click()
    assert "itself merged into another" in other.locator("#merge-refused").inner_text()
    _shot(other, "admin-merge-refused-1280")
    other.close()
    assert _merged_into(app, first.id) is None

    page.locator("#recent-merges").get_by_role("button", name="Undo").click()
    dialog.wait_for(state="visible")
    page.locator("#confirm-yes").click()
    page.get_by_text("The merge was undone").wait_for()
    assert _merged_into(app, second.id) is None
    page.locator(f"#pair-{first.id}-{second.id}").wait_for()

    # The desk's details form: a bad number is told beside the field, what was typed stays.
    desk = make_user(Role.RECEPTION)
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        desk_page = context.new_page()
        sign_in(desk_page, live_server, desk.email)
        desk_page.goto(live_server(f"/reception/patients/{first.id}"))
        desk_page.get_by_text("Edit details").click()
        desk_page.fill("#family_name", "Kamau-Njoroge")
        desk_page.fill("#phone", "0722 33")
        desk_page.get_by_role("button", name="Save details").click()
        desk_page.locator("#phone-error").wait_for()
        assert desk_page.input_value("#family_name") == "Kamau-Njoroge"
        _shot(desk_page, "desk-details-error-1280")
        desk_page.fill("#phone", "0711 222 333")
        desk_page.get_by_role("button", name="Save details").click()
        desk_page.get_by_text("Saved.").wait_for()
        _shot(desk_page, "desk-details-saved-1280")
    finally:
        context.close()
    with app.app_context():
        assert db.session.get(Patient, first.id).phone == "+254711222333"
