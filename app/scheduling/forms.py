"""Scheduling forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.forms import choices
from app.scheduling.models import ExceptionKind, VisitMode

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class BookingForm(FlaskForm):
    doctor_id = HiddenField(validators=[InputRequired()])
    starts_at = HiddenField(validators=[InputRequired()])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])
    mode = RadioField("How would you like to see the doctor?",
                      choices=choices([(VisitMode.IN_PERSON.value, "At the clinic"), (VisitMode.VIDEO.value, "By video")]),
                      default=VisitMode.IN_PERSON.value, validators=[InputRequired("Choose how.")])
    reason = TextAreaField("Reason for the visit (optional)", validators=[Optional(), Length(max=500)])


class MoveForm(FlaskForm):
    starts_at = HiddenField(validators=[InputRequired()])
    doctor_id = HiddenField(validators=[InputRequired()])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])
    reason = StringField("Why is it moving?", validators=[Optional(), Length(max=200)])


class CancelForm(FlaskForm):
    reason = StringField("Reason (the patient is told)", validators=[Optional(), Length(max=200)])


class WeeklyHoursForm(FlaskForm):
    weekday = SelectField("Day", choices=choices([(str(i), d) for i, d in enumerate(WEEKDAYS)]), validators=[InputRequired()])
    start = TimeField("From", validators=[Optional()])
    end = TimeField("To", validators=[Optional()])
    slot_minutes = IntegerField("Slot length (minutes)", default=15,
                                validators=[Optional(), NumberRange(min=5, max=240, message="From 5 to 240 minutes.")])
    break_start = TimeField("Break from", validators=[Optional()])
    break_end = TimeField("Break to", validators=[Optional()])


class ExceptionForm(FlaskForm):
    kind = SelectField("What", choices=choices([(ExceptionKind.LEAVE.value, "Away (leave, closed)"),
                                        (ExceptionKind.EXTRA.value, "Extra hours")]), validators=[InputRequired()])
    first_day = DateField("From date", validators=[InputRequired("Choose a date.")])
    last_day = DateField("To date (optional)", validators=[Optional()])
    # Shown on the page beside the weekly form, whose fields have the same names: ids of their own.
    start = TimeField("From time (optional: whole day)", id="exception_start", validators=[Optional()])
    end = TimeField("To time", id="exception_end", validators=[Optional()])
    slot_minutes = IntegerField("Slot length for extra hours", id="exception_slot_minutes",
                                validators=[Optional(), NumberRange(min=5, max=240)])
    note = StringField("Note", validators=[Optional(), Length(max=120)])
