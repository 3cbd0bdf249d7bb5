"""A file shared in the room's chat: a PDF or a photo either member attaches, which becomes a
document on the patient's chart (records.documents: type from the bytes, size limit, encrypted, the
gate and its audit) and a chat message that links to it.

The patient adds it under their own document rules ("self": they may add documents to their own
chart); the doctor under the room's purpose ("consultation"), which holds while the patient is in
the call. Each member opens it through the chart's own document pages, a read through the gate.
"""
from __future__ import annotations

from typing import Callable

from flask import url_for
from flask_babel import gettext as _

from app.consultations import access, services
from app.consultations.access import Member
from app.consultations.models import ChatMessage
from app.core.actor import Actor
from app.core.errors import DomainError
from app.records import documents
from app.records.models import DOCUMENT_TITLE_MAX


def shared_title(file_name: str | None) -> str:
    """The document's title: the file's name as the sender knew it, without its extension (which is
    decided by the bytes, not the name); a plain phrase when the name says nothing."""
    name = " ".join((file_name or "").replace("\\", "/").rsplit("/", 1)[-1].split())
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return stem[:DOCUMENT_TITLE_MAX] or _("File shared in the video visit")


def chat_file_share(*, actor: Actor, consultation_id: int, client_id: str, file_name: str | None,
                    data: bytes) -> tuple[ChatMessage, bool]:
    """Add the file to the patient's chart and say so in the chat, in the room's order. The same
    `client_id` again (the same form posted twice) returns the first message: (message, made now?).
    A file refused (not a PDF or photo, too large, empty) is a DomainError on the field "file"."""
    client_id = services.chat_client_id_clean(client_id)
    consultation, member = services.consultation_for(actor, consultation_id, lock=True)
    if not consultation.appointment.is_active:
        raise DomainError(_("This video visit is over."))
    existing = services.chat_message_sent(consultation, client_id)
    if existing is not None:
        return existing, False
    purpose = None
    if member == Member.DOCTOR:
        if consultation.admitted_at is None:
            raise DomainError(_("You can share a file once the patient is in the call."), field="file")
        purpose = access.PURPOSE
    title = shared_title(file_name)
    entry = documents.document_add(actor=actor, patient_id=consultation.appointment.patient_id, title=title,
                                   note=None, data=data, purpose=purpose)
    message = services.chat_message_append(actor=actor, consultation=consultation, client_id=client_id, body=title,
                                           document_entry_id=entry.id)
    return message, True


def file_url_for(member: Member, patient_id: int) -> Callable[[int], str]:
    """Where this member opens a shared file: their own portal's page for the document (the gate
    reads it: the patient's own record, the doctor's chart of the patient in their care)."""
    if member == Member.PATIENT:
        return lambda entry_id: url_for("patient.records.document_view", entry_id=entry_id)
    return lambda entry_id: url_for("doctor.records.document_view", patient_id=patient_id, entry_id=entry_id)
