"""Account forms. Field names are part of the contract: the login form posts `email` and `password`."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from app.accounts.models import ROLE_LABELS, STAFF_ROLES, Role, StaffProfile, User
from app.core.forms import choices, date_of_birth_bounds, fits
from app.core.i18n import LANGUAGES, current_language
from app.core.phones import PhoneNumber

# A plain shape check: clinic staff use local and test domains that strict validators refuse.
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$", message=_l("Enter an email address, like name@example.com."))
PHONE = PhoneNumber()


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _language_field():
    # Not sent at all (an older form): the language the page was shown in.
    return SelectField(_l("Language"), choices=choices(LANGUAGES.items()), default=current_language,
                       validators=[DataRequired(_l("Choose a language."))])


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Enter your email.")), Length(max=254), EMAIL])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password.")), Length(max=128)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Enter your email.")), Length(max=254), EMAIL])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(_l("Choose a password.")), Length(max=128)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[InputRequired(_l("Repeat the password.")), Length(max=128),
                                        EqualTo("password", _l("The two passwords differ."))])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[InputRequired(_l("Enter your current password.")), Length(max=128)])


class RegisterForm(NewPasswordForm):
    full_name = StringField(_l("Full name"), filters=[_strip],
                            validators=[DataRequired(_l("Enter your name.")), fits(User.full_name, min=2)])
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Enter your email.")), fits(User.email), EMAIL])
    phone = StringField(_l("Mobile phone"), validators=[Optional(), fits(User.phone), PHONE])
    date_of_birth = DateField(_l("Date of birth (optional)"), validators=[Optional(), date_of_birth_bounds()])
    language = _language_field()


class AccountForm(FlaskForm):
    """What each person sets for themselves: for now, the language of their pages and messages."""

    language = _language_field()


class LanguageForm(FlaskForm):
    """The language switch on the pages before sign-in."""

    language = SelectField(choices=choices(LANGUAGES.items()), validators=[InputRequired()])


class InviteStaffForm(FlaskForm):
    full_name = StringField(_l("Full name"), filters=[_strip],
                            validators=[DataRequired(_l("Enter their name.")), fits(User.full_name, min=2)])
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Enter their email.")), fits(User.email), EMAIL])
    role = SelectField(_l("Role"), choices=choices([(r.value, ROLE_LABELS[r]) for r in STAFF_ROLES]),
                       validators=[InputRequired(_l("Choose a role."))])
    speciality = StringField(_l("Speciality (doctors)"), validators=[Optional(), fits(StaffProfile.speciality)])
    fee = IntegerField(_l("Consultation fee, KES (doctors)"),
                       validators=[Optional(), NumberRange(min=0, max=1_000_000,
                                                           message=_l("Enter a fee from 0 to 1,000,000."))])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices([(r.value, ROLE_LABELS[r]) for r in Role]),
                       validators=[InputRequired(_l("Choose a role."))])
