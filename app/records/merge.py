"""One record per person: an admin merges a duplicate record into the one kept, and can undo it.

What moves: every row of every table whose `patient_id` is a foreign key to patients (appointments,
chart entries and documents, prescriptions, recordings, and whatever a later domain adds: found in
the metadata, so a new table moves without being listed here), and the sign-in account when only
the duplicate has one. The ids that moved are kept on the merge row, so an undo moves back exactly
those (what was added to the kept record since stays).

The audit trail does not move: it is append-only and hash-chained (app/audit/models.py), so its
rows keep the id they were written with, and the kept record's trail is read with the ids merged
into it (`patient_ids_merged_into`).

Two merges of the same records at once: the one whose conditional update marks the duplicate as
merged wins (`merged_into_id IS NULL` in the UPDATE, the rows locked in id order on PostgreSQL);
the other finds it merged and is refused."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import Role
from app.audit.services import audit_access, audit_denied
from app.core.actor import Actor
from app.core.clock import clock
from app.core.db import Base
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.records.models import DuplicateDismissal, Patient, PatientMerge

ACCOUNT_KEY = "users"
MERGE_REASON_MAX = 500


class MergeRefused(DomainError):
    pass


def _patient_tables():
    """The tables whose rows belong to a patient through a `patient_id` foreign key."""
    tables = []
    for table in Base.metadata.sorted_tables:
        column = table.c.get("patient_id")
        if column is not None and any(fk.column.table.name == Patient.__tablename__ for fk in column.foreign_keys):
            (key,) = table.primary_key.columns
            tables.append((table, key, column))
    return tables


def _require_admin(actor: Actor, *, patient_id: int | None, target: str) -> None:
    if actor.role != Role.ADMIN.value:
        audit_denied(actor=actor, reason="not an administrator", patient_id=patient_id, target=target)
        raise MergeRefused(_("Only an administrator can merge records."))


def _lock(patient_ids: list[int]) -> dict[int, Patient]:
    rows = db.session.execute(
        select(Patient).where(Patient.id.in_(patient_ids)).order_by(Patient.id).with_for_update()
        .execution_options(populate_existing=True)).scalars()
    return {p.id: p for p in rows}


def patients_merge(*, actor: Actor, kept_id: int, merged_id: int, reason: str) -> PatientMerge:
    """Merge `merged_id` into `kept_id` (see the module's docstring); audited on both records."""
    _require_admin(actor, patient_id=kept_id, target=f"patient.merge:{merged_id}")
    reason = " ".join((reason or "").split())
    if not reason:
        raise MergeRefused(_("Say why these records are the same person."), field="reason")
    if len(reason) > MERGE_REASON_MAX:
        raise MergeRefused(_("Write at most %(max)d characters.", max=MERGE_REASON_MAX), field="reason")
    if kept_id == merged_id:
        raise MergeRefused(_("Choose two different records."), field="merged_id")
    patients = _lock([kept_id, merged_id])
    kept, merged = patients.get(kept_id), patients.get(merged_id)
    if kept is None or merged is None:
        raise NotFound(_("No such patient."))
    if kept.merged_into_id is not None:
        raise MergeRefused(_("The record to keep was itself merged into another: keep that one."), field="kept_id")
    if kept.user_id is not None and merged.user_id is not None:
        raise MergeRefused(_("Both records have their own sign-in account: ask the patient which one they use, "
                             "and close the other first."), field="merged_id")
    marked = db.session.execute(update(Patient).where(Patient.id == merged_id, Patient.merged_into_id.is_(None))
                                .values(merged_into_id=kept_id).execution_options(synchronize_session=False))
    if marked.rowcount != 1:
        raise MergeRefused(_("This record has already been merged."), field="merged_id")
    moved: dict[str, list[int]] = {}
    for table, key, column in _patient_tables():
        ids = list(db.session.execute(select(key).where(column == merged_id).order_by(key)).scalars())
        if ids:
            db.session.execute(update(table).where(key.in_(ids)).values({column.name: kept_id}))
            moved[table.name] = ids
    if merged.user_id is not None:
        moved[ACCOUNT_KEY] = [merged.user_id]
        account, merged.user_id = merged.user_id, None
        db.session.flush()  # the account is unique to one record: free it first
        kept.user_id = account
    merged.merged_into_id = kept_id
    merge = PatientMerge(kept_id=kept_id, merged_id=merged_id, moved=moved, reason=reason,
                         merged_by_id=actor.user_id)
    db.session.add(merge)
    db.session.flush()
    for patient_id in (kept_id, merged_id):
        audit_access(actor=actor, patient_id=patient_id, action="patient.merge", reason="administration",
                     target=f"patient_merges:{merge.id} {merged_id}->{kept_id}")
    db.session.expire_all()
    return merge


def patients_merge_undo(*, actor: Actor, merge_id: int) -> PatientMerge:
    """Move back exactly what the merge moved (rows deleted since stay deleted), and make the
    duplicate a record of its own again. Audited on both records."""
    _require_admin(actor, patient_id=None, target=f"patient.merge.undo:{merge_id}")
    merge = db.session.get(PatientMerge, merge_id)
    if merge is None:
        raise NotFound(_("No such merge."))
    patients = _lock([merge.kept_id, merge.merged_id])
    kept, merged = patients[merge.kept_id], patients[merge.merged_id]
    if kept.merged_into_id is not None:
        raise MergeRefused(_("The kept record has since been merged into another: undo that merge first."))
    claimed = db.session.execute(update(PatientMerge).where(PatientMerge.id == merge_id, PatientMerge.undone_at.is_(None))
                                 .values(undone_at=clock.now(), undone_by_id=actor.user_id)
                                 .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise MergeRefused(_("This merge has already been undone."))
    tables = {table.name: (table, key, column) for table, key, column in _patient_tables()}
    for name, ids in merge.moved.items():
        if name == ACCOUNT_KEY or name not in tables:
            continue
        table, key, column = tables[name]
        db.session.execute(update(table).where(key.in_(ids), column == merge.kept_id)
                           .values({column.name: merge.merged_id}))
    account = (merge.moved.get(ACCOUNT_KEY) or [None])[0]
    if account is not None and kept.user_id == account:
        kept.user_id = None
        db.session.flush()
        merged.user_id = account
    merged.merged_into_id = None
    db.session.flush()
    for patient_id in (merge.kept_id, merge.merged_id):
        audit_access(actor=actor, patient_id=patient_id, action="patient.merge.undo", reason="administration",
                     target=f"patient_merges:{merge.id}")
    db.session.expire_all()
    return db.session.get(PatientMerge, merge_id)


def patient_ids_merged_into(patient_id: int) -> list[int]:
    """The record and every record merged into it (and not separated again), directly or not: the
    ids its audit trail and history are read under."""
    return patient_ids_with_merged([patient_id])


def patient_ids_with_merged(patient_ids: list[int]) -> list[int]:
    """`patient_ids` and every record merged into any of them: one query per level of merging."""
    ids, frontier = list(dict.fromkeys(patient_ids)), list(dict.fromkeys(patient_ids))
    while frontier:
        found = db.session.execute(select(Patient.id).where(Patient.merged_into_id.in_(frontier))).scalars()
        frontier = [i for i in found if i not in ids]
        ids.extend(frontier)
    return ids


def merges_recent(*, limit: int = 20) -> list[PatientMerge]:
    """The latest merges with both records (one query each for the merges and their records)."""
    return list(db.session.execute(
        select(PatientMerge).options(selectinload(PatientMerge.kept), selectinload(PatientMerge.merged))
        .order_by(PatientMerge.id.desc()).limit(limit)).scalars())


COUNTED_TABLES = {"appointments": "appointments", "clinical_entries": "entries"}


def record_counts(patient_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many appointments and chart entries each record holds (what a merge would move): counts,
    never content. One query per table for the whole page."""
    counts = {pid: {name: 0 for name in COUNTED_TABLES.values()} for pid in patient_ids}
    if not patient_ids:
        return counts
    for table_name, name in COUNTED_TABLES.items():
        table = Base.metadata.tables.get(table_name)
        if table is None:
            continue
        rows = db.session.execute(select(table.c.patient_id, func.count()).where(table.c.patient_id.in_(patient_ids))
                                  .group_by(table.c.patient_id))
        for patient_id, count in rows:
            counts[patient_id][name] = count
    return counts


# -- two people, not one ----------------------------------------------------------------------------------

def duplicate_dismiss(*, actor: Actor, first_id: int, second_id: int) -> DuplicateDismissal:
    """The admin judges the pair to be two people: it leaves the duplicates page. Audited on both
    records; a second click (or a second admin) finds it done and changes nothing."""
    first_id, second_id = sorted((first_id, second_id))
    _require_admin(actor, patient_id=first_id, target=f"patient.not_duplicate:{second_id}")
    if first_id == second_id or len(_lock([first_id, second_id])) != 2:
        raise NotFound(_("No such patient."))
    existing = _dismissal(first_id, second_id)
    if existing is not None:
        return existing
    dismissal = DuplicateDismissal(first_id=first_id, second_id=second_id, dismissed_by_id=actor.user_id)
    try:
        with db.session.begin_nested():
            db.session.add(dismissal)
    except IntegrityError:  # another admin at the same instant (SQLite: no row lock to wait on)
        return _dismissal(first_id, second_id)
    for patient_id in (first_id, second_id):
        audit_access(actor=actor, patient_id=patient_id, action="patient.not_duplicate", reason="administration",
                     target=f"duplicate_dismissals:{dismissal.id} {first_id},{second_id}")
    return dismissal


def duplicate_dismissal_undo(*, actor: Actor, dismissal_id: int) -> tuple[int, int] | None:
    """Show the pair again (the judgement was wrong): its records' ids, or None when it was already
    shown again."""
    dismissal = db.session.get(DuplicateDismissal, dismissal_id)
    _require_admin(actor, patient_id=dismissal.first_id if dismissal else None,
                   target=f"duplicate_dismissals:{dismissal_id}")
    if dismissal is None:
        return None
    pair = (dismissal.first_id, dismissal.second_id)
    if db.session.execute(delete(DuplicateDismissal).where(DuplicateDismissal.id == dismissal_id)).rowcount != 1:
        return None
    for patient_id in pair:
        audit_access(actor=actor, patient_id=patient_id, action="patient.not_duplicate.undo", reason="administration",
                     target=f"duplicate_dismissals:{dismissal_id} {pair[0]},{pair[1]}")
    return pair


def _dismissal(first_id: int, second_id: int) -> DuplicateDismissal | None:
    return db.session.execute(select(DuplicateDismissal).where(
        DuplicateDismissal.first_id == first_id, DuplicateDismissal.second_id == second_id)).scalar_one_or_none()


def dismissals_recent(*, limit: int = 20) -> list[DuplicateDismissal]:
    return list(db.session.execute(
        select(DuplicateDismissal)
        .options(selectinload(DuplicateDismissal.first), selectinload(DuplicateDismissal.second))
        .order_by(DuplicateDismissal.id.desc()).limit(limit)).scalars())
