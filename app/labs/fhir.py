"""A patient's lab orders in their FHIR export: a ServiceRequest per test ordered, a Specimen per
sample taken (a rejected one with its condition), and for released results a DiagnosticReport per
test with an Observation per analyte (LOINC where the catalogue has it, UCUM units, the reference
range and the flag as an interpretation). Registered with records' export (app/records/fhir.py),
which reads them under the export's own audited gate decision. Results not yet released are left
out: the patient has not been given them, and a copy that leaves the clinic never holds them."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.labs.models import LabOrder, LabOrderStatus, LabReport, LabSample, SampleType
from app.records.fhir import _instant, urn

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
# The catalogue's units as UCUM codes (the display stays as the lab writes it).
UCUM_CODES = {"g/dL": "g/dL", "%": "%", "10^9/L": "10*9/L", "10^12/L": "10*12/L", "fL": "fL", "/uL": "/uL",
              "mmol/L": "mmol/L", "mg/dL": "mg/dL", "umol/L": "umol/L", "U/L": "U/L", "g/L": "g/L", "[pH]": "[pH]"}
INTERPRETATIONS = {"L": ("L", "Low"), "H": ("H", "High"), "LL": ("LL", "Critical low"),
                   "HH": ("HH", "Critical high"), "A": ("A", "Abnormal")}
S = LabOrderStatus


def _code(name: str, loinc: str | None) -> dict:
    concept = {"text": name}
    if loinc:
        concept["coding"] = [{"system": LOINC, "code": loinc, "display": name}]
    return concept


def _request_status(order: LabOrder) -> str:
    return {S.COMPLETED.value: "completed", S.CANCELLED.value: "revoked"}.get(order.status, "active")


def service_request(order: LabOrder, index: int, test: dict, patient_ref: dict) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "urn:myafya:lab-order", "value": f"{order.id}-{index + 1}"}],
        "status": _request_status(order),
        "intent": "order",
        "priority": "urgent" if order.urgency == "urgent" else "routine",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "108252007",
                                  "display": "Laboratory procedure"}]}],
        "code": _code(test["name"], test.get("loinc")),
        "subject": patient_ref,
        "authoredOn": _instant(order.ordered_at),
        "requester": {"display": order.doctor.full_name},
        "performer": [{"display": order.site.name}],
    }


def specimen(sample: LabSample, order: LabOrder, request_urls: list[str], patient_ref: dict) -> dict:
    types = {t["sample_type"] for t in order.tests}
    resource = {
        "resourceType": "Specimen",
        "accessionIdentifier": {"system": "urn:myafya:sample", "value": sample.code},
        "status": "unsatisfactory" if sample.rejected_at else "available",
        "type": {"text": ", ".join(sorted(str(SampleType(t).label) for t in types))},
        "subject": patient_ref,
        "request": [{"reference": url} for url in request_urls],
        "collection": {"collectedDateTime": _instant(sample.collected_at)},
    }
    if sample.received_at:
        resource["receivedTime"] = _instant(sample.received_at)
    if sample.rejected_at:
        resource["condition"] = [{"text": str(sample.reject_reason_enum.label)}]
    return resource


def observation(report: LabReport, result: dict, patient_ref: dict, specimen_url: str | None) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "amended" if report.version > 1 else "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "laboratory", "display": "Laboratory"}]}],
        "code": _code(result["name"], result.get("loinc")),
        "subject": patient_ref,
        "effectiveDateTime": _instant(report.order.collected_at or report.entered_at),
        "issued": _instant(report.released_at),
    }
    if result.get("number") is not None:
        quantity = {"value": result["number"]}
        if result.get("unit"):
            quantity["unit"] = result["unit"]
            if result["unit"] in UCUM_CODES:
                quantity.update(system=UCUM, code=UCUM_CODES[result["unit"]])
        resource["valueQuantity"] = quantity
        if result.get("low") is not None:
            unit = {k: v for k, v in quantity.items() if k != "value"}
            resource["referenceRange"] = [{"low": {"value": result["low"], **unit},
                                           "high": {"value": result["high"], **unit}}]
    else:
        resource["valueString"] = result["value"]
    if result.get("flag") in INTERPRETATIONS:
        code, display = INTERPRETATIONS[result["flag"]]
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}]
    if specimen_url:
        resource["specimen"] = {"reference": specimen_url}
    return resource


def diagnostic_report(report: LabReport, test: dict, request_url: str, observation_urls: list[str],
                      patient_ref: dict, specimen_url: str | None) -> dict:
    resource = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": "urn:myafya:lab-report", "value": f"{report.id}-{test['code']}"}],
        "basedOn": [{"reference": request_url}],
        "status": "amended" if report.version > 1 else "final",
        "category": [{"coding": [{"system": REPORT_CATEGORY, "code": "LAB", "display": "Laboratory"}]}],
        "code": _code(test["name"], test.get("loinc")),
        "subject": patient_ref,
        "effectiveDateTime": _instant(report.order.collected_at or report.entered_at),
        "issued": _instant(report.released_at),
        "performer": [{"display": report.order.site.name}],
        "result": [{"reference": url} for url in observation_urls],
    }
    if specimen_url:
        resource["specimen"] = [{"reference": specimen_url}]
    if report.comment:
        resource["conclusion"] = report.comment
    return resource


def export_resources(patient_id: int, patient_ref: dict) -> list[tuple[str, dict]]:
    orders = db.session.execute(
        select(LabOrder).options(selectinload(LabOrder.doctor), selectinload(LabOrder.site),
                                 selectinload(LabOrder.samples), selectinload(LabOrder.report))
        .where(LabOrder.patient_id == patient_id).order_by(LabOrder.ordered_at.desc(), LabOrder.id.desc())).scalars()
    out = []
    for order in orders:
        request_urls = {}
        for index, test in enumerate(order.tests):
            url = urn("lab-service-request", f"{order.id}:{index}")
            request_urls[test["code"]] = url
            out.append((url, service_request(order, index, test, patient_ref)))
        specimen_url = None
        for sample in order.samples:
            url = urn("lab-specimen", sample.id)
            out.append((url, specimen(sample, order, list(request_urls.values()), patient_ref)))
            if sample.rejected_at is None:
                specimen_url = url
        report = order.report
        if report is None or not report.released:
            continue
        for test in order.tests:
            observation_urls = []
            for key, result in report.results.items():
                if result["test"] != test["code"]:
                    continue
                url = urn("lab-observation", f"{report.id}:{key}")
                observation_urls.append(url)
                out.append((url, observation(report, result, patient_ref, specimen_url)))
            out.append((urn("lab-diagnostic-report", f"{report.id}:{test['code']}"),
                        diagnostic_report(report, test, request_urls[test["code"]], observation_urls, patient_ref,
                                          specimen_url)))
    return out
