"""Demo lab orders at the demo lab, in every state, so the technician's first sign-in shows a working
queue and the doctor's day a critical result waiting for review (rows written directly, like the
prescriptions' demo: the demo's history is not a sequence of today's actions)."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

from app.core.clock import clock
from app.extensions import db
from app.labs import flags
from app.labs.bench import CODE_ALPHABET, CODE_LENGTH, CODE_PREFIX
from app.labs.models import LabAnalyte, LabChargeLine, LabOrder, LabReport, LabSample, LabTest, ReportStatus
from app.labs.results import age_on
from app.labs.services import catalogue_ensure

# (patient index, tests, urgency, status, hours ago, results {analyte code: value} or None, reviewed)
ORDERS = [
    (1, ["FBC"], "urgent", "ordered", 1, None, False),
    (2, ["FBS", "LIPID"], "routine", "ordered", 2, None, False),
    (3, ["URINE"], "routine", "collected", 3, None, False),
    (4, ["MAL-RDT"], "urgent", "received", 2, None, False),
    (5, ["CREAT"], "routine", "in_progress", 5, None, False),
    (2, ["HBA1C"], "routine", "rejected", 6, None, False),
    (0, ["FBC"], "routine", "completed", 30 * 24, {"HGB": "11.2", "HCT": "35", "WBC": "6.8", "PLT": "240",
                                                   "RBC": "4.1", "MCV": "84"}, True),
    (0, ["FBC"], "routine", "completed", 50, {"HGB": "10.4", "HCT": "33", "WBC": "7.9", "PLT": "260", "RBC": "3.9",
                                              "MCV": "82"}, True),
    (0, ["FBC"], "urgent", "completed", 4, {"HGB": "6.4", "HCT": "21", "WBC": "9.1", "PLT": "180", "RBC": "2.6",
                                            "MCV": "78"}, False),  # critical, waiting for review
]


def _code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _position in range(CODE_LENGTH - 1))


def _results(order: LabOrder, patient, values: dict, tests: list[LabTest]) -> dict:
    sex = patient.sex if patient.sex in ("female", "male") else None
    age = age_on(patient.date_of_birth, order.collected_at.date())
    out = {}
    for test in tests:
        for analyte in db.session.execute(select(LabAnalyte).where(LabAnalyte.test_id == test.id)
                                          .order_by(LabAnalyte.position)).scalars():
            value = flags.parse(analyte, values[analyte.code], field=analyte.code)
            bounds = flags.reference(analyte, sex=sex, age=age)
            out[f"{test.code}.{analyte.code}"] = {
                "test": test.code, "analyte": analyte.code, "name": analyte.name,
                "value": flags.shown(analyte, value), "number": value, "unit": analyte.unit,
                "flag": flags.flag(analyte, value, sex=sex, age=age).value, "loinc": analyte.loinc,
                "low": bounds[0] if bounds else None, "high": bounds[1] if bounds else None}
    return out


def seed_lab_orders(*, doctor_id: int, patients: list, site_id: int, technician_id: int) -> None:
    catalogue_ensure()
    now = clock.now()
    steps = ("collected", "received", "in_progress", "completed")
    for index, codes, urgency, status, hours, values, reviewed in ORDERS:
        if index >= len(patients):
            continue
        patient = patients[index]
        tests = [db.session.execute(select(LabTest).where(LabTest.code == code)).scalar_one() for code in codes]
        ordered = now - dt.timedelta(hours=hours)
        order = LabOrder(patient_id=patient.id, doctor_id=doctor_id, site_id=site_id, urgency=urgency, status=status,
                         tests=[{"test_id": t.id, "code": t.code, "name": t.name, "sample_type": t.sample_type,
                                 "loinc": t.loinc, "price_cents": t.price_cents} for t in tests],
                         note="Pale and tired for a month; query anaemia." if codes == ["FBC"] else None,
                         target_minutes=max(t.turnaround_minutes for t in tests), ordered_at=ordered,
                         status_changed_at=ordered)
        reached = steps[:steps.index(status) + 1] if status in steps else (("collected",) if status == "rejected" else ())
        for number, step in enumerate(reached, start=1):
            setattr(order, {"collected": "collected_at", "received": "received_at", "in_progress": "started_at",
                            "completed": "completed_at"}[step], ordered + dt.timedelta(minutes=20 * number))
        db.session.add(order)
        db.session.flush()
        db.session.add_all([LabChargeLine(order_id=order.id, patient_id=patient.id, description=t.name,
                                          price_cents=t.price_cents, created_at=ordered) for t in tests])
        if order.collected_at:
            sample = LabSample(order_id=order.id, code=_code(), collected_at=order.collected_at,
                               collected_by_id=technician_id, received_at=order.received_at)
            if status == "rejected":
                sample.rejected_at, sample.rejected_by_id, sample.reject_reason = (
                    order.collected_at + dt.timedelta(minutes=10), technician_id, "haemolysed")
            db.session.add(sample)
        if values is not None:
            released = order.completed_at
            db.session.add(LabReport(
                order_id=order.id, results=_results(order, patient, values, tests), status=ReportStatus.RELEASED.value,
                entered_by_id=technician_id, entered_at=released, released_by_id=technician_id, released_at=released,
                critical_alerted_at=released if any(v == "6.4" for v in values.values()) else None,
                reviewed_by_id=doctor_id if reviewed else None, reviewed_at=released if reviewed else None))
    db.session.flush()
