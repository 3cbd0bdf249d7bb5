"""Lab forms: the doctor's order, the technician's sample id and rejection, the admin's test."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import choices, fits
from app.labs.models import NOTE_MAX, LabAnalyte, LabTest, RejectReason, SampleType, Urgency
from app.labs.services import TestInput


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LabOrderForm(FlaskForm):
    test_ids = CheckboxesField(_l("Tests"), coerce=int)
    urgency = RadioField(_l("Urgency"), default=Urgency.ROUTINE.value,
                         choices=choices([(u.value, u.label) for u in Urgency]),
                         validators=[InputRequired(_l("Choose routine or urgent."))])
    site_id = SelectField(_l("Lab"), coerce=int, validators=[InputRequired(_l("Choose a lab from the list."))])
    note = TextAreaField(_l("Note for the lab (clinical question, relevant history)"), filters=[_strip], validators=[
        Optional(), Length(max=NOTE_MAX, message=_l("Use at most %(max)d characters."))])

    def with_choices(self, *, tests, labs) -> "LabOrderForm":
        self.test_ids.choices = choices([(t.id, t.name) for t in tests])
        self.site_id.choices = choices([(s.id, s.name) for s in labs])
        return self


class SampleFindForm(FlaskForm):
    code = StringField(_l("Sample id"), filters=[_strip], validators=[
        InputRequired(_l("Type or scan the sample id on the label.")), Length(max=20)])


class RejectForm(FlaskForm):
    reason = SelectField(_l("Why the sample cannot be used"), choices=choices([(r.value, r.label) for r in RejectReason]),
                         validators=[InputRequired(_l("Choose why the sample cannot be used."))])
    note = StringField(_l("Note"), filters=[_strip], validators=[
        Optional(), Length(max=NOTE_MAX, message=_l("Use at most %(max)d characters."))])


class LabTestForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[InputRequired(_l("This cannot be empty.")),
                                                                 fits(LabTest.name)])
    sample_type = SelectField(_l("Sample"), choices=choices([(s.value, s.label) for s in SampleType]),
                              validators=[InputRequired()])
    fasting_hours = IntegerField(_l("Fasting before the sample (hours; empty: none)"), validators=[
        Optional(), NumberRange(min=1, max=24, message=_l("Enter from 1 to 24 hours, or leave it empty."))])
    preparation = StringField(_l("What the patient does before the sample"), filters=[_strip],
                              validators=[Optional(), fits(LabTest.preparation)])
    price = DecimalField(_l("Price"), places=2, validators=[
        InputRequired(_l("Enter the price (0 if free).")),
        NumberRange(min=0, max=Decimal("1000000"), message=_l("Enter a price from 0 to %(max)s."))])
    turnaround_minutes = IntegerField(_l("Target turnaround (minutes)"), validators=[
        InputRequired(_l("Enter from 1 minute to 30 days, in minutes.")),
        NumberRange(min=1, max=60 * 24 * 30, message=_l("Enter from 1 minute to 30 days, in minutes."))])
    active = BooleanField(_l("Doctors can order it"), default=True)

    @classmethod
    def of(cls, test: LabTest) -> "LabTestForm":
        return cls(formdata=None, obj=test, price=Decimal(test.price_cents) / 100)

    def values(self) -> TestInput:
        return TestInput(name=self.name.data, sample_type=self.sample_type.data, fasting_hours=self.fasting_hours.data,
                         preparation=self.preparation.data, price_cents=int((self.price.data * 100).to_integral_value()),
                         turnaround_minutes=self.turnaround_minutes.data, active=bool(self.active.data))


class ResultsForm(FlaskForm):
    """The results' comment (and, for an amendment, why); each analyte's value is its own field,
    named by results.field_name, read from the request with the rest."""

    comment = TextAreaField(_l("Comment for the doctor (optional)"), filters=[_strip], validators=[
        Optional(), Length(max=500, message=_l("Use at most %(max)d characters."))])
    reason = StringField(_l("Why they are amended (kept with the history)"), filters=[_strip], validators=[
        Optional(), Length(max=300, message=_l("Use at most %(max)d characters."))])


class AnalyteForm(FlaskForm):
    unit = StringField(_l("Unit"), filters=[_strip], validators=[Optional(), fits(LabAnalyte.unit)])
    critical_low = DecimalField(_l("Critical below (empty: none)"), places=3, validators=[
        Optional(), NumberRange(min=Decimal("-1000000"), max=Decimal("1000000"), message=_l("Enter a number."))])
    critical_high = DecimalField(_l("Critical above (empty: none)"), places=3, validators=[
        Optional(), NumberRange(min=Decimal("-1000000"), max=Decimal("1000000"), message=_l("Enter a number."))])
    ranges = TextAreaField(_l("Reference ranges, one a line: female, male or any; ages in years; the range"),
                           filters=[_strip], validators=[InputRequired(_l("Give at least one range.")),
                                                         Length(max=1000)])

    @staticmethod
    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)


class AttachmentForm(FlaskForm):
    file = FileField(_l("The report as a PDF"), validators=[FileRequired(_l("Choose a file."))])
