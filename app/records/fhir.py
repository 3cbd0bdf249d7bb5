"""A chart as an HL7 FHIR R4 JSON Bundle (type "collection"): pure functions from what the gate let
be read (records.services.chart_export) to plain dicts, so the app needs no FHIR library to make it
(tests/records/test_fhir_export.py validates it with fhir.resources).

What goes in: the Patient (MRN, name, gender, birth date, phone; never the national ID), and one
resource per chart entry: AllergyIntolerance, Condition, MedicationStatement, an Observation per
vital sign (LOINC codes, UCUM units), and a DocumentReference per clinical note (its text, a SOAP
note under its four headings, as a text/plain attachment) and per uploaded document (its type, size
and title, and the address to fetch it from, through the same gate: never the file's bytes inline).
A coded condition carries its ICD-10 coding; an allergy its verification and criticality. Entries
struck out as entered in error are left out: the export is the record as it stands. Who wrote an
entry goes in as a display name only (no Practitioner resources yet).
"""
from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Callable

from app.records.models import ClinicalEntry, EntryKind, EntryStatus, Patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
DEFAULT_MRN_SYSTEM = "urn:myafya:mrn"

# Stable urn:uuid ids: the same chart exported twice names its resources alike.
_NAMESPACE = uuid.UUID("6f0c3a52-8d61-4a57-9a43-0e5d6c1b7f20")

GENDERS = {"female": "female", "male": "male", "other": "other"}
CRITICALITY = {"mild": "low", "moderate": "low", "severe": "high"}
REACTION_SEVERITIES = frozenset({"mild", "moderate", "severe"})

# One vital sign: (LOINC codings [(code, display)], what it is called, UCUM unit code, unit shown).
VITAL_SIGNS = {
    "pulse": ([("8867-4", "Heart rate")], "Heart rate", "/min", "beats/minute"),
    "respiratory_rate": ([("9279-1", "Respiratory rate")], "Respiratory rate", "/min", "breaths/minute"),
    "temperature_c": ([("8310-5", "Body temperature")], "Body temperature", "Cel", "°C"),
    "spo2": ([("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
              ("2708-6", "Oxygen saturation in Arterial blood")], "Oxygen saturation", "%", "%"),
    "weight_kg": ([("29463-7", "Body weight")], "Body weight", "kg", "kg"),
    "height_cm": ([("8302-2", "Body height")], "Body height", "cm", "cm"),
    "bmi": ([("39156-5", "Body mass index (BMI) [Ratio]")], "Body mass index", "kg/m2", "kg/m2"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS = {"systolic": ("8480-6", "Systolic blood pressure"), "diastolic": ("8462-4", "Diastolic blood pressure")}
NOTE_TYPE = ("34109-9", "Note")


def urn(kind: str, key: int | str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}:{key}')}"


def _instant(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # stored in UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _number(value) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 2)


def _concept(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _recorder(entry: ClinicalEntry) -> dict | None:
    return {"display": entry.recorded_by.full_name} if entry.recorded_by is not None else None


def _without_none(resource: dict) -> dict:
    return {key: value for key, value in resource.items() if value not in (None, [], {})}


def patient_resource(patient: Patient, *, mrn_system: str) -> dict:
    name = {"use": "official", "text": patient.full_name, "family": patient.family_name or None,
            "given": patient.given_name.split() or None}
    return _without_none({
        "resourceType": "Patient",
        "identifier": [{"use": "usual", "type": _concept(IDENTIFIER_TYPE, "MR", "Medical record number"),
                        "system": mrn_system, "value": patient.mrn}],
        "name": [_without_none(name)],
        "telecom": [{"system": "phone", "value": patient.phone, "use": "mobile"}] if patient.phone else None,
        "gender": GENDERS.get(patient.sex or "", "unknown") if patient.sex else None,
        "birthDate": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
    })


def allergy_resource(entry: ClinicalEntry, patient_ref: dict) -> dict:
    c = entry.content
    reaction = None
    if c.get("reaction"):
        reaction = {"manifestation": [{"text": c["reaction"]}]}
        if c.get("severity") in REACTION_SEVERITIES:
            reaction["severity"] = c["severity"]
    verified = c.get("verified")
    return _without_none({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _concept(ALLERGY_CLINICAL, "resolved" if entry.status == EntryStatus.RESOLVED.value
                                   else "active"),
        "verificationStatus": None if verified is None else _concept(
            ALLERGY_VERIFICATION, "confirmed" if verified else "unconfirmed"),
        "criticality": CRITICALITY.get(c.get("severity")),
        "code": {"text": c["substance"]},
        "patient": patient_ref,
        "recordedDate": _instant(entry.recorded_at),
        "recorder": _recorder(entry),
        "reaction": [reaction] if reaction else None,
    })


def _condition_code(content: dict) -> dict:
    """The condition in the doctor's words, and its ICD-10 coding when it has one."""
    code = {"text": content.get("condition") or content.get("code_title")}
    if content.get("code"):
        code["coding"] = [{"system": ICD10, "code": content["code"], "display": content.get("code_title")}]
        code["coding"] = [_without_none(coding) for coding in code["coding"]]
    return code


def condition_resource(entry: ClinicalEntry, patient_ref: dict) -> dict:
    c = entry.content
    return _without_none({
        "resourceType": "Condition",
        "clinicalStatus": _concept(CONDITION_CLINICAL, "resolved" if entry.status == EntryStatus.RESOLVED.value
                                   else "active"),
        "category": [_concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": _condition_code(c),
        "subject": patient_ref,
        "onsetString": c.get("onset"),
        "recordedDate": _instant(entry.recorded_at),
        "recorder": _recorder(entry),
        "note": [{"text": c["notes"]}] if c.get("notes") else None,
    })


def medication_resource(entry: ClinicalEntry, patient_ref: dict) -> dict:
    c = entry.content
    dosage = " ".join(str(c[name]) for name in ("dose", "frequency") if c.get(name))
    return _without_none({
        "resourceType": "MedicationStatement",
        # a medicine marked resolved was stopped
        "status": "stopped" if entry.status == EntryStatus.RESOLVED.value else "active",
        "medicationCodeableConcept": {"text": c["drug"]},
        "subject": patient_ref,
        "dateAsserted": _instant(entry.recorded_at),
        "informationSource": _recorder(entry),
        "dosage": [{"text": dosage}] if dosage else None,
    })


def _observation(entry: ClinicalEntry, patient_ref: dict, codings: list[tuple[str, str]], text: str) -> dict:
    return _without_none({
        "resourceType": "Observation",
        "status": "final",
        "category": [{**_concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs"), "text": "Vital Signs"}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display} for code, display in codings],
                 "text": text},
        "subject": patient_ref,
        "effectiveDateTime": _instant(entry.recorded_at),
        "performer": [_recorder(entry)] if entry.recorded_by is not None else None,
    })


def _quantity(value, unit_code: str, unit: str) -> dict:
    return {"value": _number(value), "unit": unit, "system": UCUM, "code": unit_code}


def _with_bmi(content: dict) -> dict:
    """A reading with both weight and height gets its BMI (computed, as the chart will show it)."""
    if content.get("weight_kg") and content.get("height_cm") and "bmi" not in content:
        metres = float(content["height_cm"]) / 100
        return {**content, "bmi": round(float(content["weight_kg"]) / (metres * metres), 1)}
    return content


def vitals_resources(entry: ClinicalEntry, patient_ref: dict) -> list[dict]:
    """One Observation per sign in the reading; blood pressure as the panel with its two components."""
    content = _with_bmi(entry.content)
    found = []
    present = [part for part in BP_PARTS if content.get(part) not in (None, "")]
    if present:
        panel = _observation(entry, patient_ref, [BP_PANEL], "Blood pressure")
        panel["component"] = [{"code": {"coding": [{"system": LOINC, "code": BP_PARTS[part][0],
                                                    "display": BP_PARTS[part][1]}], "text": BP_PARTS[part][1]},
                               "valueQuantity": _quantity(content[part], "mm[Hg]", "mmHg")} for part in present]
        found.append(panel)
    for sign, (codings, text, unit_code, unit) in VITAL_SIGNS.items():
        if content.get(sign) in (None, ""):
            continue
        observation = _observation(entry, patient_ref, codings, text)
        observation["valueQuantity"] = _quantity(content[sign], unit_code, unit)
        found.append(observation)
    return found


SOAP_HEADINGS = {"subjective": "Subjective", "objective": "Objective", "assessment": "Assessment", "plan": "Plan"}


def note_text(content: dict) -> str:
    """A note as plain text: a SOAP note part by part under its headings; an older note, its text."""
    parts = [f"{heading}:\n{content[name]}" for name, heading in SOAP_HEADINGS.items() if content.get(name)]
    if content.get("text"):
        parts.insert(0, content["text"])
    return "\n\n".join(parts)


def note_resource(entry: ClinicalEntry, patient_ref: dict) -> dict:
    text = note_text(entry.content)
    visit_date = entry.content.get("visit_date")
    return _without_none({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": NOTE_TYPE[0], "display": NOTE_TYPE[1]}], "text": "Clinical note"},
        "subject": patient_ref,
        "date": _instant(entry.recorded_at),
        "author": [_recorder(entry)] if entry.recorded_by is not None else None,
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8",
                                    "data": base64.b64encode(text.encode()).decode("ascii"),
                                    "title": "Clinical note", "creation": _instant(entry.recorded_at)}}],
        # the visit the note belongs to (its day)
        "context": {"period": {"start": visit_date, "end": visit_date}} if visit_date else None,
    })


def document_resource(entry: ClinicalEntry, patient_ref: dict, *, url: str) -> dict:
    c = entry.content
    return _without_none({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"text": "Uploaded document"},
        "subject": patient_ref,
        "date": _instant(entry.recorded_at),
        "author": [_recorder(entry)] if entry.recorded_by is not None else None,
        "description": c["title"],
        "content": [{"attachment": _without_none({
            "contentType": c["content_type"], "url": url, "size": int(c["size"]), "title": c["title"],
            "creation": _instant(entry.recorded_at)})}],
    })


_BUILDERS = {
    EntryKind.ALLERGY: allergy_resource,
    EntryKind.PROBLEM: condition_resource,
    EntryKind.MEDICATION: medication_resource,
    EntryKind.NOTE: note_resource,
}


def _entry_resources(entry: ClinicalEntry, patient_ref: dict, document_url: Callable[[ClinicalEntry], str]) -> list[dict]:
    if entry.status == EntryStatus.ENTERED_IN_ERROR.value:
        return []
    kind = EntryKind(entry.kind)
    if kind == EntryKind.VITALS:
        return vitals_resources(entry, patient_ref)
    if kind == EntryKind.DOCUMENT:
        return [document_resource(entry, patient_ref, url=document_url(entry))]
    return [_BUILDERS[kind](entry, patient_ref)]


# Domains above records add their resources to a patient's export (prescriptions: MedicationRequest
# and MedicationDispense): each contributor(patient_id, patient_ref) -> [(fullUrl, resource)], read
# under the export's own audited gate decision. create_app registers them (register_hooks).
EXPORT_CONTRIBUTORS: list[Callable[[int, dict], list[tuple[str, dict]]]] = []


def export_contributor_register(contributor: Callable[[int, dict], list[tuple[str, dict]]]) -> None:
    if contributor not in EXPORT_CONTRIBUTORS:
        EXPORT_CONTRIBUTORS.append(contributor)


def chart_bundle(patient: Patient, chart: dict, *, generated_at: dt.datetime, mrn_system: str = DEFAULT_MRN_SYSTEM,
                 document_url: Callable[[ClinicalEntry], str] = lambda entry: urn("document", entry.id)) -> dict:
    """The Bundle: the Patient first, then each kind's entries (as the chart orders them, newest first).
    `document_url(entry)`: where the one who exports fetches an uploaded document's file."""
    patient_url = urn("patient", patient.id)
    patient_ref = {"reference": patient_url, "display": patient.full_name}
    entries = [{"fullUrl": patient_url, "resource": patient_resource(patient, mrn_system=mrn_system)}]
    for kind in EntryKind:
        for entry in chart.get(kind, []):
            for index, resource in enumerate(_entry_resources(entry, patient_ref, document_url)):
                entries.append({"fullUrl": urn("entry", f"{entry.id}:{index}"), "resource": resource})
    for contributor in EXPORT_CONTRIBUTORS:
        entries += [{"fullUrl": url, "resource": resource} for url, resource in contributor(patient.id, patient_ref)]
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": urn("export", f"{patient.id}:{_instant(generated_at)}")},
        "type": "collection",
        "timestamp": _instant(generated_at),
        "entry": entries,
    }
