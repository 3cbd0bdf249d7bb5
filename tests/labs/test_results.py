"""Results without HTTP: a number where one is expected (and its unit), flags for the patient's sex and
age, a critical value alerting the ordering doctor once (no value in the SMS), the optional second
technician's verification, release (the patient told without values, in their language), amendment
only with a reason keeping the history, and the doctor's review with the day's counts."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core.clock import clock
from app.core.errors import AccessDenied, DomainError
from app.extensions import db
from app.labs import bench, results
from app.labs.models import LabAnalyte, LabOrder, LabReport, LabReportVersion
from app.labs.queries import review_counts
from app.notifications.models import Notification
from tests.labs.conftest import actor_for


def analyte_field(app, test_code: str, code: str) -> str:
    from app.labs.models import LabTest

    with app.app_context():
        analyte = db.session.execute(select(LabAnalyte).join(LabTest).where(LabTest.code == test_code,
                                                                           LabAnalyte.code == code)).scalar_one()
        return results.field_name(analyte)


@pytest.fixture
def testing(app, lab_clinic, place):
    """testing("FBC") -> an order id at our lab, its sample taken, received and being tested."""
    def make(*codes: str, **kwargs) -> int:
        order_id = place(*codes, **kwargs)
        tech = actor_for(lab_clinic["technician"])
        with app.app_context():
            for step in (bench.sample_collect, bench.sample_receive, bench.analysis_start):
                step(actor=tech, site_id=lab_clinic["lab"], order_id=order_id)
                db.session.commit()
        return order_id

    return make


FBC_NORMAL = {"HGB": "13.1", "HCT": "39", "WBC": "6.2", "PLT": "250", "RBC": "4.5", "MCV": "88"}


def enter(app, lab_clinic, order_id, values: dict[str, str], *, test="FBC", who="technician", comment=None):
    typed = {analyte_field(app, test, code): value for code, value in values.items()}
    with app.app_context():
        report = results.results_enter(actor=actor_for(lab_clinic[who]), site_id=lab_clinic["lab"], order_id=order_id,
                                       typed=typed, comment=comment)
        db.session.commit()
        return {key: r["flag"] for key, r in report.results.items()}


def notifications(app, fragment: str) -> list[Notification]:
    with app.app_context():
        return [n for n in db.session.execute(select(Notification).order_by(Notification.id)).scalars()
                if fragment in n.dedupe_key]


def test_values_are_flagged_for_the_patients_sex_and_age(app, lab_clinic, testing, make_patient):
    order_id = testing("FBC")
    flags = enter(app, lab_clinic, order_id, {**FBC_NORMAL, "HGB": "12.6", "WBC": "11.4", "PLT": "140"})
    assert flags["FBC.HGB"] == ""      # 12.6 g/dL: normal for a woman of 41 (12.0-15.5)
    assert flags["FBC.WBC"] == "H" and flags["FBC.PLT"] == "L"
    with app.app_context():
        order = db.session.get(LabOrder, order_id)
        analyte = db.session.execute(select(LabAnalyte).where(LabAnalyte.code == "HGB")).scalar_one()
        from app.labs import flags as flagging

        assert flagging.flag(analyte, 12.6, sex="male", age=41).value == "L"    # low for a man (13.5-17.5)
        assert flagging.flag(analyte, 11.5, sex="male", age=10).value == ""     # a child's range
        assert flagging.flag(analyte, 6.5, sex="female", age=41).value == "LL"  # beyond the critical limit
        assert flagging.reference(analyte, sex=None, age=41) == (12.0, 17.5)    # sex unknown: the widest
        assert order.report.results["FBC.HGB"]["low"] == 12.0


@pytest.mark.parametrize("typed, message", [
    ("twelve", "Enter a number, like 12.5."), ("", "Enter a result."), ("12 g/L", "This result is in g/dL"),
    ("1e999", "Enter a number"), ("--3", "Enter a number")])
def test_a_value_that_is_not_a_number_is_refused_beside_its_field(app, lab_clinic, testing, typed, message):
    order_id = testing("FBC")
    field = analyte_field(app, "FBC", "HGB")
    with pytest.raises(results.ResultErrors) as refused:
        enter(app, lab_clinic, order_id, {**FBC_NORMAL, "HGB": typed})
    assert set(refused.value.errors) == {field} and message in refused.value.errors[field]
    with app.app_context():
        assert db.session.execute(select(LabReport)).first() is None


def test_a_number_with_its_own_unit_or_a_decimal_comma_is_taken(app, lab_clinic, testing):
    order_id = testing("FBC")
    enter(app, lab_clinic, order_id, {**FBC_NORMAL, "HGB": "13,4 g/dL", "MCV": "91 fL"})
    with app.app_context():
        report = db.session.execute(select(LabReport)).scalar_one()
        assert report.results["FBC.HGB"]["value"] == "13.4" and report.results["FBC.MCV"]["value"] == "91"


def test_a_choice_must_be_one_of_its_answers(app, lab_clinic, testing):
    order_id = testing("MAL-RDT")
    with pytest.raises(results.ResultErrors):
        enter(app, lab_clinic, order_id, {"PF": "maybe"}, test="MAL-RDT")
    assert enter(app, lab_clinic, order_id, {"PF": "Positive"}, test="MAL-RDT") == {"MAL-RDT.PF": "A"}


def test_a_critical_value_alerts_the_ordering_doctor_once_without_the_value_in_the_sms(app, lab_clinic, testing):
    with app.app_context():
        from app.accounts.models import User

        db.session.get(User, lab_clinic["doctor"].id).phone = "+254700111222"
        db.session.commit()
    order_id = testing("FBC")
    assert enter(app, lab_clinic, order_id, {**FBC_NORMAL, "HGB": "5.9"})["FBC.HGB"] == "LL"
    enter(app, lab_clinic, order_id, {**FBC_NORMAL, "HGB": "5.8"})  # corrected before release: no second alert
    alerts = notifications(app, "critical")
    assert sorted(n.channel for n in alerts) == ["in_app", "sms"]
    sms = next(n for n in alerts if n.channel == "sms")
    assert sms.to_address == "+254700111222" and "5.9" not in sms.body and "Amani" not in sms.body
    in_app = next(n for n in alerts if n.channel == "in_app")
    assert in_app.user_id == lab_clinic["doctor"].id and "Amani Otieno" in in_app.body
    assert not notifications(app, "released")  # nothing to the patient before release


def test_release_completes_the_order_and_tells_the_patient_without_values(app, lab_clinic, testing):
    order_id = testing("FBC")
    enter(app, lab_clinic, order_id, {**FBC_NORMAL, "WBC": "14.2"}, comment="Neutrophilia.")
    with app.app_context():
        results.results_release(actor=actor_for(lab_clinic["technician"]), site_id=lab_clinic["lab"],
                                order_id=order_id)
        db.session.commit()
        order = db.session.get(LabOrder, order_id)
        assert order.status == "completed" and order.completed_at is not None and order.report.released
    told = notifications(app, "released")
    assert sorted(n.channel for n in told) == ["email", "in_app", "in_app", "sms"]
    patient_sms = next(n for n in told if n.channel == "sms")
    assert "14.2" not in patient_sms.body and "MyAfya" in patient_sms.body
    assert "Majibu" in patient_sms.body  # Swahili
    with app.app_context(), pytest.raises(DomainError):
        results.results_enter(actor=actor_for(lab_clinic["technician"]), site_id=lab_clinic["lab"], order_id=order_id,
                              typed={}, comment=None)


def test_with_the_setting_a_second_technician_verifies_before_release(app, lab_clinic, testing, technician_at):
    app.config["LAB_RESULT_VERIFICATION"] = True
    try:
        order_id = testing("FBC")
        enter(app, lab_clinic, order_id, FBC_NORMAL)
        second = technician_at(lab_clinic["lab"])
        with app.app_context():
            args = {"site_id": lab_clinic["lab"], "order_id": order_id}
            with pytest.raises(DomainError, match="verify"):
                results.results_release(actor=actor_for(lab_clinic["technician"]), **args)
            with pytest.raises(DomainError, match="second technician"):
                results.results_verify(actor=actor_for(lab_clinic["technician"]), **args)
            results.results_verify(actor=actor_for(second), **args)
            results.results_release(actor=actor_for(lab_clinic["technician"]), **args)
            db.session.commit()
            report = db.session.execute(select(LabReport)).scalar_one()
            assert report.verified_by_id == second.id and report.released
    finally:
        app.config["LAB_RESULT_VERIFICATION"] = False


def _release(app, lab_clinic, order_id):
    with app.app_context():
        results.results_release(actor=actor_for(lab_clinic["technician"]), site_id=lab_clinic["lab"], order_id=order_id)
        db.session.commit()


def test_an_amendment_needs_a_reason_and_keeps_the_history(app, lab_clinic, testing):
    order_id = testing("FBC")
    enter(app, lab_clinic, order_id, FBC_NORMAL)
    _release(app, lab_clinic, order_id)
    typed = {analyte_field(app, "FBC", code): value for code, value in {**FBC_NORMAL, "HGB": "10.1"}.items()}
    with app.app_context():
        tech = actor_for(lab_clinic["technician"])
        with pytest.raises(DomainError) as refused:
            results.results_amend(actor=tech, site_id=lab_clinic["lab"], order_id=order_id, typed=typed, comment=None,
                                  reason="")
        assert refused.value.field == "reason"
        results.results_review(actor=actor_for(lab_clinic["doctor"]), order_id=order_id)
        results.results_amend(actor=tech, site_id=lab_clinic["lab"], order_id=order_id, typed=typed, comment=None,
                              reason="Transcription error: the analyser printout says 10.1.")
        db.session.commit()
        report = db.session.execute(select(LabReport)).scalar_one()
        assert report.version == 2 and report.results["FBC.HGB"]["flag"] == "L" and report.reviewed_at is None
        old = db.session.execute(select(LabReportVersion)).scalar_one()
        assert old.number == 1 and old.results["FBC.HGB"]["value"] == "13.1" and "printout" in old.reason
    assert any(n.channel == "sms" for n in notifications(app, "released2"))


def test_the_ordering_doctor_reviews_and_the_day_counts_what_waits(app, lab_clinic, testing, make_user):
    from app.accounts.models import Role

    critical = testing("FBC")
    routine = testing("FBC")
    enter(app, lab_clinic, critical, {**FBC_NORMAL, "PLT": "20"})
    enter(app, lab_clinic, routine, FBC_NORMAL)
    _release(app, lab_clinic, routine)
    doctor_id = lab_clinic["doctor"].id
    with app.app_context():
        assert review_counts(doctor_id=doctor_id, overdue_after=dt.timedelta(hours=24)) == {"critical": 1, "overdue": 0}
    clock.freeze(clock.now() + dt.timedelta(hours=25))
    with app.app_context():
        assert review_counts(doctor_id=doctor_id, overdue_after=dt.timedelta(hours=24)) == {"critical": 1, "overdue": 1}
        with pytest.raises(DomainError):  # not released yet: nothing to review
            results.results_review(actor=actor_for(lab_clinic["doctor"]), order_id=critical)
        with pytest.raises((AccessDenied, DomainError)):
            results.results_review(actor=actor_for(make_user(Role.DOCTOR)), order_id=routine)
        results.results_review(actor=actor_for(lab_clinic["doctor"]), order_id=routine)
        db.session.commit()
        assert review_counts(doctor_id=doctor_id, overdue_after=dt.timedelta(hours=24)) == {"critical": 1, "overdue": 0}
