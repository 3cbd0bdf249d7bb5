"""Scheduling forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
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

WEEKDAYS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday")]


class BookingForm(FlaskForm):
    doctor_id = HiddenField(validators=[InputRequired()])
    starts_at = HiddenField(validators=[InputRequired()])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])
    mode = RadioField(_l("How would you like to see the doctor?"),
                      choices=choices([(VisitMode.IN_PERSON.value, _l("At the clinic")),
                                       (VisitMode.VIDEO.value, _l("By video"))]),
                      default=VisitMode.IN_PERSON.value, validators=[InputRequired(_l("Choose how."))])
    reason = TextAreaField(_l("Reason for the visit (optional)"), validators=[Optional(), Length(max=500)])


class MoveForm(FlaskForm):
    starts_at = HiddenField(validators=[InputRequired()])
    doctor_id = HiddenField(validators=[InputRequired()])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])
    # Optional: a move from an older page (no choice shown) keeps the appointment's way of meeting.
    mode = RadioField(_l("How would you like to see the doctor?"),
                      choices=choices([(VisitMode.IN_PERSON.value, _l("At the clinic")),
                                       (VisitMode.VIDEO.value, _l("By video"))]), validators=[Optional()])
    reason = StringField(_l("Why is it moving?"), validators=[Optional(), Length(max=200)])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (the patient is told)"), validators=[Optional(), Length(max=200)])


class WeeklyHoursForm(FlaskForm):
    weekday = SelectField(_l("Day"), choices=choices([(str(i), d) for i, d in enumerate(WEEKDAYS)]), validators=[InputRequired()])
    start = TimeField(_l("From"), validators=[Optional()])
    end = TimeField(_l("To"), validators=[Optional()])
    slot_minutes = IntegerField(_l("Slot length (minutes)"), default=15,
                                validators=[Optional(), NumberRange(min=5, max=240, message=_l("From 5 to 240 minutes."))])
    break_start = TimeField(_l("Break from"), validators=[Optional()])
    break_end = TimeField(_l("Break to"), validators=[Optional()])


class ExceptionForm(FlaskForm):
    kind = SelectField(_l("What"), choices=choices([(ExceptionKind.LEAVE.value, _l("Away (leave, closed)")),
                                        (ExceptionKind.EXTRA.value, _l("Extra hours"))]), validators=[InputRequired()])
    first_day = DateField(_l("From date"), validators=[InputRequired(_l("Choose a date."))])
    last_day = DateField(_l("To date (optional)"), validators=[Optional()])
    # Shown on the page beside the weekly form, whose fields have the same names: ids of their own.
    start = TimeField(_l("From time (optional: whole day)"), id="exception_start", validators=[Optional()])
    end = TimeField(_l("To time"), id="exception_end", validators=[Optional()])
    slot_minutes = IntegerField(_l("Slot length for extra hours"), id="exception_slot_minutes",
                                validators=[Optional(), NumberRange(min=5, max=240)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=120)])
