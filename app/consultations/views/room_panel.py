"""The room's additions beside the call: the doctor's side panel (the patient's summary, the visit's
SOAP note) and a file shared in the chat. Each works as a plain form (a 303 back to the room, or the
room again with the refusal beside the field) and, with htmx, without leaving the call (the panel's
part or the file form alone). Anyone but the room's members: 404, as the room itself.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _

from app.consultations import chat_files, panel, services
from app.consultations.access import Member
from app.consultations.forms import ChatFileForm, RoomNoteForm
from app.consultations.views._room_parts import file_form_fresh, panel_context
from app.consultations.views.room import _page
from app.core.errors import NotFound
from app.core.forms import refusal_beside
from app.core.htmx import is_htmx_fragment_request, render_form
from app.core.policies import signed_in
from app.core.request_actor import current_actor
from app.core.uploads import accepts_upload
from app.records import documents
from app.records.forms import form_content

bp = Blueprint("visit_panel", __name__)


def _doctors_room(token: str) -> services.Room:
    room = services.room_enter_open(actor=current_actor(), token=token)
    if room.member != Member.DOCTOR:
        raise NotFound(_("No such video visit."))
    return room


@bp.route("/visit/<token>/panel")
@signed_in
def doctor_panel(token: str):
    """The panel alone, for htmx once the patient is let in (the page had no summary to show yet)."""
    room = _doctors_room(token)
    if not is_htmx_fragment_request():
        return redirect(url_for("visit.room", token=token, _anchor="doctor-panel"), code=303)
    return render_form("consultations/_doctor_panel.html", room=room,
                       panel=panel_context(actor=current_actor(), room=room))


@bp.route("/visit/<token>/note", methods=["POST"])
@signed_in
def visit_note(token: str):
    """The visit's SOAP note, saved to the chart during the call."""
    actor, room = current_actor(), _doctors_room(token)
    form = RoomNoteForm()
    saved = False
    if form.validate():
        with refusal_beside(form):
            panel.visit_note_add(actor=actor, room=room, content=form_content(form))
            saved = True
    if not is_htmx_fragment_request():
        if saved:
            flash(_("The note is saved in the chart."), "success")
            return redirect(url_for("visit.room", token=token, _anchor="doctor-panel"), code=303)
        return _page(room, status=422, note_form=form)
    return render_form("consultations/_visit_note.html", status=200 if saved else 422, room=room,
                       note_form=RoomNoteForm(formdata=None) if saved else form, saved=saved)


@bp.route("/visit/<token>/file", methods=["POST"])
@accepts_upload(documents.document_max_bytes)
@signed_in
def chat_file(token: str):
    """A file shared in the chat: the other member sees its message live (the room's socket); this
    page gets a fresh form (htmx) or the room again (without JavaScript)."""
    actor = current_actor()
    room = services.room_enter_open(actor=actor, token=token)
    form = ChatFileForm()
    shared = False
    if form.validate():
        with refusal_beside(form):
            upload = form.file.data
            chat_files.chat_file_share(actor=actor, consultation_id=room.consultation.id,
                                       client_id=form.file_client_id.data, file_name=upload.filename,
                                       data=upload.read(documents.document_max_bytes() + 1))
            shared = True
    if not is_htmx_fragment_request():
        if shared:
            return redirect(url_for("visit.room", token=token) + "#chat", code=303)
        return _page(room, status=422, file_form=form)
    return render_form("consultations/_chat_file.html", status=200 if shared else 422, room=room,
                       file_form=file_form_fresh(None if shared else form))
