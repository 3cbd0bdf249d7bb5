"""The lab's pages as people and attackers meet them: only lab staff on the queue, another lab's order
a 404, an unknown sample id a message beside the field, the doctor's order form keeping what was
typed when refused, the label with its QR, CSRF on every POST, the admin's catalogue."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db
from app.labs.models import LabOrder, LabTest
from tests.conftest import Browser


def signed_in_as(app, user) -> Browser:
    b = Browser(app.test_client())
    assert b.login(user.email).status_code == 303
    return b


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.PHARMACIST, Role.RECEPTION, Role.ADMIN])
def test_only_lab_staff_open_the_queue_and_its_orders(app, signed_in, lab_clinic, place, role):
    order_id = place("FBC")
    b, _user = signed_in(role)
    for path in ("/lab/", f"/lab/orders/{order_id}", f"/lab/orders/{order_id}/label"):
        assert b.get(path).status_code == 403, path


def test_the_queue_lists_urgent_first_and_filters_by_urgency_and_state(app, lab_clinic, place, make_patient, care):
    routine = place("FBC")
    urgent = place("MAL-RDT", urgency="urgent")
    b = signed_in_as(app, lab_clinic["technician"])
    page = b.get("/lab/").get_data(as_text=True)
    assert page.index(f"lab-order-{urgent}") < page.index(f"lab-order-{routine}")
    assert 'data-live="lab:%d"' % lab_clinic["lab"] in page
    only_urgent = b.get("/lab/?urgency=urgent").get_data(as_text=True)
    assert f"lab-order-{urgent}" in only_urgent and f"lab-order-{routine}" not in only_urgent
    assert f"lab-order-{routine}" not in b.get("/lab/?status=collected").get_data(as_text=True)
    # the live refresh: the queue alone, small, keeping the filter
    fragment = b.get("/lab/?urgency=urgent", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card" id="lab-queue"') and "urgency=urgent" in body
    assert len(fragment.data) < 5000
    assert "Fever" not in page and "Malaria" not in page  # the list decrypts nothing: no note, no tests


def test_another_labs_order_is_not_found(app, lab_clinic, place):
    order_id = place("FBC")
    b = signed_in_as(app, lab_clinic["other_technician"])
    assert b.get(f"/lab/orders/{order_id}").status_code == 404
    assert b.post(f"/lab/orders/{order_id}/collect", page="/lab/").status_code == 404
    assert f"lab-order-{order_id}" not in b.get("/lab/").get_data(as_text=True)


def test_a_technician_without_a_lab_is_told_to_ask_an_admin(app, technician_at, lab_clinic):
    b = signed_in_as(app, technician_at(None))
    response = b.get("/lab/")
    assert response.status_code == 200 and "not assigned to a lab" in response.get_data(as_text=True)


def test_the_technician_walks_an_order_through_the_queue_with_a_label(app, lab_clinic, place):
    order_id = place("FBC", urgency="urgent")
    b = signed_in_as(app, lab_clinic["technician"])
    page = b.get(f"/lab/orders/{order_id}").get_data(as_text=True)
    assert "Amani Otieno" in page and "14" in page and "female" in page and "Fever 3 days; query anaemia." in page
    assert "Full blood count" in page
    assert "Received at the bench" not in page  # only the allowed move shows
    collected = b.post(f"/lab/orders/{order_id}/collect", page=f"/lab/orders/{order_id}")
    assert collected.status_code == 303 and collected.headers["Location"].endswith(f"/lab/orders/{order_id}/label")
    label = b.get(f"/lab/orders/{order_id}/label").get_data(as_text=True)
    code = re.search(r'id="label-code">([A-Z0-9]+)<', label).group(1)
    assert "<svg" in label and "Amani Otieno" in label and "FBC" in label
    found = b.post("/lab/orders/find", {"code": code.lower()}, page="/lab/")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/lab/orders/{order_id}")
    for step in ("receive", "start"):
        assert b.post(f"/lab/orders/{order_id}/{step}", page=f"/lab/orders/{order_id}").status_code == 303
    with app.app_context():
        assert db.session.get(LabOrder, order_id).status == "in_progress"
    again = b.post(f"/lab/orders/{order_id}/receive", page=f"/lab/orders/{order_id}", follow_redirects=True)
    assert "cannot become" in again.get_data(as_text=True)


def test_an_unknown_sample_id_is_a_message_beside_the_field(app, lab_clinic):
    b = signed_in_as(app, lab_clinic["technician"])
    response = b.post("/lab/orders/find", {"code": "S-XYZ12"}, page="/lab/")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="code-error"' in body and "No sample with the id SXYZ12" in body and 'value="S-XYZ12"' in body


def test_rejecting_without_a_note_for_other_is_refused_beside_the_field(app, lab_clinic, place):
    order_id = place("FBC")
    b = signed_in_as(app, lab_clinic["technician"])
    b.post(f"/lab/orders/{order_id}/collect", page=f"/lab/orders/{order_id}")
    response = b.post(f"/lab/orders/{order_id}/reject", {"reason": "other", "note": ""}, page=f"/lab/orders/{order_id}")
    assert response.status_code == 422 and "Say what was wrong with the sample." in response.get_data(as_text=True)
    ok = b.post(f"/lab/orders/{order_id}/reject", {"reason": "insufficient"}, page=f"/lab/orders/{order_id}")
    assert ok.status_code == 303
    page = b.get(f"/lab/orders/{order_id}").get_data(as_text=True)
    assert "Not enough sample" in page and "New sample taken: print the label" in page


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, lab_clinic, place):
    order_id = place("FBC")
    b = signed_in_as(app, lab_clinic["technician"])
    assert b.client.post(f"/lab/orders/{order_id}/collect").status_code == 400
    doctor = signed_in_as(app, lab_clinic["doctor"])
    assert doctor.client.post(f"/doctor/patients/{lab_clinic['patient'].id}/lab-orders/new",
                              data={"test_ids": "1", "urgency": "routine", "site_id": lab_clinic["lab"]}).status_code == 400
    with app.app_context():
        assert db.session.get(LabOrder, order_id).status == "ordered"
        assert db.session.execute(select(LabOrder.id)).all() == [(order_id,)]


def test_the_doctor_orders_from_the_chart_and_bad_input_keeps_what_was_typed(app, lab_clinic, test_id):
    patient_id = lab_clinic["patient"].id
    b = signed_in_as(app, lab_clinic["doctor"])
    chart = b.get(f"/doctor/patients/{patient_id}").get_data(as_text=True)
    assert f"/doctor/patients/{patient_id}/lab-orders/new" in chart
    form_url = f"/doctor/patients/{patient_id}/lab-orders/new"
    assert "Full blood count" in b.get(form_url).get_data(as_text=True)
    refused = b.post(form_url, {"urgency": "urgent", "site_id": lab_clinic["lab"], "note": "Pale, tired."}, page=form_url)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose at least one test." in body and "Pale, tired." in body
    sent = b.post(form_url, {"test_ids": [test_id("FBC"), test_id("CREAT")], "urgency": "urgent",
                             "site_id": lab_clinic["lab"], "note": "Pale, tired."}, page=form_url)
    assert sent.status_code == 303
    order_page = b.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Full blood count" in order_page and "Creatinine" in order_page and "Pale, tired." in order_page


def test_another_doctor_cannot_read_the_order(app, lab_clinic, place, signed_in):
    order_id = place("FBC")
    b, _stranger = signed_in(Role.DOCTOR)
    assert b.get(f"/doctor/lab-orders/{order_id}").status_code == 404


def test_the_admin_edits_the_catalogue_with_messages_beside_the_fields(app, signed_in, catalogue, test_id):
    b, _admin = signed_in(Role.ADMIN)
    assert "Full blood count" in b.get("/admin/lab-tests/").get_data(as_text=True)
    url = f"/admin/lab-tests/{test_id('FBC')}"
    page = b.get(url).get_data(as_text=True)
    assert "718-7" in page and "g/dL" in page
    bad = b.post(url, {"name": "Full blood count", "sample_type": "edta_blood", "price": "-1",
                       "turnaround_minutes": "abc"}, page=url)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="price-error"' in body and 'id="turnaround_minutes-error"' in body
    duplicate = b.post(url, {"name": "hba1c", "sample_type": "edta_blood", "price": "800",
                             "turnaround_minutes": "120"}, page=url)
    assert duplicate.status_code == 422 and "Another test already has this name." in duplicate.get_data(as_text=True)
    ok = b.post(url, {"name": "Full blood count", "sample_type": "edta_blood", "price": "950.50",
                      "turnaround_minutes": "90", "active": "y"}, page=url)
    assert ok.status_code == 303
    with app.app_context():
        test = db.session.get(LabTest, test_id("FBC"))
        assert (test.price_cents, test.turnaround_minutes, test.active) == (95050, 90, True)


def _to_testing(b, order_id):
    for step in ("collect", "receive", "start"):
        assert b.post(f"/lab/orders/{order_id}/{step}", page=f"/lab/orders/{order_id}").status_code == 303


def _fields(app, order_id) -> dict:
    from app.labs import results

    with app.app_context():
        order = db.session.get(LabOrder, order_id)
        return {results.field_name(a): a.code for _t, a in results.analytes_of(order)}


def test_results_are_entered_with_messages_beside_each_field_then_released(app, lab_clinic, place):
    order_id = place("FBC")
    b = signed_in_as(app, lab_clinic["technician"])
    _to_testing(b, order_id)
    fields = _fields(app, order_id)
    by_code = {code: name for name, code in fields.items()}
    typed = {name: "5" for name in fields} | {by_code["HGB"]: "abc", by_code["WBC"]: "7 g/L", by_code["PLT"]: "45"}
    page = f"/lab/orders/{order_id}"
    refused = b.post(f"/lab/orders/{order_id}/results", typed, page=page)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'id="{by_code["HGB"]}-error">Enter a number, like 12.5.' in body and 'value="abc"' in body
    assert f'id="{by_code["WBC"]}-error">This result is in 10^9/L' in body and 'value="7 g/L"' in body
    typed |= {by_code["HGB"]: "9.1", by_code["WBC"]: "7"}
    saved = b.post(f"/lab/orders/{order_id}/results", typed, page=page, follow_redirects=True)
    text = saved.get_data(as_text=True)
    assert "the doctor has been alerted" in text and "Critically low" in text and "Release the results" in text
    released = b.post(f"/lab/orders/{order_id}/release", page=page, follow_redirects=True)
    assert "Results released" in released.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(LabOrder, order_id).status == "completed"


def _released(app, lab_clinic, place, values=None) -> int:
    order_id = place("FBC")
    b = signed_in_as(app, lab_clinic["technician"])
    _to_testing(b, order_id)
    fields = _fields(app, order_id)
    typed = {name: (values or {}).get(code, {"HGB": "10.2", "WBC": "6", "PLT": "250", "HCT": "40", "RBC": "4.4",
                                            "MCV": "88"}[code]) for name, code in fields.items()}
    assert b.post(f"/lab/orders/{order_id}/results", typed, page=f"/lab/orders/{order_id}").status_code == 303
    assert b.post(f"/lab/orders/{order_id}/release", page=f"/lab/orders/{order_id}").status_code == 303
    return order_id


def test_the_doctor_reads_released_results_and_marks_them_reviewed(app, lab_clinic, place):
    order_id = _released(app, lab_clinic, place)
    doctor = signed_in_as(app, lab_clinic["doctor"])
    page = doctor.get(f"/doctor/lab-orders/{order_id}").get_data(as_text=True)
    assert "10.2" in page and "Low" in page and "Mark as reviewed" in page
    assert doctor.post(f"/doctor/lab-orders/{order_id}/reviewed", page=f"/doctor/lab-orders/{order_id}").status_code == 303
    assert 'id="reviewed"' in doctor.get(f"/doctor/lab-orders/{order_id}").get_data(as_text=True)
    card = doctor.get(f"/doctor/patients/{lab_clinic['patient'].id}/lab-results", headers={"HX-Request": "true"})
    assert card.get_data(as_text=True).lstrip().startswith('<section class="card" id="lab-results-card"')
    assert "10.2" in card.get_data(as_text=True)


def test_repeated_results_are_drawn_as_a_trend(app, lab_clinic, place):
    _released(app, lab_clinic, place)
    _released(app, lab_clinic, place, {"HGB": "11.6"})
    doctor = signed_in_as(app, lab_clinic["doctor"])
    page = doctor.get(f"/doctor/patients/{lab_clinic['patient'].id}/lab-results").get_data(as_text=True)
    assert 'id="trend-lab-FBC-HGB"' in page and "<svg" in page and "11.6" in page


def test_the_doctors_day_shows_critical_results_waiting(app, lab_clinic, place):
    order_id = place("FBC")
    b = signed_in_as(app, lab_clinic["technician"])
    _to_testing(b, order_id)
    typed = {name: "5" for name in _fields(app, order_id)}  # Hb 5 g/dL: critical
    b.post(f"/lab/orders/{order_id}/results", typed, page=f"/lab/orders/{order_id}")
    doctor = signed_in_as(app, lab_clinic["doctor"])
    day = doctor.get("/doctor/").get_data(as_text=True)
    assert 'id="lab-critical"' in day and f'data-live="results:{lab_clinic["doctor"].id}"' in day
    preliminary = doctor.get(f"/doctor/lab-orders/{order_id}").get_data(as_text=True)
    assert "Preliminary" in preliminary and "Mark as reviewed" not in preliminary


def test_the_patient_sees_only_their_released_results_in_swahili(app, lab_clinic, place, signed_in):
    order_id = _released(app, lab_clinic, place)
    pending = place("FBC")
    b = signed_in_as(app, lab_clinic["patient_user"])
    page = b.get("/patient/lab-results").get_data(as_text=True)
    assert "10.2" in page and "Chini" in page  # "Low", in the patient's language
    assert f"report-{pending}" not in page
    other, _user = signed_in(Role.PATIENT)
    assert "10.2" not in other.get("/patient/lab-results").get_data(as_text=True)
    assert other.get(f"/doctor/lab-orders/{order_id}").status_code == 403


def test_the_admin_edits_an_analytes_ranges_and_critical_limits(app, signed_in, catalogue, test_id):
    from app.labs.models import LabAnalyte

    b, _admin = signed_in(Role.ADMIN)
    with app.app_context():
        hb = db.session.execute(select(LabAnalyte).where(LabAnalyte.code == "HGB")).scalar_one()
    url = f"/admin/lab-tests/{test_id('FBC')}/analytes/{hb.id}"
    page = b.get(url).get_data(as_text=True)
    assert "female 18-130: 12-15.5" in page
    bad = b.post(url, {"unit": "g/dL", "critical_low": "7", "critical_high": "20",
                       "ranges": "female 18-130: 12-15.5\nwomen over 18: 12 to 15"}, page=url)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Line 2: write it like" in body and "women over 18: 12 to 15" in body
    inverted = b.post(url, {"unit": "g/dL", "critical_low": "20", "critical_high": "7", "ranges": "any 0-130: 11-16"},
                      page=url)
    assert inverted.status_code == 422 and "critical low limit must be below" in inverted.get_data(as_text=True)
    ok = b.post(url, {"unit": "g/dL", "critical_low": "6.5", "critical_high": "", "ranges": "any 0-130: 11.5-16"},
                page=url)
    assert ok.status_code == 303
    with app.app_context():
        hb = db.session.get(LabAnalyte, hb.id)
        assert (hb.critical_low, hb.critical_high) == (6.5, None)
        assert hb.ranges == [{"sex": None, "age_min": 0, "age_max": 130, "low": 11.5, "high": 16.0}]
    with app.app_context():  # a choice analyte has no ranges to edit: 404
        rdt = db.session.execute(select(LabAnalyte).where(LabAnalyte.code == "PF")).scalar_one()
    assert b.get(f"/admin/lab-tests/{test_id('MAL-RDT')}/analytes/{rdt.id}").status_code == 404


def test_a_pdf_report_is_attached_then_read_by_the_doctor_and_the_patient_only(app, lab_clinic, place, signed_in):
    import io

    from tests.files_support import PDF, image

    order_id = place("FBC")
    tech = signed_in_as(app, lab_clinic["technician"])
    _to_testing(tech, order_id)
    typed = {name: "5" for name in _fields(app, order_id)}
    page = f"/lab/orders/{order_id}"
    tech.post(f"{page}/results", typed, page=page)
    photo = tech.post(f"{page}/attachment", {"file": (io.BytesIO(image("PNG")), "report.pdf", "application/pdf")},
                      page=page, content_type="multipart/form-data")
    assert photo.status_code == 422 and "Only a PDF can be attached" in photo.get_data(as_text=True)
    attached = tech.post(f"{page}/attachment", {"file": (io.BytesIO(PDF), "printout.pdf", "application/pdf")},
                         page=page, content_type="multipart/form-data")
    assert attached.status_code == 303
    assert tech.get(f"{page}/report.pdf").data == PDF
    patient = signed_in_as(app, lab_clinic["patient_user"])
    assert patient.get(f"/patient/lab-results/{order_id}/report.pdf").status_code == 404  # not released yet
    assert tech.post(f"{page}/release", page=page).status_code == 303
    pdf = patient.get(f"/patient/lab-results/{order_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data == PDF and pdf.headers["Content-Type"] == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"] and "sandbox" in pdf.headers["Content-Security-Policy"]
    assert f"/patient/lab-results/{order_id}/report.pdf" in patient.get("/patient/lab-results").get_data(as_text=True)
    doctor = signed_in_as(app, lab_clinic["doctor"])
    assert doctor.get(f"/doctor/lab-orders/{order_id}/report.pdf").data == PDF
    other, _user = signed_in(Role.PATIENT)
    assert other.get(f"/patient/lab-results/{order_id}/report.pdf").status_code == 404
    stranger, _doctor = signed_in(Role.DOCTOR)
    assert stranger.get(f"/doctor/lab-orders/{order_id}/report.pdf").status_code == 404
