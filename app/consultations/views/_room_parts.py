"""What the room page shows besides the call and the chat, for both the room's own views and the
panel's: the doctor's side panel (the patient's summary and the visit's note) and the file form."""
from __future__ import annotations

import secrets

from app.consultations import chat_files, panel
from app.consultations.access import Member
from app.consultations.forms import ChatFileForm, RoomNoteForm
from app.consultations.services import Room
from app.core.actor import Actor


def file_form_fresh(form: ChatFileForm | None = None) -> ChatFileForm:
    form = form or ChatFileForm(formdata=None)
    form.file_client_id.data = secrets.token_urlsafe(16)
    return form


def room_parts(*, actor: Actor, room: Room, note_form: RoomNoteForm | None = None,
               file_form: ChatFileForm | None = None) -> dict:
    """The template context of the panel (the doctor's page only: the patient's costs nothing) and
    of the file form. The summary is read (and audited) only while the patient is in the call."""
    parts = {"file_form": file_form_fresh(file_form), "panel": None,
             "file_url": chat_files.file_url_for(room.member, room.appointment.patient_id)}
    if room.member == Member.DOCTOR and room.is_open and not room.is_over:
        parts["panel"] = panel_context(actor=actor, room=room, note_form=note_form)
    return parts


def panel_context(*, actor: Actor, room: Room, note_form: RoomNoteForm | None = None, saved: bool = False) -> dict:
    summary = panel.panel_summary_read(actor=actor, room=room)
    # A note refused (say, the visit ended as it was sent) is shown again with what was typed, summary or not.
    return {"summary": summary, "note_form": note_form or RoomNoteForm(formdata=None), "saved": saved,
            "note_shown": summary is not None or note_form is not None}
