"""Documents on the chart: a PDF or an image a doctor, or the patient, adds to the record.

A document is a chart entry of kind "document" (so amending its title, striking it out as entered in
error, its history, the access matrix and the FHIR export are the entries' own); its content, encrypted
like any entry's, holds the title, an optional note and the file it names: the key of the encrypted
file in the storage every process reaches (app/core/files.py), its type and size. The type is the
one the bytes show (app/core/filetypes.py), never the name or the type the browser sent.

Reading the file goes through the gate as a read of that document ("document.open"), audited with
its purpose like every chart read.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from app.audit.services import audit_access
from app.core import files, filetypes
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.core.uploads import size_label
from app.extensions import db
from app.records.access import ChartPart
from app.records.models import ClinicalEntry, EntryKind
from app.records.services import _entry_to_change, _gate, _validate, patient_get

OPEN_ACTION = "document.open"


def document_max_bytes() -> int:
    return current_app.config["DOCUMENT_MAX_BYTES"]


def _checked_file(data: bytes) -> filetypes.FileType:
    if not data:
        raise DomainError(_("Choose a file."), field="file")
    if len(data) > document_max_bytes():
        raise DomainError(_("This file is %(size)s; a document can be at most %(max)s. Choose a smaller one.",
                            size=size_label(len(data)), max=size_label(document_max_bytes())), field="file")
    found = filetypes.sniff(data)
    if found is None:
        raise DomainError(_("Only PDF files and photos (JPEG, PNG or WebP) can be added. This file is neither, "
                            "whatever its name says."), field="file")
    return found


def document_add(*, actor: Actor, patient_id: int, title: str, note: str | None, data: bytes,
                 purpose: str | None = None, recorded_by_id: int | None = None) -> ClinicalEntry:
    """Add a document to the chart: the gate first (nothing is stored for someone it refuses), then
    the file's type from its bytes and its size, then the file, encrypted, and its entry. (A system
    actor importing documents names who added them.)"""
    if recorded_by_id not in (None, actor.user_id) and not actor.is_system:
        raise ValueError("only a system actor records documents on someone else's behalf")
    patient_get(patient_id)
    action = f"{EntryKind.DOCUMENT.value}.create"
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=ChartPart.DOCUMENT, write=True,
                     add=True, purpose=purpose)
    content = _validate(EntryKind.DOCUMENT, {"title": title, "note": note, "file_key": None,
                                             "content_type": None, "size": None})
    found = _checked_file(data)
    content.update(file_key=files.store(data, content_type=found.content_type), content_type=found.content_type,
                   size=len(data))
    entry = ClinicalEntry(patient_id=patient_id, kind=EntryKind.DOCUMENT.value, content=content,
                          recorded_by_id=actor.user_id if recorded_by_id is None else recorded_by_id)
    db.session.add(entry)
    db.session.flush()
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry


def document_open(*, actor: Actor, patient_id: int, entry_id: int,
                  purpose: str | None = None) -> tuple[ClinicalEntry, bytes]:
    """A document and its file's bytes: a read of that document, audited as "document.open"."""
    entry, decision, _action = _entry_to_change(actor=actor, patient_id=patient_id, entry_id=entry_id,
                                                verb="open", write=False, purpose=purpose)
    if entry.kind != EntryKind.DOCUMENT.value:
        raise NotFound(_("No such document in this chart."))
    data = files.load(entry.content["file_key"])
    audit_access(actor=actor, patient_id=patient_id, action=OPEN_ACTION, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry, data


def file_type_of(entry: ClinicalEntry) -> filetypes.FileType:
    return filetypes.file_type(entry.content["content_type"])
