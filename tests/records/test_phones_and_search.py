"""Phone numbers in one form (E.164, the clinic's country by default) and the desk's search, which
finds a number in any form and a name in any word order (issue 12 item 3)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.accounts.models import Role
from app.core.errors import DomainError
from app.extensions import db
from app.records import services
from app.records.queries import patients_search


def test_a_number_typed_the_local_way_is_stored_in_e164(app_ctx):
    patient = services.patient_create(given_name="Daniel", family_name="Kamau", phone="0722 333 444")
    db.session.commit()
    stored = db.session.execute(text("SELECT phone FROM patients WHERE id = :id"), {"id": patient.id}).scalar()
    assert stored == "+254722333444"


@pytest.mark.parametrize("typed", ["0722 333", "12345", "+254 12 345 6789 0000", "0722-333-4444-5"])
def test_a_number_no_one_could_text_is_refused_beside_the_field(app_ctx, typed):
    with pytest.raises(DomainError) as error:
        services.patient_create(given_name="Daniel", family_name="Kamau", phone=typed)
    assert error.value.field == "phone"


@pytest.mark.parametrize("term", ["+254722333444", "254722333444", "0722 333 444", "0722333444", "722 333",
                                  "kamau daniel", "Daniel Kamau", "dan kam", "KAMAU"])
def test_search_finds_a_number_in_any_form_and_a_name_in_any_order(app_ctx, term):
    daniel = services.patient_create(given_name="Daniel", family_name="Kamau", phone="0722 333 444")
    services.patient_create(given_name="Kamaru", family_name="Otieno", phone="+254733000111")
    db.session.commit()
    assert [p.id for p in patients_search(term)] == [daniel.id]


def test_a_stray_word_does_not_widen_the_search(app_ctx):
    services.patient_create(given_name="Daniel", family_name="Kamau")
    db.session.commit()
    assert patients_search("kamau peter") == []


def test_the_desk_refuses_a_bad_number_beside_the_field_keeping_what_was_typed(signed_in):
    desk, _ = signed_in(Role.RECEPTION)
    response = desk.post("/reception/patients/new", {"given_name": "Baraka", "family_name": "Otieno",
                                                     "phone": "0722 333"}, page="/reception/patients/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="phone-error"' in body and 'value="0722 333"' in body and 'value="Baraka"' in body


def test_the_desk_search_page_finds_the_international_form_of_a_local_number(signed_in, make_patient):
    make_patient(given_name="Daniel", family_name="Kamau", phone="0722 333 444")
    desk, _ = signed_in(Role.RECEPTION)
    for term in ("+254722333444", "kamau daniel"):
        page = desk.get("/reception/patients/", query_string={"q": term}).get_data(as_text=True)
        assert "<strong>Kamau</strong>, Daniel" in page, term
