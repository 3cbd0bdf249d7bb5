"""The prescription pages as their people use them: the doctor meets a warning and overrides it
with a reason, the pharmacist prepares, marks ready and hands over, the patient sees the code."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from app.prescriptions.models import Prescription, StockBatch
from tests.conftest import Browser


def signed_in_as(app, user) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(user.email).status_code == 303
    return browser


def form_for(clinic, name, form=None, *, dose="960", quantity="10", **extra) -> dict:
    return {"items-0-medicine_id": clinic["medicine"](name, form), "items-0-dose": dose, "items-0-route": "oral",
            "items-0-frequency": "bd", "items-0-days": "5", "items-0-quantity": quantity, "items-0-instructions": "",
            "pharmacy_id": clinic["pharmacy"], "refills": "0", "sign": "1", **extra}


def test_the_doctor_meets_the_warnings_gives_reasons_and_signs(app, clinic):
    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    assert "Sulfamethoxazole + trimethoprim 800 mg + 160 mg (tablet)" in doctor.get(page).get_data(as_text=True)
    data = form_for(clinic, "Sulfamethoxazole + trimethoprim")
    response = doctor.post(page, data, page=page)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Documented allergy to Sulfa drugs" in body and "Warfarin 5 mg" in body
    keys = re.findall(r'name="override-([\w-]+)"', body)
    assert len(keys) == 2 and 'value="960"' in body.replace('value="960.000"', 'value="960"')
    with app.app_context():
        assert db.session.execute(select(Prescription)).first() is None
    response = doctor.post(page, {**data, **{f"override-{k}": "Only option; INR on Friday" for k in keys}}, page=page)
    assert response.status_code == 303
    shown = doctor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Warnings overridden" in shown and "Only option; INR on Friday" in shown and "New" in shown


def test_a_hard_stop_shows_no_override_box_and_html_typed_shows_as_text(app, clinic):
    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    response = doctor.post(page, form_for(clinic, "Amoxicillin", "capsule", dose="500",
                                          **{"items-0-instructions": "<script>alert(1)</script>"}), page=page)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "cannot be prescribed" in body and 'name="override-' not in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_drug_not_in_the_formulary_and_a_silly_quantity_are_refused_beside_their_fields(app, clinic):
    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    for changes, field in [({"items-0-medicine_id": "99999"}, "items-0-medicine_id"),
                           ({"items-0-quantity": "0"}, "items-0-quantity"),
                           ({"items-0-quantity": "1000000"}, "items-0-quantity"),
                           ({"items-0-dose": "lots"}, "items-0-dose")]:
        response = doctor.post(page, {**form_for(clinic, "Paracetamol", "tablet", dose="1000"), **changes}, page=page)
        assert response.status_code == 422 and f'id="{field}-error"' in response.get_data(as_text=True), changes


def test_add_another_medicine_keeps_what_was_typed(app, clinic):
    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    data = form_for(clinic, "Paracetamol", "tablet", dose="1000")
    del data["sign"]
    body = doctor.post(page, {**data, "add_item": "1"}, page=page).get_data(as_text=True)
    assert 'name="items-1-medicine_id"' in body and re.search(r'name="items-0-dose"[^>]*value="1000', body)


def test_the_pharmacist_works_the_queue_and_the_patient_sees_ready_then_collected(app, clinic):
    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    assert doctor.post(page, form_for(clinic, "Paracetamol", "tablet", dose="1000", quantity="20"),
                       page=page).status_code == 303
    with app.app_context():
        prescription = db.session.execute(select(Prescription)).scalar_one()
        rx, code = prescription.id, prescription.collection_code
    pharmacist = signed_in_as(app, clinic["pharmacist"])
    queue = pharmacist.get("/pharmacy/", headers={"HX-Request": "true"})
    assert clinic["patient"].full_name in queue.get_data(as_text=True) and len(queue.get_data()) < 5000
    found = pharmacist.post("/pharmacy/prescriptions/find", {"code": code.lower()}, page="/pharmacy/")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/pharmacy/prescriptions/{rx}")
    detail = pharmacist.get(f"/pharmacy/prescriptions/{rx}").get_data(as_text=True)
    assert "Penicillin" in detail and "Warfarin 5 mg" in detail and "Start preparing" in detail
    assert "Hand over" not in detail  # only the moves the state machine allows
    for step in ("prepare", "ready"):
        assert pharmacist.post(f"/pharmacy/prescriptions/{rx}/{step}", page=f"/pharmacy/prescriptions/{rx}").status_code == 303
    patient = signed_in_as(app, clinic["patient_user"])
    mine = patient.get("/patient/prescriptions/").get_data(as_text=True)
    assert "Tayari kuchukuliwa" in mine and code in mine  # in the patient's language, Swahili
    assert pharmacist.post(f"/pharmacy/prescriptions/{rx}/dispense", page=f"/pharmacy/prescriptions/{rx}").status_code == 303
    with app.app_context():
        assert db.session.execute(select(StockBatch.quantity).where(StockBatch.batch_number == "Par-1")).scalar_one() == 80
        assert db.session.execute(select(Notification).where(Notification.dedupe_key == f"rx:{rx}:0:ready:sms")).first()
    assert "Imechukuliwa" in patient.get("/patient/prescriptions/").get_data(as_text=True)
    # a second tap on "hand over" changes nothing and says why
    again = pharmacist.post(f"/pharmacy/prescriptions/{rx}/dispense", page=f"/pharmacy/prescriptions/{rx}")
    with app.app_context():
        assert db.session.execute(select(StockBatch.quantity).where(StockBatch.batch_number == "Par-1")).scalar_one() == 80
    assert again.status_code in (303, 422)


def test_another_patients_prescription_is_404_for_a_patient_and_a_stranger_doctor(app, clinic, make_user):
    from app.accounts.models import Role

    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    doctor.post(page, form_for(clinic, "Paracetamol", "tablet", dose="1000"), page=page)
    with app.app_context():
        rx = db.session.execute(select(Prescription.id)).scalar_one()
    stranger = signed_in_as(app, make_user(Role.DOCTOR))
    assert stranger.get(f"/doctor/prescriptions/{rx}").status_code == 404
    other_patient = signed_in_as(app, make_user(Role.PATIENT))
    assert "Paracetamol" not in other_patient.get("/patient/prescriptions/").get_data(as_text=True)


def test_the_medicine_list_narrows_as_the_doctor_types(app, clinic):
    doctor = signed_in_as(app, clinic["doctor"])
    options = doctor.get("/doctor/prescriptions/medicines?q=lumef", headers={"HX-Request": "true"})
    body = options.get_data(as_text=True)
    assert options.status_code == 200 and "Artemether + lumefantrine" in body and "Amoxicillin" not in body
    assert len(options.data) < 5000 and "HX-Request" in options.headers.get("Vary", "")
    nothing = doctor.get("/doctor/prescriptions/medicines?q=zzzz").get_data(as_text=True)
    assert 'value="0"' in nothing and "No medicine in the formulary matches" in nothing


def test_change_opens_a_new_prescription_filled_from_the_old_one(app, clinic):
    """"Change" on a signed prescription: its medicines, doses and pharmacy, ready to sign again."""
    doctor = signed_in_as(app, clinic["doctor"])
    page = f"/doctor/patients/{clinic['patient'].id}/prescriptions/new"
    signed = doctor.post(page, form_for(clinic, "Paracetamol", "tablet", dose="1000", quantity="20"), page=page)
    assert signed.status_code == 303
    with app.app_context():
        old_id = db.session.execute(select(Prescription.id)).scalar_one()
    response = doctor.get(f"{page}?supersedes={old_id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'name="supersedes" value="{old_id}"' in body
    assert re.search(r'name="items-0-dose"[^>]*value="1000', body)
