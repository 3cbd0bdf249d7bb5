"""The room's forms: the chat (sent over the room's socket with JavaScript, posted as a form without it)
and the minutes a visit continued by phone lasted."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from app.consultations.models import MESSAGE_MAX, ChatMessage
from app.core.forms import fits


class ChatForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[
        DataRequired(message=_l("Write a message first.")),
        Length(max=MESSAGE_MAX, message=_l("Use at most %(max)d characters."))])
    # A fresh id per rendered form: the same form posted twice (a double tap, a retry) is one message.
    client_id = HiddenField(validators=[DataRequired(), fits(ChatMessage.client_id)])


class PhoneMinutesForm(FlaskForm):
    # Digits here; the range (MINUTES_MIN..MINUTES_MAX) is the service's rule, said beside the field too.
    minutes = StringField(_l("Minutes the phone call lasted"), validators=[
        DataRequired(message=_l("Enter the minutes the call lasted.")),
        Length(max=8, message=_l("Enter the minutes as a number, like 12.")),
        Regexp(r"^\s*[0-9]{1,4}\s*$", message=_l("Enter the minutes as a number, like 12."))])
