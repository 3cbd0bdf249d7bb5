"""Account forms. Field names are part of the contract: the login form posts `email` and `password`."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
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
from app.core.forms import choices, fits

# A plain shape check: clinic staff use local and test domains that strict validators refuse.
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$", message="Enter an email address, like name@example.com.")
PHONE = Regexp(r"^\+?[0-9 ()-]{7,20}$", message="Enter a phone number, like +254 712 345 678.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email."), Length(max=254), EMAIL])
    password = PasswordField("Password", validators=[InputRequired("Enter your password."), Length(max=128)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email."), Length(max=254), EMAIL])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[InputRequired("Choose a password."), Length(max=128)])
    confirm = PasswordField("Repeat the new password",
                            validators=[InputRequired("Repeat the password."), Length(max=128),
                                        EqualTo("password", "The two passwords differ.")])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[InputRequired("Enter your current password."),
                                                                     Length(max=128)])


class RegisterForm(NewPasswordForm):
    full_name = StringField("Full name", filters=[_strip],
                            validators=[DataRequired("Enter your name."), fits(User.full_name, min=2)])
    email = EmailField("Email", validators=[InputRequired("Enter your email."), fits(User.email), EMAIL])
    phone = StringField("Mobile phone", validators=[Optional(), fits(User.phone), PHONE])


class InviteStaffForm(FlaskForm):
    full_name = StringField("Full name", filters=[_strip],
                            validators=[DataRequired("Enter their name."), fits(User.full_name, min=2)])
    email = EmailField("Email", validators=[InputRequired("Enter their email."), fits(User.email), EMAIL])
    role = SelectField("Role", choices=choices([(r.value, ROLE_LABELS[r]) for r in STAFF_ROLES]),
                       validators=[InputRequired("Choose a role.")])
    speciality = StringField("Speciality (doctors)", validators=[Optional(), fits(StaffProfile.speciality)])
    fee = IntegerField("Consultation fee, KES (doctors)",
                       validators=[Optional(), NumberRange(min=0, max=1_000_000, message="Enter a fee from 0 to 1,000,000.")])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices([(r.value, ROLE_LABELS[r]) for r in Role]),
                       validators=[InputRequired("Choose a role.")])
