"""A patient's prescriptions in their FHIR export: a MedicationRequest per medicine prescribed and a
MedicationDispense per medicine handed over. Registered with records' export (app/records/fhir.py),
which reads them under the export's own audited gate decision."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.prescriptions.models import Dispense, Prescription, PrescriptionStatus
from app.prescriptions.prescribing import FREQUENCIES
from app.records.fhir import _instant, urn

S = PrescriptionStatus
UCUM = "http://unitsofmeasure.org"


def _request_status(prescription: Prescription) -> str:
    status = prescription.status_enum
    if status in (S.SENT, S.PREPARING, S.READY):
        return "active"
    if status == S.QUERIED:
        return "on-hold"
    if status == S.DISPENSED:
        return "active" if prescription.refills_used < prescription.refills_allowed else "completed"
    if status == S.SUPERSEDED:
        return "stopped"
    return "cancelled"  # cancelled by the prescriber, or refused by the pharmacy


def _dosage(item: dict) -> dict:
    dosage = {"text": f"{item['dose']} {item['dose_unit']} {item['route']}, {item['frequency']}, {item['days']} days",
              "route": {"text": item["route"]} if item.get("route") else None,
              "doseAndRate": [{"doseQuantity": {"value": float(item["dose"]), "unit": item["dose_unit"]}}]}
    per_day = FREQUENCIES.get(item["frequency"], 0)
    if item["frequency"] == "prn":
        dosage["asNeededBoolean"] = True
    elif per_day:
        dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
    if item.get("instructions"):
        dosage["patientInstruction"] = item["instructions"]
    return {k: v for k, v in dosage.items() if v is not None}


def request_resource(prescription: Prescription, index: int, item: dict, patient_ref: dict) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": "urn:myafya:prescription", "value": f"{prescription.id}-{index + 1}"}],
        "status": _request_status(prescription),
        "intent": "order",
        "medicationCodeableConcept": {"text": item["medicine"]},
        "subject": patient_ref,
        "authoredOn": _instant(prescription.signed_at),
        "requester": {"display": prescription.prescriber.full_name},
        "dosageInstruction": [_dosage(item)],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": prescription.refills_allowed,
            "quantity": {"value": item["quantity"], "unit": item["unit"]},
            "expectedSupplyDuration": {"value": item["days"], "unit": "days", "system": UCUM, "code": "d"},
            "performer": {"display": prescription.pharmacy.name},
        },
    }


def dispense_resource(dispense: Dispense, part: dict, request_url: str, patient_ref: dict) -> dict:
    return {
        "resourceType": "MedicationDispense",
        "status": "completed",
        "medicationCodeableConcept": {"text": part["medicine"]},
        "subject": patient_ref,
        "authorizingPrescription": [{"reference": request_url}],
        "quantity": {"value": part["quantity"]},
        "whenHandedOver": _instant(dispense.at),
        "performer": [{"actor": {"display": dispense.by.full_name}}] if dispense.by else None,
        "note": [{"text": f"Batch {part['batch']}"}],
    }


def export_resources(patient_id: int, patient_ref: dict) -> list[tuple[str, dict]]:
    prescriptions = db.session.execute(
        select(Prescription).options(selectinload(Prescription.prescriber), selectinload(Prescription.pharmacy))
        .where(Prescription.patient_id == patient_id).order_by(Prescription.signed_at.desc())).scalars().all()
    dispenses = db.session.execute(
        select(Dispense).options(selectinload(Dispense.by))
        .where(Dispense.prescription_id.in_([p.id for p in prescriptions] or [-1]))
        .order_by(Dispense.at)).scalars().all()
    out, request_urls = [], {}
    for prescription in prescriptions:
        for index, item in enumerate(prescription.items):
            url = urn("medication-request", f"{prescription.id}:{index}")
            request_urls[(prescription.id, item["medicine_id"])] = url
            out.append((url, request_resource(prescription, index, item, patient_ref)))
    for dispense in dispenses:
        for number, part in enumerate(dispense.batches):
            resource = dispense_resource(dispense, part, request_urls[(dispense.prescription_id, part["medicine_id"])],
                                         patient_ref)
            out.append((urn("medication-dispense", f"{dispense.id}:{number}"),
                        {k: v for k, v in resource.items() if v is not None}))
    return out
