"""Chart entry forms, one per kind of entry."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from app.core.forms import choices, date_of_birth_bounds, fits
from app.records.access import EMERGENCY_REASON_MAX, EMERGENCY_REASON_MIN
from app.records.models import EntryKind, Patient


def _range(low, high):
    message = f"Expected between {low} and {high}."
    in_range = NumberRange(min=low, max=high, message=message)

    def validate(form, field):
        # DecimalField takes "NaN", "Infinity" and "sNaN"; none is a reading, and sNaN makes NumberRange raise.
        if isinstance(field.data, Decimal) and not field.data.is_finite():
            raise StopValidation(message)
        in_range(form, field)

    validate.field_flags = in_range.field_flags  # the input keeps its min/max attributes
    return validate


class AllergyForm(FlaskForm):
    substance = StringField("Substance", validators=[InputRequired("Name the substance."), Length(max=120)])
    reaction = StringField("Reaction", validators=[Optional(), Length(max=200)])
    severity = SelectField("Severity", choices=choices([("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")]),
                           validators=[InputRequired()])


class ProblemForm(FlaskForm):
    condition = StringField("Condition or diagnosis", validators=[InputRequired("Name the condition."), Length(max=200)])
    onset = StringField("Since", validators=[Optional(), Length(max=40)])
    notes = StringField("Notes", validators=[Optional(), Length(max=500)])


class MedicationForm(FlaskForm):
    drug = StringField("Medicine", validators=[InputRequired("Name the medicine."), Length(max=120)])
    dose = StringField("Dose", validators=[Optional(), Length(max=60)])
    frequency = StringField("How often", validators=[Optional(), Length(max=60)])


class VitalsForm(FlaskForm):
    systolic = IntegerField("Systolic BP (mmHg)", validators=[Optional(), _range(50, 260)])
    diastolic = IntegerField("Diastolic BP (mmHg)", validators=[Optional(), _range(30, 160)])
    pulse = IntegerField("Pulse (/min)", validators=[Optional(), _range(20, 250)])
    temperature_c = DecimalField("Temperature (°C)", places=1, validators=[Optional(), _range(30, 44)])
    spo2 = IntegerField("SpO₂ (%)", validators=[Optional(), _range(50, 100)])
    weight_kg = DecimalField("Weight (kg)", places=1, validators=[Optional(), _range(0.3, 400)])

    def content(self) -> dict:
        return {name: (float(f.data) if f.data is not None and name in ("temperature_c", "weight_kg") else f.data)
                for name, f in self._fields.items() if name != "csrf_token"}


class NoteForm(FlaskForm):
    text = TextAreaField("Clinical note", validators=[InputRequired("Write the note."), Length(max=5000)])


ENTRY_FORMS = {
    EntryKind.ALLERGY: AllergyForm,
    EntryKind.PROBLEM: ProblemForm,
    EntryKind.MEDICATION: MedicationForm,
    EntryKind.VITALS: VitalsForm,
    EntryKind.NOTE: NoteForm,
}


def form_content(form) -> dict:
    if hasattr(form, "content"):
        return form.content()
    return {name: f.data for name, f in form._fields.items() if name != "csrf_token"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EmergencyAccessForm(FlaskForm):
    """Why a doctor with no care relationship must open this chart now (recorded and reviewed)."""

    reason = TextAreaField(
        "Why do you need this chart now?", filters=[_strip],
        validators=[DataRequired("Say why you need this chart."),
                    Length(min=EMERGENCY_REASON_MIN, max=EMERGENCY_REASON_MAX,
                           message=f"Write between {EMERGENCY_REASON_MIN} and {EMERGENCY_REASON_MAX} characters.")])


class WalkInForm(FlaskForm):
    """Everything the desk needs to register a patient who walks in, in under a minute."""

    given_name = StringField("Given name(s)", validators=[InputRequired("Enter the given name."), fits(Patient.given_name)])
    family_name = StringField("Family name", validators=[InputRequired("Enter the family name."),
                                                         fits(Patient.family_name)])
    phone = StringField("Mobile phone", validators=[Optional(), fits(Patient.phone),
                                                    Regexp(r"^\+?[0-9 ()-]{7,20}$", message="Enter a phone number, like +254 712 345 678.")])
    date_of_birth = DateField("Date of birth", validators=[Optional(), date_of_birth_bounds()])
    sex = SelectField("Sex", choices=choices([("", "—"), ("female", "Female"), ("male", "Male"), ("other", "Other")]),
                      validators=[Optional()])
    national_id = StringField("National ID (optional)", validators=[Optional(), Length(max=20)])
