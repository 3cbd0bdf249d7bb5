"""Chart entry forms, one per kind of entry."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.records.models import EntryKind


def _range(low, high):
    return NumberRange(min=low, max=high, message=f"Expected between {low} and {high}.")


class AllergyForm(FlaskForm):
    substance = StringField("Substance", validators=[InputRequired("Name the substance."), Length(max=120)])
    reaction = StringField("Reaction", validators=[Optional(), Length(max=200)])
    severity = SelectField("Severity", choices=[("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")],
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
