"""The pharmacist's stock pages and the admin's formulary, as their users click through them; and
what other roles get when they try."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db
from app.prescriptions.models import Medicine, StockBatch
from tests.conftest import Browser


@pytest.fixture
def pharmacist_browser(app, pharmacy, pharmacist_at):
    user = pharmacist_at(pharmacy[0])
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser


def test_a_pharmacist_receives_a_delivery_and_sees_it_on_the_shelf(day, pharmacist_browser, medicine_id):
    amoxicillin = medicine_id("Amoxicillin", "capsule")
    page = pharmacist_browser.get("/pharmacy/stock/receive").get_data(as_text=True)
    assert "Amoxicillin 500 mg (capsule)" in page
    response = pharmacist_browser.post("/pharmacy/stock/receive", {
        "medicine_id": amoxicillin, "batch_number": "AMX-7", "expires_on": day(300).isoformat(), "quantity": "120"},
        page="/pharmacy/stock/receive")
    assert response.status_code == 303
    shelf = pharmacist_browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Received 120 into batch AMX-7." in shelf and "AMX-7" in shelf
    overview = pharmacist_browser.get("/pharmacy/stock/?q=amox").get_data(as_text=True)
    assert re.search(r"120 capsule", overview)


def test_a_wrong_delivery_is_shown_again_with_the_message_beside_the_field_and_what_was_typed(day, 
        app, pharmacist_browser, medicine_id):
    amoxicillin = medicine_id("Amoxicillin", "capsule")
    response = pharmacist_browser.post("/pharmacy/stock/receive", {
        "medicine_id": amoxicillin, "batch_number": "<b>AMX-9</b>", "expires_on": day(-3).isoformat(),
        "quantity": "12"}, page="/pharmacy/stock/receive")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="expires_on-error">This batch has expired', page)
    assert 'value="&lt;b&gt;AMX-9&lt;/b&gt;"' in page and 'value="12"' in page
    with app.app_context():
        assert db.session.execute(select(StockBatch)).first() is None


@pytest.mark.parametrize("quantity", ["0", "1000000", "ten", ""])
def test_a_quantity_of_zero_a_million_or_words_is_refused(day, app, pharmacist_browser, medicine_id, quantity):
    response = pharmacist_browser.post("/pharmacy/stock/receive", {
        "medicine_id": medicine_id("Paracetamol", "tablet"), "batch_number": "P1",
        "expires_on": day(100).isoformat(), "quantity": quantity}, page="/pharmacy/stock/receive")
    assert response.status_code == 422 and 'id="quantity-error"' in response.get_data(as_text=True)


def test_low_stock_and_near_expiry_lists_show_what_needs_action(day, app, pharmacy, pharmacist_browser, medicine_id):
    with app.app_context():
        db.session.add_all([
            StockBatch(site_id=pharmacy[0], medicine_id=medicine_id("Salbutamol", "inhalation (aerosol)"),
                       batch_number="S1", expires_on=day(400), quantity=2),
            StockBatch(site_id=pharmacy[0], medicine_id=medicine_id("Paracetamol", "tablet"),
                       batch_number="P-SOON", expires_on=day(30), quantity=500),
            StockBatch(site_id=pharmacy[1], medicine_id=medicine_id("Metformin"),
                       batch_number="THEIRS", expires_on=day(10), quantity=1)])
        db.session.commit()
    page = pharmacist_browser.get("/pharmacy/stock/").get_data(as_text=True)
    low = page[page.index('id="low-stock"'):page.index('id="near-expiry"')]
    near = page[page.index('id="near-expiry"'):]
    assert "Salbutamol" in low and "2 left" in low and "Paracetamol" not in low
    assert "P-SOON" in near and "THEIRS" not in page and "Metformin" not in page
    home = pharmacist_browser.get("/pharmacy/").get_data(as_text=True)
    assert "low: 1 · near or past expiry: 1" in home


def test_a_correction_beyond_the_batch_is_refused_beside_the_field(day, app, pharmacy, pharmacist_browser, medicine_id):
    paracetamol = medicine_id("Paracetamol", "tablet")
    with app.app_context():
        batch = StockBatch(site_id=pharmacy[0], medicine_id=paracetamol, batch_number="P1", expires_on=day(90), quantity=4)
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
    page = f"/pharmacy/stock/medicines/{paracetamol}"
    response = pharmacist_browser.post(f"{page}/adjust", {"batch_id": batch_id, "change": "-9", "reason": "damaged"}, page=page)
    assert response.status_code == 422 and "Batch P1 has only 4 left." in response.get_data(as_text=True)
    response = pharmacist_browser.post(f"{page}/adjust", {"batch_id": batch_id, "change": "-1", "reason": "count"}, page=page)
    assert response.status_code == 303
    assert "Batch P1 now holds 3." in pharmacist_browser.get(page).get_data(as_text=True)


def test_another_pharmacys_batch_cannot_be_corrected(day, app, pharmacy, pharmacist_browser, medicine_id):
    paracetamol = medicine_id("Paracetamol", "tablet")
    with app.app_context():
        batch = StockBatch(site_id=pharmacy[1], medicine_id=paracetamol, batch_number="THEIRS", expires_on=day(90),
                           quantity=40)
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
    page = f"/pharmacy/stock/medicines/{paracetamol}"
    response = pharmacist_browser.post(f"{page}/adjust", {"batch_id": batch_id, "change": "-40", "reason": "count"}, page=page)
    assert response.status_code in (404, 422)
    with app.app_context():
        assert db.session.get(StockBatch, batch_id).quantity == 40


def test_a_pharmacist_without_a_pharmacy_is_told_to_ask_an_admin(app, formulary, pharmacist_at):
    user = pharmacist_at(None)
    browser = Browser(app.test_client())
    browser.login(user.email)
    response = browser.get("/pharmacy/stock/")
    assert response.status_code == 200 and "not assigned to a pharmacy" in response.get_data(as_text=True)
    assert "not assigned to a pharmacy" in browser.get("/pharmacy/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.PATIENT, Role.RECEPTION, Role.LAB])
def test_other_roles_cannot_open_the_stock_or_the_formulary(signed_in, formulary, role):
    browser, _user = signed_in(role)
    assert browser.get("/pharmacy/stock/").status_code == 403
    assert browser.get("/admin/formulary/").status_code == 403


def test_an_admin_edits_a_medicine_and_a_duplicate_is_refused(app, signed_in, medicine_id):
    browser, _admin = signed_in(Role.ADMIN)
    amoxicillin = medicine_id("Amoxicillin", "capsule")
    page = f"/admin/formulary/{amoxicillin}"
    form = browser.get(page).get_data(as_text=True)
    assert 'value="500 mg"' in form and "Penicillins" in form
    data = {"name": "Amoxicillin", "form": "capsule", "strength": "500 mg", "route": "oral", "dose_unit": "mg",
            "dose_min": "250", "dose_max": "1000", "unit": "capsule", "price": "7.50", "reorder_level": "40",
            "active": "y"}
    penicillins = re.search(r'<option[^>]*value="(\d+)"[^>]*>Penicillins', form).group(1)
    response = browser.post(page, {**data, "class_ids": [penicillins]}, page=page)
    assert response.status_code == 303
    with app.app_context():
        medicine = db.session.get(Medicine, amoxicillin)
        assert (medicine.price_cents, medicine.reorder_level, [c.name for c in medicine.classes]) == (750, 40, ["Penicillins"])
    response = browser.post("/admin/formulary/new", {**data, "form": "Capsule"}, page="/admin/formulary/new")
    assert response.status_code == 422
    assert "already has this medicine in this form and strength" in response.get_data(as_text=True)
    response = browser.post(page, {**data, "dose_min": "2000"}, page=page)
    assert response.status_code == 422 and "The highest usual dose is below the lowest." in response.get_data(as_text=True)


def test_the_formulary_search_finds_by_any_word_and_the_interactions_are_listed(signed_in, formulary):
    browser, _admin = signed_in(Role.ADMIN)
    found = browser.get("/admin/formulary/?q=lumefantrine", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Artemether + lumefantrine" in found and "Amoxicillin" not in found and "<html" not in found
    interactions = browser.get("/admin/formulary/interactions").get_data(as_text=True)
    assert "Non-steroidal anti-inflammatory drugs + Coumarin anticoagulants" in interactions
    assert "Bleeding risk: avoid NSAIDs with warfarin" in interactions


def test_an_admin_adds_an_interaction_once_and_removes_it(app, signed_in, formulary):
    from app.prescriptions.models import DrugClass, Interaction

    browser, _admin = signed_in(Role.ADMIN)
    page = "/admin/formulary/interactions"
    with app.app_context():
        ids = dict(db.session.execute(select(DrugClass.code, DrugClass.id)).all())
    data = {"class_a_id": ids["ppis"], "class_b_id": ids["azole_antifungals"], "severity": "moderate",
            "advice": "Omeprazole lowers ketoconazole absorption."}
    assert browser.post(page, {**data, "class_b_id": ids["ppis"]}, page=page).status_code == 422  # the same class twice
    assert browser.post(page, data, page=page).status_code == 303
    again = browser.post(page, data, page=page)
    assert again.status_code == 422 and "already have an interaction" in again.get_data(as_text=True)
    with app.app_context():
        added = db.session.execute(select(Interaction).where(
            Interaction.advice == "Omeprazole lowers ketoconazole absorption.")).scalar_one()
        low, high = sorted((ids["ppis"], ids["azole_antifungals"]))
        assert (added.class_a_id, added.class_b_id) == (low, high)
    asked = browser.post(f"{page}/{added.id}/remove", page=page)  # a bare tap only asks (app/core/confirm.py)
    assert asked.headers["Location"] == f"{page}/{added.id}/remove"
    question = browser.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Remove this interaction? Prescribing stops warning on it." in question
    assert browser.post(f"{page}/{added.id}/remove", {"confirmed": "yes"}, page=page).status_code == 303
    with app.app_context():
        assert db.session.get(Interaction, added.id) is None
