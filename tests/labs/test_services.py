"""Lab orders without HTTP: the catalogue seeded with real LOINC codes, ordering through the records
gate (purpose "lab order"), the patient told where to go and how to prepare in their language with
no test name in the SMS, the one state machine (no skipping, no going back except by rejection, a
new sample id after a rejection), two technicians racing on PostgreSQL, and each technician's view
of an order audited."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from app.audit.models import AuditEvent
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.labs import bench, ordering, results
from app.labs.models import LAB_FLOW, LabAnalyte, LabOrder, LabOrderStatus, LabSample, LabTest
from app.labs.status import OrderChanged
from app.notifications.models import Notification
from app.records.access import ChartAccessDenied
from tests.labs.conftest import actor_for

S = LabOrderStatus


def _order(order_id: int) -> LabOrder:
    return db.session.execute(select(LabOrder).where(LabOrder.id == order_id)
                              .execution_options(populate_existing=True)).scalar_one()


def test_the_catalogue_is_seeded_with_analytes_ranges_and_only_real_loinc_codes(app, catalogue):
    with app.app_context():
        tests = {t.code: t for t in db.session.execute(select(LabTest)).scalars()}
        assert {"FBC", "MAL-RDT", "MAL-SMEAR", "HBA1C", "FBS", "LIPID", "URINE", "HIV", "CREAT", "LFT",
                "PREG"} <= set(tests)
        hb = db.session.execute(select(LabAnalyte).where(LabAnalyte.code == "HGB")).scalar_one()
        assert (hb.loinc, hb.unit, hb.critical_low) == ("718-7", "g/dL", 7.0)
        assert {r["sex"] for r in hb.ranges} == {"female", "male", None}
        assert tests["HBA1C"].analytes[0].loinc == "4548-4"
        assert tests["FBS"].fasting_hours == 8
        assert tests["HIV"].loinc is None and tests["MAL-RDT"].loinc is None  # no code we are sure of: none


def test_a_doctor_orders_tests_and_the_patient_is_told_where_to_go_and_to_fast_in_swahili(app, lab_clinic, place):
    order_id = place("FBS", "HIV", urgency="urgent")
    with app.app_context():
        order = _order(order_id)
        assert order.status == S.ORDERED.value and order.urgency == "urgent"
        assert [t["code"] for t in order.tests] == ["FBS", "HIV"]
        raw = db.session.execute(text("SELECT tests, note FROM lab_orders WHERE id = :id"), {"id": order_id}).one()
        assert b"HIV" not in bytes(raw.tests) and b"anaemia" not in bytes(raw.note)  # encrypted at rest
        audit = db.session.execute(select(AuditEvent).where(AuditEvent.action == "lab_order.create")).scalar_one()
        assert (audit.reason, audit.patient_id) == ("lab order", lab_clinic["patient"].id)
        messages = {n.channel: n for n in db.session.execute(select(Notification)).scalars()}
        sms = messages["sms"]
        assert sms.to_address == "+254712000555"
        assert "Ngong Road Lab" in sms.body and "8" in sms.body
        assert "HIV" not in sms.body and "glucose" not in sms.body.lower()
        assert "Daktari wako" in sms.body  # Swahili: the patient's language
        assert messages["in_app"].body == sms.body.split(": ", 1)[1]


def test_a_doctor_without_a_care_relationship_cannot_order(app, lab_clinic, make_user, test_id):
    from app.accounts.models import Role

    stranger = make_user(Role.DOCTOR)
    with app.app_context():
        with pytest.raises(ChartAccessDenied):
            ordering.lab_order_place(actor=actor_for(stranger), patient_id=lab_clinic["patient"].id,
                                     site_id=lab_clinic["lab"], test_ids=[test_id("FBC")], urgency="routine", note=None)
        db.session.rollback()
        assert db.session.execute(select(LabOrder)).first() is None


@pytest.mark.parametrize("change, field", [
    ({"test_ids": []}, "test_ids"), ({"test_ids": [99999]}, "test_ids"), ({"urgency": "whenever"}, "urgency"),
    ({"site_id": 99999}, "site_id"), ({"note": "x" * 501}, "note")])
def test_a_bad_order_names_its_field(app, lab_clinic, test_id, change, field):
    values = {"site_id": lab_clinic["lab"], "test_ids": [test_id("FBC")], "urgency": "routine", "note": None, **change}
    with app.app_context():
        with pytest.raises(DomainError) as refused:
            ordering.lab_order_place(actor=actor_for(lab_clinic["doctor"]), patient_id=lab_clinic["patient"].id,
                                     **values)
        assert refused.value.field == field


def _complete(*, actor, site_id, order_id):
    """Results for a full blood count, entered and released: what completes an order."""
    typed = {results.field_name(a): "5" for _test, a in results.analytes_of(db.session.get(LabOrder, order_id))}
    results.results_enter(actor=actor, site_id=site_id, order_id=order_id, typed=typed)
    results.results_release(actor=actor, site_id=site_id, order_id=order_id)


def _walk(app, tech, site_id, order_id, *steps):
    moves = {"collect": bench.sample_collect, "receive": bench.sample_receive, "start": bench.analysis_start,
             "complete": _complete}
    with app.app_context():
        for step in steps:
            moves[step](actor=actor_for(tech), site_id=site_id, order_id=order_id)
            db.session.commit()


def test_the_order_moves_through_every_step_and_keeps_when(app, lab_clinic, place):
    order_id = place("FBC")
    _walk(app, lab_clinic["technician"], lab_clinic["lab"], order_id, "collect", "receive", "start", "complete")
    with app.app_context():
        order = _order(order_id)
        assert order.status == S.COMPLETED.value
        assert order.collected_at <= order.received_at <= order.started_at <= order.completed_at
        assert order.sample.received_at is not None
        assert LAB_FLOW[S.COMPLETED] == ()


@pytest.mark.parametrize("done, attempt", [
    ((), "receive"), ((), "start"), ((), "complete"),           # no skipping
    (("collect",), "start"), (("collect",), "complete"),
    (("collect", "receive"), "collect"), (("collect", "receive", "start"), "receive"),  # no going back
    (("collect", "receive", "start", "complete"), "start")])
def test_no_step_is_skipped_and_none_goes_back(app, lab_clinic, place, done, attempt):
    order_id = place("FBC")
    _walk(app, lab_clinic["technician"], lab_clinic["lab"], order_id, *done)
    with pytest.raises(DomainError):
        _walk(app, lab_clinic["technician"], lab_clinic["lab"], order_id, attempt)
    with app.app_context():
        before = _order(order_id).status
    assert before == (S.ORDERED.value if not done else {"collect": "collected", "receive": "received",
                                                        "start": "in_progress", "complete": "completed"}[done[-1]])


def test_a_rejected_sample_asks_for_a_new_one_with_a_new_id(app, lab_clinic, place):
    order_id = place("FBC")
    tech, site = lab_clinic["technician"], lab_clinic["lab"]
    _walk(app, tech, site, order_id, "collect", "receive")
    with app.app_context():
        first = _order(order_id).sample.code
        with pytest.raises(DomainError) as refused:
            bench.sample_reject(actor=actor_for(tech), site_id=site, order_id=order_id, reason="other", note="")
        assert refused.value.field == "note"
        bench.sample_reject(actor=actor_for(tech), site_id=site, order_id=order_id, reason="haemolysed")
        db.session.commit()
        order = _order(order_id)
        assert order.status == S.REJECTED.value and order.sample is None
        assert not order.may_become(S.RECEIVED) and order.may_become(S.COLLECTED)
        resample = [n for n in db.session.execute(select(Notification)).scalars() if "resample" in n.dedupe_key]
        assert {n.channel for n in resample} == {"sms", "in_app"}
    _walk(app, tech, site, order_id, "collect")
    with app.app_context():
        order = _order(order_id)
        assert order.status == S.COLLECTED.value and order.sample.code != first
        assert bench.sample_find(site_id=site, code=first.lower()).id == order_id  # the old label still finds it
        rejected = db.session.execute(select(LabSample).where(LabSample.code == first)).scalar_one()
        assert rejected.reject_reason == "haemolysed"


def test_an_unknown_sample_id_or_another_labs_order_is_not_found(app, lab_clinic, place):
    order_id = place("FBC")
    _walk(app, lab_clinic["technician"], lab_clinic["lab"], order_id, "collect")
    with app.app_context():
        code = _order(order_id).sample.code
        with pytest.raises(DomainError) as unknown:
            bench.sample_find(site_id=lab_clinic["lab"], code="S-NOPE")
        assert unknown.value.field == "code"
        with pytest.raises(DomainError):
            bench.sample_find(site_id=lab_clinic["other_lab"], code=code)
        with pytest.raises(NotFound):
            bench.order_read(actor=actor_for(lab_clinic["other_technician"]), site_id=lab_clinic["other_lab"],
                             order_id=order_id)
        with pytest.raises(NotFound):
            bench.sample_receive(actor=actor_for(lab_clinic["other_technician"]), site_id=lab_clinic["other_lab"],
                                 order_id=order_id)


def test_each_view_of_an_order_by_the_lab_is_audited_as_a_lab_order(app, lab_clinic, place):
    order_id = place("FBC")
    with app.app_context():
        for _time in range(2):
            order = bench.order_read(actor=actor_for(lab_clinic["technician"]), site_id=lab_clinic["lab"],
                                     order_id=order_id)
            assert order.note == "Fever 3 days; query anaemia."
        db.session.commit()
        reads = db.session.execute(select(AuditEvent).where(AuditEvent.action == "lab_order.read")).scalars().all()
        assert len(reads) == 2 and {r.reason for r in reads} == {"lab order"}
        assert {r.actor_user_id for r in reads} == {lab_clinic["technician"].id}


def test_two_technicians_moving_the_same_order_at_once_one_wins_the_other_is_told(app, lab_clinic, place,
                                                                                 technician_at):
    """Two connections, many rounds: both press "received" on the same order at the same moment. The
    database decides: exactly one moves it, the other is told someone else changed it."""
    other = technician_at(lab_clinic["lab"])
    for _round in range(10):
        order_id = place("FBC")
        _walk(app, lab_clinic["technician"], lab_clinic["lab"], order_id, "collect")
        barrier = threading.Barrier(2)
        outcomes: list = [None, None]

        def receive(index: int, who) -> None:
            with app.app_context():
                try:
                    order = db.session.get(LabOrder, order_id)
                    assert order.status == "collected"
                    barrier.wait(timeout=30)
                    bench.sample_receive(actor=actor_for(who), site_id=lab_clinic["lab"], order_id=order_id)
                    db.session.commit()
                    outcomes[index] = "moved"
                except OrderChanged:
                    outcomes[index] = "told"
                except Exception as error:  # noqa: BLE001 - reported below
                    outcomes[index] = repr(error)
                finally:
                    db.session.rollback()
                    db.session.remove()

        threads = [threading.Thread(target=receive, args=(0, lab_clinic["technician"])),
                   threading.Thread(target=receive, args=(1, other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["moved", "told"], outcomes
        with app.app_context():
            assert _order(order_id).status == S.RECEIVED.value
