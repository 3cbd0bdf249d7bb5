"""The room's forms: the chat (sent over the room's socket with JavaScript, posted as a form without
it), a file shared in the chat, the doctor's note of the visit and the minutes a visit continued by phone lasted."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from app.consultations.models import MESSAGE_MAX, ChatMessage
from app.core.forms import fits
from app.records.forms import DOCUMENT_ACCEPT, NoteForm


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


class RoomNoteForm(NoteForm):
    """The visit's SOAP note in the doctor's side panel: the chart's note form, its visit this one."""

    appointment_id = None


class ChatFileForm(FlaskForm):
    """A PDF or a photo shared in the chat: posted as a plain multipart form, with or without JavaScript."""

    file = FileField(_l("Share a file: a PDF or a photo"), validators=[FileRequired(_l("Choose a file."))],
                     render_kw={"accept": DOCUMENT_ACCEPT})
    # As the chat's: the same form posted twice (a double tap, a retry) shares the file once.
    file_client_id = HiddenField(validators=[DataRequired(), fits(ChatMessage.client_id)])
