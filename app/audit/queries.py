"""Reads of the audit trail: the administrator's review (every row, filtered) and a patient's own
"who looked at my record" (the rows about their chart). Names of people and patients are not
here: the trail holds ids, and the layer above that knows both joins the names in
(app/records/audit_names.py). Each page is one query, newest first."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable

from sqlalchemy import literal_column, select

from app.audit.models import AuditEvent
from app.extensions import db

# A literal, not a bound parameter: PostgreSQL can then answer from the partial index
# ix_audit_events_emergency instead of walking the whole trail for a few rows.
EMERGENCY_ROWS = AuditEvent.reason == literal_column("'emergency'")
DENIED_ROWS = AuditEvent.outcome == literal_column("'denied'")
PAGE_SIZE = 50
EXPORT_MAX = 5000  # rows in one CSV: a review exports a filtered slice, not the whole trail


@dataclasses.dataclass(frozen=True)
class AuditFilter:
    """Which rows to show. `patient_ids`: None for any patient, a tuple (maybe empty: nothing
    matched the search) for those; `since`/`until`: UTC instants, `until` excluded."""

    patient_ids: tuple[int, ...] | None = None
    actor_user_id: int | None = None
    emergency_only: bool = False
    denied_only: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(filters: AuditFilter):
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if filters.patient_ids is not None:
        query = query.where(AuditEvent.patient_id.in_(filters.patient_ids))
    if filters.actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == filters.actor_user_id)
    if filters.emergency_only:
        query = query.where(EMERGENCY_ROWS)
    if filters.denied_only:
        query = query.where(DENIED_ROWS)
    if filters.since is not None:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.occurred_at < filters.until)
    return query


def _page(query, page: int, per_page: int) -> tuple[list[AuditEvent], bool]:
    # One row more than shown says whether there is an older page, without a COUNT over the trail.
    rows = list(db.session.execute(query.limit(per_page + 1).offset((max(page, 1) - 1) * per_page)).scalars())
    return rows[:per_page], len(rows) > per_page


def audit_page(*, filters: AuditFilter, page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[AuditEvent], bool]:
    """One page of the trail, newest first, and whether an older page follows (the free text of
    the reasons decrypted: for administrators only)."""
    return _page(_filtered(filters), page, per_page)


def audit_export_rows(*, filters: AuditFilter, limit: int = EXPORT_MAX) -> list[AuditEvent]:
    return list(db.session.execute(_filtered(filters).limit(limit)).scalars())


def audit_recent(*, patient_id: int | None = None, emergency: bool = False, limit: int = 100) -> list[AuditEvent]:
    """The newest rows first; `emergency`: only those made under emergency ("break the glass") access."""
    filters = AuditFilter(patient_ids=None if patient_id is None else (patient_id,), emergency_only=emergency)
    return audit_export_rows(filters=filters, limit=limit)


def chart_accesses(*, patient_id: int, also_ids: Iterable[int] = (), leave_out_user_id: int | None = None,
                   page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[AuditEvent], bool]:
    """Who touched one patient's chart, newest first: only that patient's rows, and those of the records
    merged into theirs (`also_ids`); `leave_out_user_id` (the patient themself) is left out."""
    query = _filtered(AuditFilter(patient_ids=tuple(dict.fromkeys((patient_id, *also_ids)))))
    if leave_out_user_id is not None:
        query = query.where((AuditEvent.actor_user_id.is_(None)) | (AuditEvent.actor_user_id != leave_out_user_id))
    return _page(query, page, per_page)


def user_ids_of(events: Iterable[AuditEvent]) -> set[int]:
    return {e.actor_user_id for e in events if e.actor_user_id is not None}


def patient_ids_of(events: Iterable[AuditEvent]) -> set[int]:
    return {e.patient_id for e in events if e.patient_id is not None}
