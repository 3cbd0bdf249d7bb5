"""Results: entered at the bench per analyte (a number where one is expected, one of the answers for
a choice), flagged for the patient's sex and age; a critical value alerts the ordering doctor at
once, and once only; verified by a second technician when the clinic asks for it (setting
LAB_RESULT_VERIFICATION); released (the order completes, the doctor and the patient are told, the
values only in the app); amended only with a reason, every earlier version kept; reviewed by the
ordering doctor. Every read and write goes through the records gate with purpose "lab order"."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Role
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import AccessDenied, DomainError
from app.extensions import db
from app.labs import flags, notices
from app.labs.bench import gate, order_at_lab
from app.labs.models import LabAnalyte, LabOrder, LabOrderStatus, LabReport, LabReportVersion, ReportStatus
from app.labs.ordering import order_for_doctor
from app.labs.status import status_move
from app.records.models import Patient

COMMENT_MAX = 500
REASON_MIN, REASON_MAX = 5, 300
S = LabOrderStatus


class ResultErrors(DomainError):
    """Every field refused at once, {field: message}: the whole form comes back with each beside its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(_("Check the results marked below."))
        self.errors = errors


def field_name(analyte: LabAnalyte) -> str:
    return f"r-{analyte.id}"


def analytes_of(order: LabOrder) -> list[tuple[dict, LabAnalyte]]:
    """The analytes of the order's tests, in the order the tests were ordered: (test as ordered, analyte)."""
    ids = [t["test_id"] for t in order.tests]
    found = db.session.execute(select(LabAnalyte).where(LabAnalyte.test_id.in_(ids))
                               .order_by(LabAnalyte.test_id, LabAnalyte.position)).scalars().all()
    return [(test, analyte) for test in order.tests for analyte in found if analyte.test_id == test["test_id"]]


def age_on(date_of_birth: dt.date | None, day: dt.date) -> int | None:
    if date_of_birth is None:
        return None
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def _results(order: LabOrder, typed: dict[str, str]) -> dict:
    patient = db.session.get(Patient, order.patient_id)
    taken = (order.collected_at or clock.now()).date()
    sex, age = patient.sex if patient.sex in ("female", "male") else None, age_on(patient.date_of_birth, taken)
    errors, results = {}, {}
    for test, analyte in analytes_of(order):
        name = field_name(analyte)
        try:
            value = flags.parse(analyte, typed.get(name), field=name)
        except DomainError as error:
            errors[name] = error.message
            continue
        bounds = flags.reference(analyte, sex=sex, age=age) if analyte.kind == "number" else None
        results[f"{test['code']}.{analyte.code}"] = {
            "test": test["code"], "analyte": analyte.code, "name": analyte.name, "value": flags.shown(analyte, value),
            "number": value if isinstance(value, float) else None, "unit": analyte.unit,
            "flag": flags.flag(analyte, value, sex=sex, age=age).value, "loinc": analyte.loinc,
            "low": bounds[0] if bounds else None, "high": bounds[1] if bounds else None}
    if errors:
        raise ResultErrors(errors)
    return results


def _comment(comment: str | None) -> str | None:
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        raise DomainError(_("Use at most %(max)d characters.", max=COMMENT_MAX), field="comment")
    return comment


def _alert_if_critical(order: LabOrder, report: LabReport) -> None:
    if report.critical and report.critical_alerted_at is None:
        report.critical_alerted_at = clock.now()
        notices.critical_alert(order)


def results_enter(*, actor: Actor, site_id: int, order_id: int, typed: dict[str, str],
                  comment: str | None = None) -> LabReport:
    """Enter (or correct, before release) an order's results while it is being tested. Entering
    again undoes a verification: the second technician checks what is there now."""
    order = order_at_lab(site_id, order_id)
    if order.status != S.IN_PROGRESS.value:
        raise DomainError(_("Start testing before entering results."))
    if order.report is not None and order.report.released:
        raise DomainError(_("These results are released: amend them with a reason."))
    comment = _comment(comment)
    results = _results(order, typed)
    report = order.report
    if report is None:
        report = order.report = LabReport(order_id=order.id)
    report.results, report.comment = results, comment
    report.status, report.entered_by_id, report.entered_at = ReportStatus.ENTERED.value, actor.user_id, clock.now()
    report.verified_by_id = report.verified_at = None
    db.session.add(report)
    db.session.flush()
    gate(actor, order, "lab_result.enter", write=True)
    _alert_if_critical(order, report)
    db.session.flush()
    notices.publish_after_commit(order)
    return report


def _report(order: LabOrder) -> LabReport:
    if order.report is None:
        raise DomainError(_("Enter the results first."))
    return order.report


def results_verify(*, actor: Actor, site_id: int, order_id: int) -> LabReport:
    order = order_at_lab(site_id, order_id)
    report = _report(order)
    if report.status != ReportStatus.ENTERED.value:
        raise DomainError(_("These results are not waiting for verification."))
    if report.entered_by_id == actor.user_id:
        raise DomainError(_("A second technician verifies results: not the one who entered them."))
    report.status, report.verified_by_id, report.verified_at = ReportStatus.VERIFIED.value, actor.user_id, clock.now()
    db.session.flush()
    gate(actor, order, "lab_result.verify", write=True)
    notices.publish_after_commit(order)
    return report


def verification_required() -> bool:
    return bool(current_app.config.get("LAB_RESULT_VERIFICATION"))


def results_release(*, actor: Actor, site_id: int, order_id: int) -> LabReport:
    """To the doctor and the patient: the order completes (decided by the database, like every move)."""
    order = order_at_lab(site_id, order_id)
    report = _report(order)
    if report.released:
        raise DomainError(_("These results are already released."))
    if verification_required() and report.status != ReportStatus.VERIFIED.value:
        raise DomainError(_("A second technician must verify these results before they are released."))
    if not order.may_become(S.COMPLETED):
        raise DomainError(_("This order is at \u201c%(status)s\u201d: it cannot become \u201c%(next)s\u201d.",
                            status=order.status_enum.label, next=S.COMPLETED.label))
    status_move(order, S.COMPLETED)
    now = clock.now()
    report.status, report.released_by_id, report.released_at = ReportStatus.RELEASED.value, actor.user_id, now
    db.session.flush()
    gate(actor, order, "lab_result.release", write=True)
    notices.results_ready(order)
    notices.publish_after_commit(order)
    return report


def results_amend(*, actor: Actor, site_id: int, order_id: int, typed: dict[str, str], comment: str | None,
                  reason: str) -> LabReport:
    """Correct released results: the report as it stood is kept as a version with who and why; the
    doctor reviews again, and the doctor and the patient are told."""
    order = order_at_lab(site_id, order_id)
    report = _report(order)
    if not report.released:
        raise DomainError(_("These results are not released yet: correct them directly."))
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise DomainError(_("Say why, in %(min)d to %(max)d characters.", min=REASON_MIN, max=REASON_MAX),
                          field="reason")
    comment = _comment(comment)
    results = _results(order, typed)
    db.session.add(LabReportVersion(report_id=report.id, number=report.version, results=report.results,
                                    comment=report.comment, reason=reason, changed_by_id=actor.user_id,
                                    changed_at=clock.now()))
    report.results, report.comment, report.version = results, comment, report.version + 1
    report.amended_at, report.reviewed_at, report.reviewed_by_id = clock.now(), None, None
    db.session.flush()
    gate(actor, order, "lab_result.amend", write=True)
    _alert_if_critical(order, report)
    notices.results_ready(order, amended=True)
    notices.publish_after_commit(order)
    return report


def results_review(*, actor: Actor, order_id: int) -> LabReport:
    """The ordering doctor has read the released results."""
    order = order_for_doctor(actor=actor, order_id=order_id)
    if actor.role != Role.DOCTOR.value or order.doctor_id != actor.user_id:
        raise AccessDenied(_("Only the doctor who ordered these tests marks them reviewed."))
    report = order.report
    if report is None or not report.released:
        raise DomainError(_("There are no released results to review yet."))
    if report.reviewed_at is None:
        report.reviewed_at, report.reviewed_by_id = clock.now(), actor.user_id
        db.session.flush()
        gate(actor, order, "lab_result.review", write=True)
        notices.publish_after_commit(order)
    return report


def attachment_max_bytes() -> int:
    return current_app.config["DOCUMENT_MAX_BYTES"]


def report_attach(*, actor: Actor, site_id: int, order_id: int, data: bytes) -> LabReport:
    """Attach the report as a PDF (the analyser's printout, a reference lab's report) to results not
    yet released; the type is the one the bytes show, never the name. Replaces one attached before."""
    from app.core import files, filetypes
    from app.core.uploads import size_label

    order = order_at_lab(site_id, order_id)
    report = _report(order)
    if report.released:
        raise DomainError(_("These results are released: amend them with a reason."), field="file")
    if not data:
        raise DomainError(_("Choose a file."), field="file")
    if len(data) > attachment_max_bytes():
        raise DomainError(_("This file is %(size)s; a report can be at most %(max)s.", size=size_label(len(data)),
                            max=size_label(attachment_max_bytes())), field="file")
    found = filetypes.sniff(data)
    if found is None or found.content_type != "application/pdf":
        raise DomainError(_("Only a PDF can be attached. This file is not one, whatever its name says."),
                          field="file")
    if report.attachment_key:
        files.delete(report.attachment_key)
    report.attachment_key, report.attachment_size = files.store(data, content_type=found.content_type), len(data)
    db.session.flush()
    gate(actor, order, "lab_result.attach", write=True)
    return report


def report_pdf(order: LabOrder) -> bytes:
    """The attached PDF's bytes, for a reader the caller has let through the gate."""
    from app.core import files

    if order.report is None or not order.report.attachment_key:
        raise DomainError(_("No report is attached."))
    return files.load(order.report.attachment_key)
