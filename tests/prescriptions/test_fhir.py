"""Prescriptions in the patient's FHIR export: MedicationRequest per medicine prescribed,
MedicationDispense per medicine handed over, each validated with fhir.resources."""
from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from app.extensions import db
from app.prescriptions import dispensing
from tests.conftest import Browser
from tests.prescriptions.conftest import actor_for
from tests.prescriptions.test_prescribing import item, sign


def test_the_export_carries_the_prescription_and_its_dispense(app, clinic):
    rx = sign(app, clinic, [item(clinic, "Paracetamol", "tablet", dose="1000", quantity=20)], refills=1)
    pharmacist, site = actor_for(clinic["pharmacist"]), clinic["pharmacy"]
    with app.app_context():
        for step in (dispensing.prescription_prepare, dispensing.prescription_mark_ready,
                     dispensing.prescription_dispense):
            step(actor=pharmacist, site_id=site, prescription_id=rx)
        db.session.commit()
    doctor = Browser(app.test_client())
    doctor.login(clinic["doctor"].email)
    response = doctor.get(f"/doctor/patients/{clinic['patient'].id}/export.fhir.json")
    assert response.status_code == 200
    bundle = json.loads(response.get_data(as_text=True))
    Bundle.model_validate(bundle)
    by_type: dict[str, list] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    (request,) = by_type["MedicationRequest"]
    resource = request["resource"]
    get_fhir_model_class("MedicationRequest").model_validate(resource)
    assert resource["status"] == "active"  # a refill is left
    assert resource["medicationCodeableConcept"]["text"] == "Paracetamol 500 mg (tablet)"
    assert resource["dosageInstruction"][0]["timing"]["repeat"]["frequency"] == 3
    assert resource["dispenseRequest"]["numberOfRepeatsAllowed"] == 1
    (dispense,) = by_type["MedicationDispense"]
    get_fhir_model_class("MedicationDispense").model_validate(dispense["resource"])
    assert dispense["resource"]["authorizingPrescription"] == [{"reference": request["fullUrl"]}]
    assert dispense["resource"]["quantity"]["value"] == 20
    # the patient's own download carries them too
    patient = Browser(app.test_client())
    patient.login(clinic["patient_user"].email)
    own = json.loads(patient.get("/patient/record/export.fhir.json").get_data(as_text=True))
    assert {e["resource"]["resourceType"] for e in own["entry"]} >= {"MedicationRequest", "MedicationDispense"}
