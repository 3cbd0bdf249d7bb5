"""The record as an HL7 FHIR R4 Bundle: validated with fhir.resources (its R4B models: the R4
resources this export makes are the same in R4B), every resource type there for a full chart, LOINC
codes and UCUM units right, struck-out entries left out, the download audited as "chart.export" with
the true purpose, and only for those the chart page opens to."""
from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.core.actor import Actor
from app.extensions import db
from app.records import documents, fhir, services
from app.records.models import ClinicalEntry, EntryKind, EntryStatus
from tests.conftest import SET_UP, Browser
from tests.files_support import PDF, image

WHY = "Unconscious in casualty; need the medicines list before treating."
NOTE = "Seen for a cough. Lungs clear."
LETTER = "Discharge letter, district hospital"
SOAP = {"subjective": "Fever for 2 days.", "objective": "Temp 38.9.", "assessment": "Malaria, RDT positive.",
        "plan": "Artemether-lumefantrine."}


def export_rows(patient_id: int) -> list[AuditEvent]:
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.patient_id == patient_id, AuditEvent.actor_role != "system")
        .order_by(AuditEvent.seq).execution_options(populate_existing=True)).scalars())


@pytest.fixture
def charted(app, make_patient, make_user):
    """A patient (with an account) whose chart holds every kind of entry, a resolved allergy and
    medicine, and an allergy struck out as entered in error."""
    keeper = make_user(Role.DOCTOR, full_name="Dr Wanjiru Keeper")
    account = make_user(Role.PATIENT, full_name="Amani Otieno", language="sw")
    patient = make_patient(given_name="Amani Neema", family_name="Otieno", sex="female", phone="+254712345678",
                           date_of_birth=dt.date(1980, 5, 17), user_id=account.id)
    add = [
        (EntryKind.ALLERGY, {"substance": "Penicillin", "reaction": "Hives", "severity": "severe", "verified": True}),
        (EntryKind.ALLERGY, {"substance": "Peanuts", "severity": "mild"}),
        (EntryKind.ALLERGY, {"substance": "Typo-cillin", "severity": "moderate"}),
        (EntryKind.PROBLEM, {"condition": "Asthma", "onset": "2019", "notes": "Worse in the cold season"}),
        (EntryKind.PROBLEM, {"condition": "Malaria, treated", "code": "B50.9"}),
        (EntryKind.MEDICATION, {"drug": "Salbutamol inhaler", "dose": "100 mcg", "frequency": "as needed"}),
        (EntryKind.MEDICATION, {"drug": "Amoxicillin"}),
        (EntryKind.VITALS, {"systolic": 128, "diastolic": 82, "pulse": 76, "temperature_c": 36.8, "spo2": 97,
                            "weight_kg": 70.0, "height_cm": 175, "respiratory_rate": 16}),
        (EntryKind.NOTE, {"text": NOTE}),
        (EntryKind.NOTE, SOAP),
    ]
    with app.app_context():
        ids = {}
        for kind, content in add:
            entry = services.entry_add(actor=SET_UP, patient_id=patient.id, kind=kind, content=content,
                                       recorded_by_id=keeper.id)
            ids[content.get("substance") or content.get("drug") or kind.value] = entry.id
        services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=ids["Peanuts"],
                                  status=EntryStatus.RESOLVED)
        services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=ids["Amoxicillin"],
                                  status=EntryStatus.RESOLVED)
        services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=ids["Typo-cillin"],
                                  status=EntryStatus.ENTERED_IN_ERROR, reason="Typo.")
        uploader = Actor.for_user(account)  # the patient adds a letter; one added to the wrong chart is struck out
        documents.document_add(actor=uploader, patient_id=patient.id, title=LETTER, note="From Dr Mwangi", data=PDF)
        wrong = documents.document_add(actor=uploader, patient_id=patient.id, title="Someone else's scan",
                                       note=None, data=image("PNG"))
        services.entry_set_status(actor=SET_UP, patient_id=patient.id, entry_id=wrong.id,
                                  status=EntryStatus.ENTERED_IN_ERROR, reason="Not hers.")
        db.session.commit()
    return patient, account, keeper


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def loinc(resource: dict) -> set[str]:
    return {c["code"] for c in resource["code"]["coding"] if c["system"] == "http://loinc.org"}


@pytest.fixture
def bundle(app, charted, care):
    patient, _, keeper = charted
    care(keeper, patient)
    with app.app_context():
        exported, chart = services.chart_export(actor=Actor.for_user(keeper), patient_id=patient.id)
        made = fhir.chart_bundle(exported, chart, generated_at=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone.utc))
        db.session.rollback()
    return json.loads(json.dumps(made))  # as it goes over the wire


# -- the bundle ---------------------------------------------------------------------------------


def test_the_bundle_and_each_resource_validate_as_fhir(bundle):
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    for entry in bundle["entry"]:
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", entry["fullUrl"])
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_the_validator_is_not_a_rubber_stamp(bundle):
    """The control: the same library refuses what breaks R4's structure (a missing required element,
    an unknown one, a malformed date). It does not check codes against their value sets, so the
    tests below pin each code themselves."""
    def broken(kind: str, change) -> dict:
        copy = json.loads(json.dumps(bundle))
        change(resources(copy, kind)[0])
        return copy

    for copy in (broken("Observation", lambda r: r.pop("status")),
                 broken("MedicationStatement", lambda r: r.pop("medicationCodeableConcept")),
                 broken("Patient", lambda r: r.update(birthDate="17/05/1980")),
                 broken("AllergyIntolerance", lambda r: r.update(substance="Penicillin"))):
        with pytest.raises(ValidationError):
            Bundle.model_validate(copy)


def test_every_resource_type_is_there_and_points_at_the_patient(bundle):
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Patient", "AllergyIntolerance", "Condition", "MedicationStatement", "Observation",
                     "DocumentReference"}
    patient_url = bundle["entry"][0]["fullUrl"]
    for entry in bundle["entry"][1:]:
        resource = entry["resource"]
        ref = resource.get("patient") or resource.get("subject")
        assert ref["reference"] == patient_url, resource["resourceType"]


def test_the_patient(bundle, charted):
    patient = charted[0]
    (resource,) = resources(bundle, "Patient")
    assert resource["identifier"] == [{"use": "usual", "type": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}]},
        "system": "urn:myafya:mrn", "value": patient.mrn}]
    assert resource["name"][0]["family"] == "Otieno" and resource["name"][0]["given"] == ["Amani", "Neema"]
    assert resource["gender"] == "female" and resource["birthDate"] == "1980-05-17"
    assert resource["telecom"] == [{"system": "phone", "value": "+254712345678", "use": "mobile"}]


def test_allergies_with_status_criticality_and_reaction_and_no_struck_out_one(bundle):
    allergies = {a["code"]["text"]: a for a in resources(bundle, "AllergyIntolerance")}
    assert set(allergies) == {"Penicillin", "Peanuts"}  # Typo-cillin was entered in error: left out
    penicillin, peanuts = allergies["Penicillin"], allergies["Peanuts"]
    assert penicillin["clinicalStatus"]["coding"][0]["code"] == "active"
    assert peanuts["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert penicillin["criticality"] == "high" and peanuts["criticality"] == "low"
    assert penicillin["reaction"] == [{"manifestation": [{"text": "Hives"}], "severity": "severe"}]
    assert penicillin["recorder"] == {"display": "Dr Wanjiru Keeper"}
    verification = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
    assert penicillin["verificationStatus"] == {"coding": [{"system": verification, "code": "confirmed"}]}
    assert peanuts["verificationStatus"] == {"coding": [{"system": verification, "code": "unconfirmed"}]}
    assert "Typo-cillin" not in json.dumps(bundle)


def test_problems_and_medicines(bundle):
    conditions = {c["code"]["text"]: c for c in resources(bundle, "Condition")}
    condition, malaria = conditions["Asthma"], conditions["Malaria, treated"]
    assert condition["code"] == {"text": "Asthma"} and condition["onsetString"] == "2019"
    assert malaria["code"]["coding"] == [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "B50.9",
                                          "display": "Plasmodium falciparum malaria, unspecified"}]
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["note"] == [{"text": "Worse in the cold season"}]
    medicines = {m["medicationCodeableConcept"]["text"]: m for m in resources(bundle, "MedicationStatement")}
    assert medicines["Salbutamol inhaler"]["status"] == "active"
    assert medicines["Salbutamol inhaler"]["dosage"] == [{"text": "100 mcg as needed"}]
    assert medicines["Amoxicillin"]["status"] == "stopped"


def test_vital_signs_have_their_loinc_codes_and_ucum_units(bundle):
    observations = resources(bundle, "Observation")
    for observation in observations:
        assert observation["status"] == "final"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["effectiveDateTime"].endswith("+00:00")
    by_code = {frozenset(loinc(o)): o for o in observations}
    expected = {  # LOINC codes -> (value, UCUM code)
        frozenset({"8867-4"}): (76, "/min"), frozenset({"9279-1"}): (16, "/min"),
        frozenset({"8310-5"}): (36.8, "Cel"), frozenset({"59408-5", "2708-6"}): (97, "%"),
        frozenset({"29463-7"}): (70, "kg"), frozenset({"8302-2"}): (175, "cm"),
        frozenset({"39156-5"}): (22.9, "kg/m2"),
    }
    for codes, (value, unit) in expected.items():
        quantity = by_code[codes]["valueQuantity"]
        assert (quantity["value"], quantity["code"], quantity["system"]) == (value, unit, "http://unitsofmeasure.org")
    panel = by_code[frozenset({"85354-9"})]
    assert "valueQuantity" not in panel
    assert {(next(iter(loinc(c))), c["valueQuantity"]["value"], c["valueQuantity"]["code"])
            for c in panel["component"]} == {("8480-6", 128, "mm[Hg]"), ("8462-4", 82, "mm[Hg]")}
    assert len(observations) == len(expected) + 1


def test_a_note_is_a_document_reference_with_its_text(bundle):
    notes = [d for d in resources(bundle, "DocumentReference") if "data" in d["content"][0]["attachment"]]
    texts = []
    for document in notes:
        assert document["status"] == "current"
        attachment = document["content"][0]["attachment"]
        assert attachment["contentType"].startswith("text/plain")
        texts.append(base64.b64decode(attachment["data"]).decode())
    assert sorted(texts) == sorted([NOTE, "Subjective:\nFever for 2 days.\n\nObjective:\nTemp 38.9.\n\n"
                                          "Assessment:\nMalaria, RDT positive.\n\nPlan:\nArtemether-lumefantrine."])


def test_a_note_of_a_visit_carries_the_visit_day():
    entry = ClinicalEntry(id=1, patient_id=1, kind="note", status="active", recorded_by=None,
                          recorded_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone.utc),
                          content={"plan": "Review.", "appointment_id": 7, "visit_date": "2026-12-01"})
    document = fhir.note_resource(entry, {"reference": "urn:uuid:0"})
    assert document["context"] == {"period": {"start": "2026-12-01", "end": "2026-12-01"}}
    get_fhir_model_class("DocumentReference").model_validate(document)


def test_an_uploaded_document_is_a_document_reference_with_its_address_not_its_bytes(bundle, charted):
    uploaded = [d for d in resources(bundle, "DocumentReference") if "url" in d["content"][0]["attachment"]]
    (document,) = uploaded  # the one struck out is left out
    assert document["description"] == LETTER and document["author"] == [{"display": "Amani Otieno"}]
    assert document["content"][0]["attachment"] == {
        "contentType": "application/pdf", "size": len(PDF), "title": LETTER,
        "url": document["content"][0]["attachment"]["url"], "creation": document["date"]}
    assert "Someone else's scan" not in json.dumps(bundle)


def _document_url(bundle) -> str:
    (document,) = [d for d in resources(bundle, "DocumentReference") if "url" in d["content"][0]["attachment"]]
    return document["content"][0]["attachment"]["url"]


# -- the download -------------------------------------------------------------------------------


def assert_download(response, patient) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="record-{patient.mrn}.fhir.json"'
    assert response.headers["Cache-Control"] == "no-store"
    bundle = response.get_json(force=True)
    Bundle.model_validate(bundle)
    return bundle


def test_the_patient_downloads_their_own_record_audited_as_self(app, charted):
    patient, account, _ = charted
    browser = Browser(app.test_client())
    assert browser.login(account.email).status_code == 303
    page = browser.get("/patient/record/").get_data(as_text=True)
    assert 'href="/patient/record/export.fhir.json"' in page
    assert "Pakua rekodi yangu (FHIR)" in page and "Chapisha muhtasari" in page  # in their language
    bundle = assert_download(browser.get("/patient/record/export.fhir.json"), patient)
    assert resources(bundle, "Patient")[0]["identifier"][0]["value"] == patient.mrn
    url = _document_url(bundle)  # the patient's own address for it, which opens for them
    assert re.fullmatch(r"http://localhost/patient/record/documents/\d+", url)
    assert browser.get(url.removeprefix("http://localhost")).data == PDF
    with app.app_context():
        exports = [r for r in export_rows(patient.id) if r.action == "chart.export"]
        assert [(r.outcome, r.reason, r.actor_user_id) for r in exports] == [("allowed", "self", account.id)]


def test_a_patient_without_a_record_gets_404(signed_in):
    browser, _ = signed_in(Role.PATIENT)
    assert browser.get("/patient/record/export.fhir.json").status_code == 404


def test_the_doctor_in_care_exports_audited_as_care(app, charted, care, make_user):
    patient, _, _ = charted
    doctor = make_user(Role.DOCTOR)
    care(doctor, patient)
    browser = Browser(app.test_client())
    browser.login(doctor.email)
    page = browser.get(f"/doctor/patients/{patient.id}").get_data(as_text=True)
    assert f'href="/doctor/patients/{patient.id}/export.fhir.json"' in page and "Print summary" in page
    bundle = assert_download(browser.get(f"/doctor/patients/{patient.id}/export.fhir.json"), patient)
    url = _document_url(bundle)
    assert re.fullmatch(rf"http://localhost/doctor/patients/{patient.id}/documents/\d+", url)
    assert browser.get(url.removeprefix("http://localhost")).data == PDF
    with app.app_context():
        exports = [r for r in export_rows(patient.id) if r.action == "chart.export"]
        assert [(r.outcome, r.reason, r.actor_user_id) for r in exports] == [("allowed", "care", doctor.id)]


def test_another_doctor_is_refused_until_an_emergency_grant_then_audited_as_emergency(app, charted, make_user):
    patient, _, _ = charted
    doctor = make_user(Role.DOCTOR)
    browser = Browser(app.test_client())
    browser.login(doctor.email)
    url = f"/doctor/patients/{patient.id}/export.fhir.json"
    refused = browser.get(url)
    assert refused.status_code == 403
    assert "Penicillin" not in refused.get_data(as_text=True)
    with app.app_context():
        rows = [r for r in export_rows(patient.id) if r.actor_user_id == doctor.id]
        assert [(r.action, r.outcome, r.reason, r.target) for r in rows] == [
            ("access.denied", "denied", "no care relationship", "chart.export")]

    chart = f"/doctor/patients/{patient.id}"
    assert browser.post(f"{chart}/emergency-access", {"reason": WHY}, page=chart).status_code == 303
    assert_download(browser.get(url), patient)
    with app.app_context():
        (export,) = [r for r in export_rows(patient.id) if r.action == "chart.export" and r.outcome == "allowed"]
        assert export.reason == "emergency" and export.reason_detail == WHY


def test_an_unknown_patient_is_404_for_a_doctor(signed_in):
    browser, _ = signed_in(Role.DOCTOR)
    assert browser.get("/doctor/patients/999999/export.fhir.json").status_code == 404


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.PATIENT, Role.ADMIN])
def test_other_roles_cannot_use_the_doctors_export(app, charted, signed_in, role):
    patient, _, _ = charted
    browser, _ = signed_in(role)
    response = browser.get(f"/doctor/patients/{patient.id}/export.fhir.json")
    assert response.status_code == 403
    assert "Penicillin" not in response.get_data(as_text=True)
    with app.app_context():
        assert not [r for r in export_rows(patient.id) if r.action == "chart.export"]


def test_the_desk_has_no_export_of_its_own(app, charted, signed_in):
    patient, _, _ = charted
    browser, _ = signed_in(Role.RECEPTION)
    assert browser.get(f"/reception/patients/{patient.id}/export.fhir.json").status_code == 404
