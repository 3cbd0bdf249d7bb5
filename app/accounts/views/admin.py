"""The administrator's people pages: invite staff, change roles, deactivate, end sessions; audit."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts import queries, services
from app.accounts.forms import InviteStaffForm, RoleForm
from app.accounts.models import ROLE_LABELS, STATUS_LABELS, AccountStatus, Role
from app.core.confirm import Ask, asks_first
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.forms import show_error
from app.core.htmx import render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.transactions import refused

bp = Blueprint("accounts", __name__, url_prefix="/people")


@bp.route("/")
def users():
    term = request.args.get("q", "")[:80]
    role = request.args.get("role") or None
    if role not in (None, *[r.value for r in Role]):
        role = None
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in AccountStatus]):
        status = None
    people = queries.accounts_list(term=term, role=role, status=AccountStatus(status) if status else None)
    return render_page_or_fragment("accounts/admin/users.html", "accounts/admin/_user_rows.html",
                                   people=people, term=term, role=role, status_filter=status, now=utcnow(),
                                   role_labels={r.value: label for r, label in ROLE_LABELS.items()},
                                   status_labels={s.value: label for s, label in STATUS_LABELS.items()})


@bp.route("/invite", methods=["GET", "POST"])
def invite():
    form = InviteStaffForm()
    if form.validate_on_submit():
        try:
            services.staff_invite(actor=current_actor(), email=form.email.data, full_name=form.full_name.data,
                                  role=Role(form.role.data), speciality=form.speciality.data or None,
                                  fee_cents=form.fee.data * 100 if form.fee.data is not None else None)
        except DomainError as error:
            show_error(form, error)
            return render_form("accounts/admin/invite.html", form=form, status=422)
        flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
        return redirect(url_for("admin.accounts.users"), code=303)
    return render_form("accounts/admin/invite.html", form=form, status=422 if request.method == "POST" else 200)


def _person(user_id: int):
    try:
        return services.user_get(user_id)
    except NotFound:
        abort(404)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
def person(user_id: int):
    user = _person(user_id)
    form = RoleForm(obj=None if request.method == "POST" else user)
    page = {"person": user, "form": form, "invitation_expires_at": queries.invitation_expires_at(user_id),
            "now": utcnow()}
    if form.validate_on_submit():
        try:
            services.account_role_change(actor=current_actor(), user_id=user_id, role=Role(form.role.data))
        except DomainError as error:
            form.role.errors = list(form.role.errors) + [error.message]
            return render_form("accounts/admin/person.html", **page, status=422)
        flash(_("%(name)s is now %(role)s; their sessions were ended.", name=user.full_name,
                role=Role(form.role.data).label), "success")
        return redirect(url_for("admin.accounts.person", user_id=user_id), code=303)
    return render_form("accounts/admin/person.html", **page, status=422 if request.method == "POST" else 200)


def _act(user_id: int, action, done: str):
    _person(user_id)
    try:
        action()
    except DomainError as error:
        return refused(error.message, url_for("admin.accounts.person", user_id=user_id))
    flash(done, "success")
    return redirect(url_for("admin.accounts.person", user_id=user_id), code=303)


def _ask(user_id: int, *, question: str, yes: str) -> Ask:
    return Ask(question=question, detail=_person(user_id).full_name, yes=yes,
               back=url_for("admin.accounts.person", user_id=user_id))


@bp.route("/<int:user_id>/deactivate", methods=["GET", "POST"])
@asks_first(lambda user_id: _ask(user_id, question=_("Deactivate this account? They are signed out at once."),
                                  yes=_("Deactivate")))
def deactivate(user_id: int):
    return _act(user_id, lambda: services.account_deactivate(actor=current_actor(), user_id=user_id),
                _("Account deactivated; it was signed out everywhere."))


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    return _act(user_id, lambda: services.account_reactivate(actor=current_actor(), user_id=user_id),
                _("Account reactivated."))


@bp.route("/<int:user_id>/end-sessions", methods=["GET", "POST"])
@asks_first(lambda user_id: _ask(user_id, question=_("Sign this person out on every device?"),
                                  yes=_("End all sessions")))
def end_sessions(user_id: int):
    if user_id == current_user.id:
        abort(400)
    return _act(user_id, lambda: services.account_sessions_end(actor=current_actor(), user_id=user_id),
                _("Every session of this account was ended."))


@bp.route("/<int:user_id>/invitation/resend", methods=["POST"])
def invitation_resend(user_id: int):
    _person(user_id)
    back = url_for("admin.accounts.person", user_id=user_id)
    try:
        services.staff_invite_resend(actor=current_actor(), user_id=user_id)
    except services.InvitationJustSent as just_sent:  # a double click: the first click sent it
        flash(just_sent.message, "info")
        return redirect(back, code=303)
    except DomainError as error:
        return refused(error.message, back)
    flash(_("A new invitation was sent; the earlier link no longer works."), "success")
    return redirect(back, code=303)


@bp.route("/<int:user_id>/invitation/revoke", methods=["GET", "POST"])
@asks_first(lambda user_id: _ask(user_id, question=_("Withdraw this invitation? Its link stops working and the "
                                                     "account is deactivated."), yes=_("Withdraw invitation")))
def invitation_revoke(user_id: int):
    return _act(user_id, lambda: services.staff_invite_revoke(actor=current_actor(), user_id=user_id),
                _("Invitation withdrawn: its link no longer works and the account is deactivated."))
