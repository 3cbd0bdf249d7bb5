"""The doctor's chart forms for SOAP notes, coded problems and verified allergies, the ICD-10 picker
(htmx and plain), the allergy banner, and the "find patients by diagnosis" page."""
from __future__ import annotations

import re

import pytest

from app.accounts.models import Role
from app.extensions import db
from app.records import services
from app.records.models import ClinicalEntry, EntryKind
from tests.conftest import SET_UP

HTMX = {"HX-Request": "true"}
SOAP = {"subjective": "Cough for 3 days.", "objective": "Chest clear.", "assessment": "URTI.", "plan": "Fluids."}


@pytest.fixture
def seen(app, signed_in, make_patient, care):
    """(browser, doctor, patient, today's visit id): a doctor seeing a patient today."""
    browser, doctor = signed_in(Role.DOCTOR, full_name="Dr Soap Njoroge")
    patient = make_patient()
    visit = care(doctor, patient, days_ago=0)
    return browser, doctor, patient, visit


def chart_url(patient) -> str:
    return f"/doctor/patients/{patient.id}"


def post_entry(browser, patient, kind, data, **kwargs):
    return browser.post(f"{chart_url(patient)}/entries/{kind}", data, page=chart_url(patient), **kwargs)


def field_block(body: str, name: str) -> str:
    """The form field's block (label, input, its error), found by the input's id."""
    match = re.search(rf'<div class="field[^"]*"[^>]*>\s*<label for="{name}">.*?</div>', body, re.S)
    assert match, f"no field {name}"
    return match.group(0)


def entries(app, patient_id, kind):
    with app.app_context():
        return [e.content for e in db.session.query(ClinicalEntry).filter_by(patient_id=patient_id, kind=kind.value)]


def test_a_soap_note_defaults_to_todays_visit_and_shows_it(app, seen):
    browser, _, patient, visit = seen
    page = browser.get(f"/doctor/patients/{patient.id}/entries/note/new").get_data(as_text=True)  # the add form
    assert re.search(rf'<option selected value="{visit}">Visit of ', page)
    for part in SOAP:
        assert f'name="{part}"' in page

    response = post_entry(browser, patient, "note", {**SOAP, "appointment_id": str(visit)})
    assert response.status_code == 303
    [note] = entries(app, patient.id, EntryKind.NOTE)
    assert note["appointment_id"] == visit and note["plan"] == "Fluids."
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    note_html = page[page.index('id="note"'):]
    assert "Visit of " in note_html and "<dt>Assessment</dt>" in note_html and "URTI." in note_html


def test_a_note_refused_keeps_what_was_typed_with_the_message_beside_the_field(app, seen, make_patient, care):
    browser, doctor, patient, _ = seen
    others_visit = care(doctor, make_patient(given_name="Other"), days_ago=0)
    typed = {**SOAP, "subjective": "<script>alert('x')</script> wheeze", "appointment_id": str(others_visit)}
    for headers in ({}, HTMX):
        response = post_entry(browser, patient, "note", typed, headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Choose one of this patient&#39;s visits with you." in field_block(body, "appointment_id")
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; wheeze" in body and "<script>alert" not in body
    response = post_entry(browser, patient, "note", {"subjective": " ", "objective": "", "assessment": "", "plan": ""})
    assert response.status_code == 422
    assert "Write at least one of subjective" in field_block(response.get_data(as_text=True), "subjective")
    assert entries(app, patient.id, EntryKind.NOTE) == []


def test_html_typed_into_a_note_shows_as_text_on_the_chart(app, seen):
    browser, _, patient, visit = seen
    assert post_entry(browser, patient, "note", {"plan": "<b>bold</b> <img src=x onerror=alert(1)>",
                                                  "appointment_id": ""}).status_code == 303
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;" in page and "<b>bold</b>" not in page
    assert "appointment_id" not in entries(app, patient.id, EntryKind.NOTE)[0]


def test_a_soap_note_and_an_old_text_note_are_amended_with_their_own_forms(app, seen):
    browser, _, patient, visit = seen
    post_entry(browser, patient, "note", {**SOAP, "appointment_id": str(visit)})
    with app.app_context():
        soap_id = db.session.query(ClinicalEntry.id).filter_by(patient_id=patient.id).scalar()
        old = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.NOTE, content={"text": "Old note."})
        db.session.commit()
        old_id = old.id
    form = browser.get(f"{chart_url(patient)}/entries/{soap_id}/amend").get_data(as_text=True)
    assert "Cough for 3 days.</textarea>" in form and re.search(rf'<option selected value="{visit}">', form)
    response = browser.post(f"{chart_url(patient)}/entries/{soap_id}/amend",
                            {**SOAP, "plan": "Admit.", "appointment_id": str(visit), "reason": "Worse."},
                            page=chart_url(patient))
    assert response.status_code == 303
    form = browser.get(f"{chart_url(patient)}/entries/{old_id}/amend").get_data(as_text=True)
    assert "Old note.</textarea>" in form and 'name="subjective"' not in form
    response = browser.post(f"{chart_url(patient)}/entries/{old_id}/amend", {"text": "Old note, fixed.",
                            "reason": "Typo."}, page=chart_url(patient))
    assert response.status_code == 303
    notes = entries(app, patient.id, EntryKind.NOTE)
    assert {"text": "Old note, fixed."} in notes and any(n.get("plan") == "Admit." for n in notes)


def test_a_problem_is_coded_by_what_was_picked_or_typed(app, seen):
    browser, _, patient, _ = seen
    assert post_entry(browser, patient, "problem", {"code": "J45 Asthma", "condition": "", "onset": "2019"}) \
        .status_code == 303
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    assert re.search(r'<span class="icd10-code">J45</span> Asthma</strong>', page)

    response = post_entry(browser, patient, "problem", {"code": "malaria", "condition": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    block = body[body.index('id="code-picker"'):]
    assert "Several codes match" in block[:2000] and 'value="malaria"' in block[:1000]
    response = post_entry(browser, patient, "problem", {"code": "", "condition": ""})
    assert response.status_code == 422
    assert "Name the condition or choose its ICD-10 code." in field_block(response.get_data(as_text=True), "condition")


def test_the_picker_searches_as_one_types_in_a_small_fragment_and_works_as_a_page(seen):
    browser = seen[0]
    fragment = browser.get("/doctor/patients/icd10?code=asth&field=code", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and len(fragment.data) < 5000
    assert "J45.9" in body and 'hx-get="/doctor/patients/icd10/pick?code=J45.9&amp;field=code"' in body
    assert "HX-Request" in fragment.headers.get("Vary", "")
    response = browser.get("/doctor/patients/icd10/pick?code=J45.9&field=code", headers=HTMX)
    picked = response.get_data(as_text=True)
    assert 'value="J45.9 Asthma, unspecified"' in picked and 'id="code-picker"' in picked
    assert "HX-Request" in response.headers.get("Vary", "")
    page = browser.get("/doctor/patients/icd10?code=typhoid")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True) and "A01.0" in page.get_data(as_text=True)
    assert browser.get("/doctor/patients/icd10/pick?code=J45.9").status_code == 303
    assert browser.get("/doctor/patients/icd10/pick?code=Q99.9", headers=HTMX).status_code == 404
    odd = browser.get('/doctor/patients/icd10?code=%3Cqzx%3E&field="><script>', headers=HTMX).get_data(as_text=True)
    assert "<script>" not in odd and "No ICD-10 code matches “&lt;qzx&gt;”" in odd
    odd = browser.get('/doctor/patients/icd10?code=asthma&field="><script>', headers=HTMX).get_data(as_text=True)
    assert "<script>" not in odd and "field=code" in odd


def test_the_allergy_banner_is_red_for_a_severe_allergy_and_marks_the_unverified(app, seen):
    browser, _, patient, _ = seen
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    assert "No known allergies recorded" in page and "allergy-banner" not in page
    assert post_entry(browser, patient, "allergy", {"substance": "Latex", "reaction": "itch", "severity": "mild"}) \
        .status_code == 303
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    banner = page[page.index('id="patient-banner"'):page.index("</section>", page.index('id="patient-banner"'))]
    assert "allergy-other" in banner and "Latex" in banner and "unverified" in banner
    assert post_entry(browser, patient, "allergy", {"substance": "Penicillin", "reaction": "anaphylaxis",
                                                     "severity": "severe", "verified": "verified"}).status_code == 303
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    banner = page[page.index('id="patient-banner"'):page.index("</section>", page.index('id="patient-banner"'))]
    assert "allergy-severe" in banner and banner.index("Penicillin") < banner.index("Latex")  # severe first
    penicillin = banner[banner.index("Penicillin"):banner.index("</li>", banner.index("Penicillin"))]
    assert "badge-danger" in penicillin and "unverified" not in penicillin
    assert page.index('id="patient-banner"') < page.index('id="allergy"')  # above every entry


def test_an_old_allergy_without_verification_still_shows(app, seen):
    browser, _, patient, _ = seen
    with app.app_context():
        entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=EntryKind.ALLERGY,
                                   content={"substance": "Aspirin", "severity": "moderate"})
        entry.content = {"substance": "Aspirin", "severity": "moderate"}  # as written before verification
        db.session.commit()
        entry_id = entry.id
    page = browser.get(chart_url(patient)).get_data(as_text=True)
    assert "allergy-other" in page and "Aspirin" in page
    form = browser.get(f"{chart_url(patient)}/entries/{entry_id}/amend").get_data(as_text=True)
    assert '<option selected value="unverified">' in form


def test_find_patients_by_diagnosis_lists_only_those_in_care(app, seen, make_patient, care):
    browser, doctor, patient, _ = seen
    stranger = make_patient(given_name="Stranger")
    with app.app_context():
        for someone in (patient, stranger):
            services.entry_add(actor=SET_UP, patient_id=someone.id, kind=EntryKind.PROBLEM, content={"code": "I10"})
        db.session.commit()
    page = browser.get("/doctor/patients/by-diagnosis").get_data(as_text=True)
    assert 'name="code"' in page and "diagnosis-results" not in page
    response = browser.get("/doctor/patients/by-diagnosis?code=I10")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Essential (primary) hypertension" in body
    assert f'/doctor/patients/{patient.id}#problem' in body and "Stranger" not in body
    response = browser.get("/doctor/patients/by-diagnosis?code=malaria")
    assert response.status_code == 422
    assert "Several codes match" in response.get_data(as_text=True) and 'value="malaria"' in response.get_data(as_text=True)


def test_several_codes_found_by_diagnosis_are_links_that_run_the_search(app, seen, make_patient):
    """Without JavaScript a button that fills the field does nothing: the codes offered after a search
    that found several are links to the search for each one."""
    browser = seen[0]
    response = browser.get("/doctor/patients/by-diagnosis?code=malaria")
    body = response.get_data(as_text=True)
    matches = body[body.index('class="list icd10-list"'):body.index("</ul>", body.index('class="list icd10-list"'))]
    assert response.status_code == 422 and "<button" not in matches
    links = re.findall(r'<a class="btn btn-quiet small icd10-pick" href="([^"]+)"', matches)
    assert "/doctor/patients/by-diagnosis?code=B54" in links
    found = browser.get("/doctor/patients/by-diagnosis?code=B54")
    assert found.status_code == 200 and "Unspecified malaria" in found.get_data(as_text=True)


def test_the_patient_sees_their_soap_note_coded_diagnosis_and_allergies(app, signed_in, make_patient, make_user, care):
    browser, person = signed_in(Role.PATIENT)
    patient = make_patient(user_id=person.id)
    doctor = make_user(Role.DOCTOR)
    visit = care(doctor, patient, days_ago=3)
    with app.app_context():
        for kind, content in ((EntryKind.NOTE, {**SOAP, "appointment_id": visit}),
                              (EntryKind.PROBLEM, {"code": "E11.9"}),
                              (EntryKind.ALLERGY, {"substance": "Penicillin", "severity": "severe", "verified": True})):
            services.entry_add(actor=SET_UP, patient_id=patient.id, kind=kind, content=content)
        db.session.commit()
    page = browser.get("/patient/record/").get_data(as_text=True)
    assert "allergy-severe" in page and "E11.9" in page and "Visit of " in page and "Chest clear." in page
