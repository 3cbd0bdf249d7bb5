"""The administrator's audit review (/admin/people/audit): every access to patient data, with the
names of who acted and whose chart it was, filtered, and exported as CSV.

It lives in records, not accounts, because it names patients (records) as well as people
(accounts): records is the lowest layer that knows both (app/records/audit_names.py)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, make_response, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import STAFF_ROLES, User
from app.audit.queries import AuditFilter, audit_export_rows, audit_page
from app.audit.services import audit_access
from app.core.htmx import render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.request_args import SANE_YEARS
from app.extensions import db
from app.records.audit_names import audit_lines
from app.records.merge import patient_ids_with_merged
from app.records.models import Patient
from app.records.queries import patients_search

bp = Blueprint("audit", __name__, url_prefix="/people/audit")

MAX_PAGE = 10_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _day(name: str, errors: dict[str, str]) -> dt.date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return None
    if day.year not in SANE_YEARS:
        errors[name] = _("Enter a date between 2000 and 2999.")
        return None
    return day


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of a clinic day, in UTC."""
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    return dt.datetime.combine(day, dt.time()).replace(tzinfo=zone).astimezone(dt.timezone.utc)


def _with_merged(patient_ids: list[int]) -> tuple[int, ...]:
    """The records asked for and those merged into them: a kept record's trail includes the rows
    written under the ids of the records merged into it (separated again by an undo)."""
    return tuple(patient_ids_with_merged(patient_ids)) if patient_ids else ()


def _filters() -> tuple[AuditFilter, dict, dict[str, str]]:
    """The filters of the query string, what the form shows again, and a message per field that
    could not be read (the rows are then shown unfiltered by that field)."""
    errors: dict[str, str] = {}
    term = request.args.get("patient", "").strip()[:80]
    patient_ids, matched = None, []
    if term.isdigit():
        patient_ids = _with_merged([int(term)]) if len(term) < 10 else ()
    elif term:
        matched = patients_search(term, limit=50)
        patient_ids = _with_merged([p.id for p in matched])
        if not matched:
            errors["patient"] = _("No patient matches this name or MRN.")
    staff = request.args.get("staff", "").strip()
    staff_id = int(staff) if staff.isdigit() and len(staff) < 10 else None
    since, until = _day("from", errors), _day("to", errors)
    if since and until and until < since:
        errors["to"] = _("The end date is before the start date.")
        until = None
    filters = AuditFilter(
        patient_ids=patient_ids, actor_user_id=staff_id,
        emergency_only=request.args.get("emergency") == "1", denied_only=request.args.get("denied") == "1",
        since=_start_of(since) if since else None, until=_start_of(until + dt.timedelta(days=1)) if until else None,
    )
    shown = {"patient": term, "staff": staff_id, "from": request.args.get("from", "")[:20],
             "to": request.args.get("to", "")[:20], "matched": matched}
    return filters, shown, errors


def _staff_members() -> list[tuple[int, str, str]]:
    return list(db.session.execute(
        select(User.id, User.full_name, User.role).where(User.role.in_([r.value for r in STAFF_ROLES]))
        .order_by(User.full_name)).all())


def _query_args() -> dict[str, str]:
    keep = ("patient", "staff", "emergency", "denied", "from", "to")
    return {k: request.args[k] for k in keep if request.args.get(k)}


@bp.route("")
def trail():
    filters, shown, errors = _filters()
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    events, older = audit_page(filters=filters, page=page)
    return render_page_or_fragment(
        "accounts/admin/audit.html", "accounts/admin/_audit_rows.html", status=422 if errors else 200,
        lines=audit_lines(events), older=older, page_number=page, filters=filters, shown=shown, errors=errors,
        staff_members=_staff_members(), query_args=_query_args())


def _cell(value) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _patient_label(patient: Patient | None, patient_id: int | None) -> str:
    if patient is None:
        return "" if patient_id is None else f"#{patient_id}"
    return f"{patient.full_name} ({patient.mrn})"


@bp.route("/export.csv")
def export():
    """The filtered rows (up to EXPORT_MAX, newest first) as CSV, the emergency reasons decrypted.
    The export is itself audited ("audit.export", for "review"): it carries the doctors' words."""
    filters, _shown, errors = _filters()
    if errors:
        return redirect(url_for("admin.audit.trail", **_query_args()), code=303)
    lines = audit_lines(audit_export_rows(filters=filters))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "when_utc", "who", "role", "patient", "action", "what", "outcome", "reason",
                     "emergency_reason", "ip"])
    for line in lines:
        e = line.event
        writer.writerow([_cell(v) for v in (
            e.seq, e.occurred_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds"), line.who,
            line.role or e.actor_role, _patient_label(line.patient, e.patient_id), e.action, line.what, e.outcome,
            e.reason, e.reason_detail, e.ip)])
    audit_access(actor=current_actor(), patient_id=None, action="audit.export", reason="review",
                 target=f"audit_events:{len(lines)} rows")
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
