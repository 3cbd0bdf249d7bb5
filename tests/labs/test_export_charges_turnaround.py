"""Increment 3: the FHIR export's lab resources (ServiceRequest, Specimen, DiagnosticReport,
Observation) validated with fhir.resources; an order's charge lines; the admin's turnaround page;
the demo's lab orders in every state."""
from __future__ import annotations

import datetime as dt
import json

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select, text

from app.accounts.models import Role
from app.core.clock import clock
from app.extensions import db
from app.labs import bench, results
from app.labs.models import LabChargeLine, LabOrder, LabTest
from tests.conftest import Browser
from tests.labs.conftest import actor_for


def _through(app, lab_clinic, order_id, values: dict[str, str], *, reject_first: bool = False):
    tech = actor_for(lab_clinic["technician"])
    site = lab_clinic["lab"]
    with app.app_context():
        bench.sample_collect(actor=tech, site_id=site, order_id=order_id)
        if reject_first:
            bench.sample_reject(actor=tech, site_id=site, order_id=order_id, reason="haemolysed")
            bench.sample_collect(actor=tech, site_id=site, order_id=order_id)
        bench.sample_receive(actor=tech, site_id=site, order_id=order_id)
        bench.analysis_start(actor=tech, site_id=site, order_id=order_id)
        order = db.session.get(LabOrder, order_id)
        typed = {results.field_name(a): values[a.code] for _t, a in results.analytes_of(order)}
        results.results_enter(actor=tech, site_id=site, order_id=order_id, typed=typed, comment="Microcytic picture.")
        results.results_release(actor=tech, site_id=site, order_id=order_id)
        db.session.commit()


FBC = {"HGB": "9.8", "HCT": "31", "WBC": "6.1", "PLT": "280", "RBC": "3.9", "MCV": "72"}


def test_the_export_carries_orders_specimens_reports_and_observations(app, lab_clinic, place):
    released = place("FBC", "MAL-RDT")
    _through(app, lab_clinic, released, {**FBC, "PF": "positive"}, reject_first=True)
    pending = place("CREAT")  # ordered, nothing released: a request only
    doctor = Browser(app.test_client())
    doctor.login(lab_clinic["doctor"].email)
    response = doctor.get(f"/doctor/patients/{lab_clinic['patient'].id}/export.fhir.json")
    assert response.status_code == 200
    bundle = json.loads(response.get_data(as_text=True))
    Bundle.model_validate(bundle)
    by_type: dict[str, list] = {}
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    requests = by_type["ServiceRequest"]
    assert len(requests) == 3 and {r["resource"]["status"] for r in requests} == {"completed", "active"}
    fbc_request = next(r for r in requests if r["resource"]["code"]["text"] == "Full blood count")
    assert fbc_request["resource"]["code"]["coding"][0]["code"] == "58410-2"
    specimens = [e["resource"] for e in by_type["Specimen"]]
    assert sorted(s["status"] for s in specimens) == ["available", "unsatisfactory"]
    reports = {e["resource"]["code"]["text"]: e for e in by_type["DiagnosticReport"]}
    assert set(reports) == {"Full blood count", "Malaria rapid diagnostic test"}
    fbc = reports["Full blood count"]["resource"]
    assert fbc["basedOn"] == [{"reference": fbc_request["fullUrl"]}] and len(fbc["result"]) == 6
    assert fbc["conclusion"] == "Microcytic picture."
    observations = {e["fullUrl"]: e["resource"] for e in by_type["Observation"]}
    hb = next(o for o in observations.values() if o["code"].get("coding", [{}])[0].get("code") == "718-7")
    assert hb["valueQuantity"] == {"value": 9.8, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}
    assert hb["interpretation"][0]["coding"][0]["code"] == "L"
    assert hb["referenceRange"][0]["low"]["value"] == 12.0
    rdt = next(o for o in observations.values() if o.get("valueString") == "positive")
    assert rdt["interpretation"][0]["coding"][0]["code"] == "A"
    assert all(ref["reference"] in observations for ref in fbc["result"])
    creatinine = next(r["resource"] for r in requests if r["resource"]["code"]["text"] == "Creatinine")
    assert creatinine["status"] == "active" and creatinine["identifier"][0]["value"] == f"{pending}-1"


def test_an_order_has_a_charge_line_per_test_at_its_price_then(app, lab_clinic, place):
    order_id = place("FBC", "HIV")
    with app.app_context():
        lines = db.session.execute(select(LabChargeLine).where(LabChargeLine.order_id == order_id)
                                   .order_by(LabChargeLine.id)).scalars().all()
        prices = dict(db.session.execute(select(LabTest.name, LabTest.price_cents)).all())
        assert [(line.description, line.price_cents) for line in lines] == [
            ("Full blood count", prices["Full blood count"]), ("HIV rapid test", prices["HIV rapid test"])]
        assert all(line.patient_id == lab_clinic["patient"].id and line.billed_at is None for line in lines)
        raw = db.session.execute(text("SELECT description FROM lab_charge_lines")).scalars().all()
        assert not any(b"HIV" in bytes(value) for value in raw)  # the test's name is encrypted
        assert db.session.get(LabOrder, order_id).target_minutes == 120


def test_the_admin_sees_each_steps_turnaround_and_the_orders_over_target(app, lab_clinic, place, signed_in):
    quick, slow = place("MAL-RDT"), place("MAL-RDT")
    start = clock.now()
    for order_id, minutes in ((quick, 10), (slow, 95)):
        clock.freeze(start)
        tech = actor_for(lab_clinic["technician"])
        with app.app_context():
            for step in (bench.sample_collect, bench.sample_receive):
                clock.freeze(clock.now() + dt.timedelta(minutes=5))
                step(actor=tech, site_id=lab_clinic["lab"], order_id=order_id)
            bench.analysis_start(actor=tech, site_id=lab_clinic["lab"], order_id=order_id)
            typed = {results.field_name(a): "negative" for _t, a in
                     results.analytes_of(db.session.get(LabOrder, order_id))}
            results.results_enter(actor=tech, site_id=lab_clinic["lab"], order_id=order_id, typed=typed)
            clock.freeze(clock.now() + dt.timedelta(minutes=minutes))
            results.results_release(actor=tech, site_id=lab_clinic["lab"], order_id=order_id)
            db.session.commit()
    b, _admin = signed_in(Role.ADMIN)
    page = b.get("/admin/lab-tests/turnaround").get_data(as_text=True)
    assert "1 of 2 orders completed in the last 30 days had their results within the target." in page
    over = page[page.index('id="over-target"'):]
    assert f"#{slow}" in over and f"#{quick}" not in over and "95 min" in over
    assert "Amani" not in page  # no patient on the admin's statistics
    technician, _user = signed_in(Role.LAB)
    assert technician.get("/admin/lab-tests/turnaround").status_code == 403


def test_the_demo_has_lab_orders_in_every_state_and_a_critical_result_waiting(app):
    from app.demo import seed_demo

    with app.app_context():
        assert seed_demo()
        statuses = dict(db.session.execute(select(LabOrder.status, func.count()).group_by(LabOrder.status)).all())
        assert set(statuses) == {"ordered", "collected", "received", "in_progress", "rejected", "completed"}
        from app.labs.models import LabReport

        waiting = db.session.execute(select(LabReport).where(LabReport.critical_alerted_at.is_not(None),
                                                             LabReport.reviewed_at.is_(None))).scalars().all()
        assert len(waiting) == 1 and waiting[0].critical
