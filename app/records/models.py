"""Patients (plain, indexed identifiers) and their clinical entries (encrypted)."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.core.types import BlindIndex, EncryptedJSON, EncryptedText


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    given_name: Mapped[str] = mapped_column(String(60))
    family_name: Mapped[str] = mapped_column(String(60))
    # lower-cased "given family" for prefix search at the desk
    name_search: Mapped[str] = mapped_column(String(121), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(12))
    # National ID: sensitive, so encrypted, and found by exact match through its blind index.
    national_id: Mapped[str | None] = mapped_column(EncryptedText)
    national_id_index: Mapped[str | None] = mapped_column(BlindIndex, index=True, unique=True)
    history: Mapped[str | None] = mapped_column(EncryptedText)  # free-text past history
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when an admin merged this record into another (app/records/merge.py): it is then found
    # by nobody's search and its page points to the kept record.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)

    entries: Mapped[list["ClinicalEntry"]] = relationship(back_populates="patient", order_by="ClinicalEntry.recorded_at.desc()")

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def age(self) -> int | None:
        if self.date_of_birth is None:
            return None
        today = dt.date.today()
        dob = self.date_of_birth
        return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


class EntryKind(str, enum.Enum):
    ALLERGY = "allergy"
    PROBLEM = "problem"
    MEDICATION = "medication"
    VITALS = "vitals"
    NOTE = "note"
    DOCUMENT = "document"  # an uploaded PDF or image: its content names the stored file (see DOCUMENT_FILE_FIELDS)

    @property
    def label(self) -> str:
        return {"allergy": _l("Allergies"), "problem": _l("Problems"), "medication": _l("Medications"),
                "vitals": _l("Vitals"), "note": _l("Notes"), "document": _l("Documents")}[self.value]


# A consultation note's parts (SOAP); a note written before them has one "text".
SOAP_FIELDS = ("subjective", "objective", "assessment", "plan")


class EntryStatus(str, enum.Enum):
    ACTIVE = "active"
    RESOLVED = "resolved"
    ENTERED_IN_ERROR = "entered_in_error"


# Things that end (an allergy outgrown, a problem cured, a medicine stopped); a reading or a note does not.
RESOLVABLE_KINDS = frozenset({EntryKind.ALLERGY, EntryKind.PROBLEM, EntryKind.MEDICATION})


class ClinicalEntry(Base):
    """One item of a chart. What it says lives only in `content`, encrypted; the plain columns say
    what kind of item it is and when, which the chart needs to sort and filter without decrypting."""

    __tablename__ = "clinical_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=EntryStatus.ACTIVE.value)
    content: Mapped[dict] = mapped_column(EncryptedJSON)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A coded diagnosis (a problem's ICD-10 code), findable without decrypting `content`: the blind
    # index of the code ("J45.9"), and of its three-character category ("J45"), to find the patients
    # with a diagnosis by the code or by its whole category. Set by the records service only.
    code_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
    code_group_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)

    patient: Mapped[Patient] = relationship(back_populates="entries")
    recorded_by = relationship("User")
    versions: Mapped[list["ClinicalEntryVersion"]] = relationship(
        back_populates="entry", order_by="ClinicalEntryVersion.number.desc()", passive_deletes=True)

    # Filled by the chart's summary and paging reads, which count versions instead of loading them.
    counted_versions: Mapped[int | None] = query_expression()

    @property
    def version_count(self) -> int:
        """How many versions its history shows (one for an entry that never changed)."""
        counted = self.counted_versions if self.counted_versions is not None else len(self.versions)
        return counted or 1

    @property
    def latest_version(self) -> "ClinicalEntryVersion | None":
        return self.versions[0] if self.versions else None

    def may_become(self, status: EntryStatus) -> bool:
        """The allowed changes: an active entry is resolved (if its kind can end) or struck out as
        entered in error; nothing else moves."""
        if self.status != EntryStatus.ACTIVE.value:
            return False
        return status == EntryStatus.ENTERED_IN_ERROR or (
            status == EntryStatus.RESOLVED and EntryKind(self.kind) in RESOLVABLE_KINDS)

    __table_args__ = (Index("ix_clinical_entries_patient_kind", "patient_id", "kind", "recorded_at"),)


REASON_MAX = 1000  # why an entry was amended or struck out

# A document entry's content: what people wrote about it (title, note: amendable) and the file it
# names (set once, when uploaded, by records.documents: never from a form, never amended).
DOCUMENT_TITLE_MAX, DOCUMENT_NOTE_MAX = 200, 1000
DOCUMENT_FILE_FIELDS = ("file_key", "content_type", "size")


class ClinicalEntryVersion(Base):
    """Append-only history of an entry: each amendment or change of status adds a row holding the
    entry as it then stood, who changed it, when and why. The entry row keeps the current state (so
    the chart, the trends and the export read one row per entry, unchanged); version 1, the entry as
    first recorded, is copied in the first time it changes, so history is complete without a row per
    entry that never changed."""

    __tablename__ = "clinical_entry_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("clinical_entries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    content: Mapped[dict] = mapped_column(EncryptedJSON)
    status: Mapped[str] = mapped_column(String(20))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Free text written about a patient: clinical until proven otherwise, so encrypted.
    reason: Mapped[str | None] = mapped_column(EncryptedText)

    entry: Mapped[ClinicalEntry] = relationship(back_populates="versions")
    changed_by = relationship("User")

    __table_args__ = (UniqueConstraint("entry_id", "number", name="uq_clinical_entry_versions_entry_number"),)


class Icd10Code(Base):
    """The ICD-10 codes a diagnosis is chosen from (reference data, filled by migration
    0010_clinical_coding from app/records/icd10_data.py; not clinical, so plain)."""

    __tablename__ = "icd10_codes"
    __table_args__ = {"info": {"reference_data": True}}  # seeded by a migration: tests keep its rows

    code: Mapped[str] = mapped_column(String(7), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    # The title lower-cased, punctuation as spaces, for the search as one types words of it.
    title_search: Mapped[str] = mapped_column(String(255))

    @property
    def label(self) -> str:
        return f"{self.code} {self.title}"


class PatientMerge(Base):
    """An admin's merge of one record (`merged_id`) into another (`kept_id`), with exactly what
    moved ({table: [row ids]}, and the sign-in account under "users"), so an undo moves back exactly
    that and nothing that was added to the kept record since."""

    __tablename__ = "patient_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    moved: Mapped[dict] = mapped_column(JSON)
    # Why the admin judged them one person: free text about patients, so encrypted.
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    kept: Mapped[Patient] = relationship(foreign_keys=[kept_id])
    merged: Mapped[Patient] = relationship(foreign_keys=[merged_id])


class DuplicateDismissal(Base):
    """An admin's judgement that two records the duplicates rule pairs are two people (a mother and
    her child sharing a phone): the pair leaves the duplicates page until "show again"."""

    __tablename__ = "duplicate_dismissals"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))  # the lower id
    second_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dismissed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    first: Mapped[Patient] = relationship(foreign_keys=[first_id])
    second: Mapped[Patient] = relationship(foreign_keys=[second_id])

    __table_args__ = (UniqueConstraint("first_id", "second_id", name="uq_duplicate_dismissals_pair"),)
