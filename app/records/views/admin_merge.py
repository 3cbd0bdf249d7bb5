"""The administrator's duplicates page (/admin/patients/duplicates): likely duplicate records side by
side (identifiers and counts only, never the chart), merged with a reason after a confirmation, and
the recent merges with their undo. The rules are app/records/duplicates.py and merge.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.core.confirm import Ask, asks_first
from app.core.htmx import render_form
from app.core.request_actor import current_actor
from app.extensions import db
from app.records import merge
from app.records.duplicates import duplicate_pairs
from app.records.models import PatientMerge

bp = Blueprint("merge", __name__, url_prefix="/patients")

# A refusal is shown like a form's error: htmx swaps 422 (base.html), never a 409.
REFUSED = 422


def _page(*, status: int = 200, refusal: str | None = None, typed: dict | None = None):
    """The page; `typed`: the pair whose form is shown again ({"pair": (a, b), "kept", "reason", "errors"})."""
    pairs = duplicate_pairs()
    merges = merge.merges_recent()
    ids = sorted({p.id for pair in pairs for p in (pair.first, pair.second)})
    return render_form("records/admin/duplicates.html", status=status, pairs=pairs, merges=merges,
                       dismissals=merge.dismissals_recent(),
                       counts=merge.record_counts(ids), refusal=refusal, typed=typed or {},
                       reason_max=merge.MERGE_REASON_MAX)


@bp.route("/duplicates")
def duplicates():
    return _page()


def _ask_merge(first_id: int, second_id: int) -> Ask:
    return Ask(question=_("Merge these two records?"), yes=_("Merge"), back=url_for("admin.merge.duplicates"),
               detail=_("Everything of the record not kept (appointments, chart entries, the sign-in account) "
                        "moves to the one kept. You can undo it from this page."),
               carry=("kept", "reason"))


@bp.route("/duplicates/<int:first_id>/<int:second_id>/merge", methods=["GET", "POST"])
@asks_first(_ask_merge)
def merge_pair(first_id: int, second_id: int):
    kept = request.form.get("kept", "")
    reason = request.form.get("reason", "")
    typed = {"pair": (first_id, second_id), "kept": kept, "reason": reason[:merge.MERGE_REASON_MAX * 2], "errors": {}}
    if kept not in (str(first_id), str(second_id)):
        typed["errors"]["kept"] = _("Choose the record to keep.")
        return _page(status=422, typed=typed)
    kept_id = int(kept)
    merged_id = second_id if kept_id == first_id else first_id
    try:
        done = merge.patients_merge(actor=current_actor(), kept_id=kept_id, merged_id=merged_id, reason=reason)
    except merge.MergeRefused as refused:
        if refused.field == "reason":
            typed["errors"]["reason"] = refused.message
            return _page(status=422, typed=typed)
        return _page(status=REFUSED, refusal=refused.message)
    flash(_("%(merged)s was merged into %(kept)s.", merged=done.merged.mrn, kept=done.kept.mrn), "success")
    return redirect(url_for("admin.merge.duplicates"), code=303)


def _ask_undo(merge_id: int) -> Ask:
    found = db.session.get(PatientMerge, merge_id)
    detail = _("%(merged)s becomes a record of its own again, with what it had before the merge.",
               merged=found.merged.mrn) if found else None
    return Ask(question=_("Undo this merge?"), yes=_("Undo the merge"), back=url_for("admin.merge.duplicates"),
               detail=detail)


@bp.route("/merges/<int:merge_id>/undo", methods=["GET", "POST"])
@asks_first(_ask_undo)
def undo(merge_id: int):
    try:
        undone = merge.patients_merge_undo(actor=current_actor(), merge_id=merge_id)
    except merge.MergeRefused as refused:
        return _page(status=REFUSED, refusal=refused.message)
    flash(_("The merge was undone: %(merged)s and %(kept)s are separate records again.",
            merged=undone.merged.mrn, kept=undone.kept.mrn), "success")
    return redirect(url_for("admin.merge.duplicates"), code=303)


@bp.route("/duplicates/<int:first_id>/<int:second_id>/dismiss", methods=["POST"])
def dismiss(first_id: int, second_id: int):
    """Not destructive (shown again with one click), so it asks nothing first."""
    merge.duplicate_dismiss(actor=current_actor(), first_id=first_id, second_id=second_id)
    flash(_("Marked as two different people: the pair is no longer listed."), "success")
    return redirect(url_for("admin.merge.duplicates"), code=303)


@bp.route("/dismissals/<int:dismissal_id>/restore", methods=["POST"])
def restore(dismissal_id: int):
    if merge.duplicate_dismissal_undo(actor=current_actor(), dismissal_id=dismissal_id) is not None:
        flash(_("The pair is listed again."), "success")
    return redirect(url_for("admin.merge.duplicates"), code=303)
