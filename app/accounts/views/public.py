"""Signing in and out, passwords, invitations, self-registration: the pages every role shares."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh as refresh_language
from flask_login import current_user, login_user, logout_user

from app.accounts import services
from app.accounts.forms import (
    AccountForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
)
from app.accounts.models import Role, TokenPurpose
from app.accounts.sessions import idle_seconds_left, touch_session
from app.core.errors import DomainError
from app.core.forms import show_error
from app.core.hooks import Hook
from app.core.htmx import render_form
from app.core.i18n import LANGUAGES, in_language, remember_language
from app.core.policies import public, signed_in
from app.core.request_actor import current_actor
from app.extensions import db

bp = Blueprint("accounts", __name__)

# /register makes a patient: the account and the patient's record, which records keeps (records sits
# above accounts). create_app registers records' service: (email=, password=, full_name=, phone=).
patient_self_register = Hook("make a patient's account and record from the registration form")


def home_url_for(user) -> str:
    return url_for(Role(user.role).home_endpoint)


def _safe_next(target: str | None) -> str | None:
    """Only a plain path on this site: never an open redirect, never a header-splitting character."""
    if not target or len(target) > 2000 or not target.isprintable() or not target.isascii():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return redirect(url_for("accounts.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    if form.validate_on_submit():
        try:
            user = services.sign_in_check(email=form.email.data, password=form.password.data, ip=current_actor().ip)
        except services.SignInRefused as refused:
            db.session.commit()  # keep the failure counts that throttle the next attempts
            form.form_errors.append(refused.message)
            form.password.data = ""
            return render_form("accounts/login.html", form=form, status=422)
        target = _safe_next(request.args.get("next")) or home_url_for(user)
        session.clear()  # a fresh session on sign-in: no fixation
        login_user(user, remember=False)
        touch_session()
        # After sign-out, this browser's pages before sign-in stay in this person's language.
        return remember_language(redirect(target, code=303), user.language)
    status = 422 if request.method == "POST" else 200
    return render_form("accounts/login.html", form=form, status=status, reason=request.args.get("reason"))


def _sign_out() -> None:
    """End the session on the server (a copied cookie stops working too) and forget it here."""
    if current_user.is_authenticated:
        services.sessions_end(user=current_user._get_current_object())
    logout_user()
    session.clear()


@bp.route("/logout", methods=["POST"])
@public
def logout():
    _sign_out()
    return redirect(url_for("accounts.login", reason="signed-out"), code=303)


@bp.route("/switch-user", methods=["POST"])
@public
def switch_user():
    """The shared desk's quick hand-over: this person signed out exactly as by "Sign out", the login form ready."""
    _sign_out()
    return redirect(url_for("accounts.login", reason="switch"), code=303)


@bp.route("/session/status")
@signed_in
def session_status():
    return jsonify(seconds_left=idle_seconds_left(), warn_at=current_app.config["IDLE_WARNING_SECONDS"])


@bp.route("/session/keepalive", methods=["POST"])
@signed_in
def session_keepalive():
    touch_session()
    return jsonify(seconds_left=idle_seconds_left())


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.password_reset_request(email=form.email.data)
        flash(_("If that email belongs to an account, a reset link is on its way. It works once, for an hour."), "info")
        return redirect(url_for("accounts.login"), code=303)
    return render_form("accounts/forgot_password.html", form=form, status=422 if request.method == "POST" else 200)


def _redeem(purpose: TokenPurpose, template: str, token: str, done_message: str):
    form = NewPasswordForm()
    try:
        user = services.token_user(raw_token=token, purpose=purpose)
    except DomainError as error:
        return render_form(template, form=None, link_error=error.message, status=410,
                           link_sign_in=getattr(error, "sign_in", False))
    if form.validate_on_submit():
        try:
            services.token_redeem(raw_token=token, purpose=purpose, new_password=form.password.data)
        except DomainError as error:
            show_error(form, error)
            return render_form(template, form=form, user=user, status=422)
        flash(done_message, "success")
        return redirect(url_for("accounts.login"), code=303)
    return render_form(template, form=form, user=user, status=422 if request.method == "POST" else 200)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return _redeem(TokenPurpose.PASSWORD_RESET, "accounts/reset_password.html", token,
                   _("Your password was changed. Sign in with the new one."))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept_invite(token: str):
    return _redeem(TokenPurpose.INVITE, "accounts/accept_invite.html", token,
                   _("Your account is ready. Sign in with your new password."))


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            patient_self_register(email=form.email.data, password=form.password.data, full_name=form.full_name.data,
                                  phone=form.phone.data or None, date_of_birth=form.date_of_birth.data,
                                  language=form.language.data)
        except DomainError as error:
            show_error(form, error)
            return render_form("accounts/register.html", form=form, status=422)
        # The same answer whether the email was new or already had an account (its owner is emailed).
        with in_language(form.language.data):  # the next pages are in the language just chosen
            flash(_("Thank you. We have sent an email to the address you gave. "
                    "If your account is new, you can sign in now."), "success")
        return remember_language(redirect(url_for("accounts.login"), code=303), form.language.data)
    return render_form("accounts/register.html", form=form, status=422 if request.method == "POST" else 200)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.password_change(user=user, current_password=form.current_password.data,
                                     new_password=form.password.data)
        except DomainError as error:
            show_error(form, error)
            return render_form("accounts/change_password.html", form=form, status=422)
        login_user(user, remember=False)  # this browser stays signed in with the new token; others are out
        touch_session()
        flash(_("Password changed. Every other device was signed out."), "success")
        return redirect(home_url_for(user), code=303)
    return render_form("accounts/change_password.html", form=form, status=422 if request.method == "POST" else 200)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    """My account: each person's own settings (their language), and the way to their password."""
    user = current_user._get_current_object()
    form = AccountForm(language=user.language)
    if form.validate_on_submit():
        services.user_language_set(user=user, language=form.language.data)
        refresh_language()  # the message below, and the next page, in the new language
        flash(_("Saved. Your pages, emails and text messages are now in %(language)s.",
                language=LANGUAGES[user.language]), "success")
        return remember_language(redirect(url_for("accounts.account"), code=303), user.language)
    return render_form("accounts/account.html", form=form, status=422 if request.method == "POST" else 200)


@bp.route("/language", methods=["POST"])
@public
def language():
    """The language switch of the pages before sign-in: this browser remembers it (and a signed-in
    person's account too). Back to the page it was pressed on."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        services.user_language_set(user=current_user._get_current_object(), language=form.language.data)
    target = _safe_next(request.form.get("next")) or url_for("accounts.index")
    return remember_language(redirect(target, code=303), form.language.data)
