"""The room's chat form: sent over the room's socket with JavaScript, posted as a form without it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.consultations.models import MESSAGE_MAX, ChatMessage
from app.core.forms import fits


class ChatForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[
        DataRequired(message=_l("Write a message first.")),
        Length(max=MESSAGE_MAX, message=_l("Use at most %(max)d characters."))])
    # A fresh id per rendered form: the same form posted twice (a double tap, a retry) is one message.
    client_id = HiddenField(validators=[DataRequired(), fits(ChatMessage.client_id)])
