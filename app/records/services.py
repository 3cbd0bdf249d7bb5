"""Patients and their charts. The records service is the gate to clinical content: every read or
write asks records/access.py first, a refusal is audited as denied and raised (ChartAccessDenied,
answered 403), and what is allowed is audited here, once, with the purpose it was allowed for, so
no view and no other domain can show or change a chart without leaving a true trace."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload, with_expression

from app.accounts.models import Role
from app.accounts.services import patient_account_register
from app.audit.services import audit_access, audit_denied
from app.core.actor import Actor
from app.core.clock import clock
from app.core.db import column_length
from app.core.errors import DomainError, NotFound
from app.core.phones import phone_clean
from app.core.security import DB_INT_MAX
from app.extensions import db
from app.records import access, duplicates, icd10, visits
from app.records.access import AccessDecision, ChartPart
from app.records.models import (
    DOCUMENT_FILE_FIELDS,
    DOCUMENT_NOTE_MAX,
    DOCUMENT_TITLE_MAX,
    REASON_MAX,
    RESOLVABLE_KINDS,
    SOAP_FIELDS,
    ClinicalEntry,
    ClinicalEntryVersion,
    EntryKind,
    EntryStatus,
    Icd10Code,
    Patient,
)
from app.records.trends import SERIES_LIMIT
from app.records.vitals import SIGNS, VITAL_RANGES


def mrn_for(patient_id: int) -> str:
    """A medical record number with a check digit, so a mistyped MRN at the desk is caught."""
    digits = f"{patient_id:07d}"
    # Luhn: every single mistyped digit (and most swapped neighbours) changes the check digit.
    doubled = [(int(d) * 2 if i % 2 == 0 else int(d)) for i, d in enumerate(reversed(digits))]
    check = (10 - sum(n - 9 if n > 9 else n for n in doubled) % 10) % 10
    return f"MA{digits}{check}"


def split_name(full_name: str) -> tuple[str, str]:
    parts = full_name.strip().split()
    if len(parts) < 2:
        return parts[0] if parts else "", ""
    return " ".join(parts[:-1]), parts[-1]


def patient_create(*, given_name: str, family_name: str, phone: str | None = None,
                   date_of_birth: dt.date | None = None, sex: str | None = None, national_id: str | None = None,
                   user_id: int | None = None) -> Patient:
    given_name, family_name = given_name.strip(), family_name.strip()
    if not given_name:
        raise DomainError(_("Enter the patient's given name."), field="given_name")
    phone = phone_clean(phone)
    if date_of_birth and date_of_birth > dt.date.today():
        raise DomainError(_("The date of birth is in the future."), field="date_of_birth")
    if national_id:
        existing = db.session.execute(
            select(Patient.id).where(Patient.national_id_index == national_id)).scalar_one_or_none()
        if existing is not None:
            raise DomainError(_("A patient with this national ID is already registered."), field="national_id")
    patient = Patient(
        mrn=f"tmp-{uuid.uuid4().hex[:14]}", given_name=given_name, family_name=family_name,
        name_search=f"{given_name} {family_name}".casefold(), phone=phone,
        date_of_birth=date_of_birth, sex=sex, user_id=user_id,
        national_id=national_id or None, national_id_index=national_id or None,
    )
    db.session.add(patient)
    db.session.flush()
    patient.mrn = mrn_for(patient.id)
    db.session.flush()
    return patient


class LikelyDuplicates(DomainError):
    """The person may already have a record: `patients`, best first (app/records/duplicates.py)."""

    def __init__(self, patients: list[Patient], *, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.patients = patients


DUPLICATE_REASON_MAX = 300


def patient_register_at_desk(*, actor: Actor, given_name: str, family_name: str, phone: str | None = None,
                             date_of_birth: dt.date | None = None, sex: str | None = None,
                             national_id: str | None = None, despite_duplicates: str | None = None) -> Patient:
    """Register a walk-in, unless they may already have a record: then LikelyDuplicates, so the desk
    offers the existing record first. `despite_duplicates`: the desk's reason to register a new
    record all the same (required once duplicates were shown; audited on the new record)."""
    candidates = duplicates.likely_duplicates(given_name=given_name, family_name=family_name, phone=phone,
                                              date_of_birth=date_of_birth)
    reason = " ".join((despite_duplicates or "").split())[:DUPLICATE_REASON_MAX]
    if candidates and despite_duplicates is None:
        raise LikelyDuplicates(candidates, message=_("This person may already have a record."))
    if candidates and not reason:
        raise LikelyDuplicates(candidates, message=_("Say why this is a different person."), field="duplicate_reason")
    patient = patient_create(given_name=given_name, family_name=family_name, phone=phone,
                             date_of_birth=date_of_birth, sex=sex, national_id=national_id)
    if candidates:
        audit_access(actor=actor, patient_id=patient.id, action="patient.register_despite_duplicates",
                     reason="administration: " + reason,
                     target="patients:" + ",".join(str(p.id) for p in candidates))
    return patient


def patient_self_register(*, email: str, password: str, full_name: str, phone: str | None,
                          date_of_birth: dt.date | None = None, language: str = "en") -> Patient | None:
    """The new patient, or None when the email already had an account (its owner is emailed instead:
    the person at the form learns nothing about which emails have accounts).

    Always a record of its own, never linked to an existing one, and nothing here looks for
    duplicates, so the page, its timing and the emails are the same whether or not the clinic already
    holds a record with this name, birthday or phone. A likely duplicate is found by the same rule on
    the admin's duplicates page (duplicates.duplicate_pairs), where the clinic merges it."""
    given, family = split_name(full_name)
    if len(given) > column_length(Patient.given_name) or len(family) > column_length(Patient.family_name):
        raise DomainError(_("Our records hold up to %(given)s characters for the first names and %(family)s for "
                            "the family name: shorten it.", given=column_length(Patient.given_name),
                            family=column_length(Patient.family_name)), field="full_name")
    phone = phone_clean(phone)
    user = patient_account_register(email=email, password=password, full_name=full_name, phone=phone,
                                    language=language)
    if user is None:
        return None
    return patient_create(given_name=given, family_name=family, phone=phone, date_of_birth=date_of_birth,
                          user_id=user.id)


def patient_get(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(_("No such patient."))
    return patient


def patient_for_user(user_id: int) -> Patient | None:
    return db.session.execute(select(Patient).where(Patient.user_id == user_id)).scalar_one_or_none()


def patient_find_by_national_id(national_id: str) -> Patient | None:
    """Exact match on an encrypted value, through its blind index."""
    return db.session.execute(select(Patient).where(Patient.national_id_index == national_id)).scalar_one_or_none()


def _gate(*, actor: Actor, patient_id: int, action: str, part: ChartPart | frozenset[ChartPart] | None = None,
          write: bool = False, add: bool = False, purpose: str | None = None) -> AccessDecision:
    """Ask the access module; a refusal is audited as denied (on its own: the request's work rolls
    back) and raised."""
    decision = access.decide(actor=actor, patient_id=patient_id, part=part, write=write, add=add, purpose=purpose)
    if not decision.allowed:
        audit_denied(actor=actor, reason=decision.reason, patient_id=patient_id, target=action)
        raise access.ChartAccessDenied(decision)
    return decision


def clinical_access(*, actor: Actor, patient_id: int, part: ChartPart, action: str, target: str | None = None,
                    write: bool = False, purpose: str | None = None) -> AccessDecision:
    """The gate for clinical data another domain keeps (a prescription's items, a consultation's chat,
    a lab result): the same decision as that part of the chart, refused and audited the same way;
    what is allowed is audited as `action` on `target`."""
    patient_get(patient_id)
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=part, write=write, purpose=purpose)
    audit_access(actor=actor, patient_id=patient_id, action=action, target=target, reason=decision.reason)
    return decision


class Chart(dict):
    """A chart as the gate let it be read: {EntryKind: entries, newest first} for the kinds read,
    the past history when it was read, and the decision it was read under (`access`: its purpose,
    and the emergency grant it rests on, if any)."""

    def __init__(self, entries: dict, *, history: str | None, access: AccessDecision) -> None:
        super().__init__(entries)
        self.history = history
        self.access = access

    @property
    def allergies(self) -> list[ClinicalEntry] | None:
        """For the banner at the top of every chart page; None when allergies were not read (the
        banner then claims nothing)."""
        return self.get(EntryKind.ALLERGY)


def chart_read(*, actor: Actor, patient_id: int, part: ChartPart | None = None, purpose: str | None = None) -> Chart:
    """A patient's chart (`part`: one part of it), grouped by kind, newest first. Audited as a read
    ("chart.read", or "<part>.read") with the purpose it was allowed for."""
    action = "chart.read" if part is None else f"{part.value}.read"
    return _chart_read(actor=actor, patient_id=patient_id, part=part, purpose=purpose, action=action)


EXPORT_ACTION = "chart.export"


def chart_export(*, actor: Actor, patient_id: int, purpose: str | None = None) -> tuple[Patient, Chart]:
    """The whole chart to take away (the FHIR download): read through the same gate as the chart
    page, but audited as its own action, so the trail tells a copy that left the clinic from a look."""
    chart = _chart_read(actor=actor, patient_id=patient_id, part=None, purpose=purpose, action=EXPORT_ACTION)
    return patient_get(patient_id), chart


def _chart_read(*, actor: Actor, patient_id: int, part: ChartPart | None, purpose: str | None, action: str) -> Chart:
    patient = patient_get(patient_id)
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=part, purpose=purpose)
    kinds = list(EntryKind) if part is None else [kind for kind in EntryKind if kind.value == part.value]
    # Entries entered in error stay on the chart, struck through with their reason (the export leaves them out).
    query = select(ClinicalEntry).where(ClinicalEntry.patient_id == patient_id)
    if part is not None:
        query = query.where(ClinicalEntry.kind.in_([kind.value for kind in kinds]))
    entries = db.session.execute(
        query.order_by(ClinicalEntry.recorded_at.desc()).options(selectinload(ClinicalEntry.recorded_by),
                                                          selectinload(ClinicalEntry.versions))
    ).scalars().all() if kinds else []
    audit_access(actor=actor, patient_id=patient_id, action=action, reason=decision.reason)
    chart = Chart({kind: [] for kind in kinds}, access=decision,
                  history=patient.history if part in (None, ChartPart.HISTORY) else None)
    for entry in entries:
        chart[EntryKind(entry.kind)].append(entry)
    return chart


NOTE_VISITS_LOOKBACK = dt.timedelta(days=60)

SUMMARY_LATEST = 5  # per kind, the latest entries the chart's summary shows (besides every active one)
PAGE_SIZE = 20  # entries per page of one kind's list ("show older")


class ChartSummary(Chart):
    """What the chart page shows, read in one query instead of the whole chart: per kind, every
    active allergy, problem and medication (the allergy banner lists them all) and the latest
    SUMMARY_LATEST of the rest, newest first; `older[kind]`, the entry after which older ones are
    left for the kind's own list (None: nothing older); `trend_readings`, the latest SERIES_LIMIT
    vitals readings (entered in error left out), oldest first, for the trends."""

    def __init__(self, entries: dict, *, older: dict, trend_readings: list, history: str | None,
                 access: AccessDecision) -> None:
        super().__init__(entries, history=history, access=access)
        self.older = older
        self.trend_readings = trend_readings


def _pinned(entry_kind, entry_status):
    """An entry the chart always shows: an active allergy, problem or medication."""
    return and_(entry_kind.in_([kind.value for kind in RESOLVABLE_KINDS]), entry_status == EntryStatus.ACTIVE.value)


def _version_count():
    return (select(func.count(ClinicalEntryVersion.id)).where(ClinicalEntryVersion.entry_id == ClinicalEntry.id)
            .correlate(ClinicalEntry).scalar_subquery())


@functools.cache
def _summary_query(kinds: tuple[str, ...] | None = None):
    """The summary's one query, built once per set of kinds (None: every kind; a page view pays only
    for running it): per entry its rank among its kind's pinned or other entries, its rank among its
    kind's entries of the same status (the trends' latest readings) and how many others its kind has;
    the entries the page needs."""
    entries = ClinicalEntry.__table__.c
    pinned = _pinned(entries.kind, entries.status)
    newest_first = (entries.recorded_at.desc(), entries.id.desc())
    of_patient = entries.patient_id == bindparam("patient_id")
    if kinds is not None:
        of_patient = and_(of_patient, entries.kind.in_(kinds))
    ranked = select(
        entries.id, pinned.label("pinned"),
        func.row_number().over(partition_by=(entries.kind, case((pinned, 1), else_=0)),
                               order_by=newest_first).label("rank"),
        func.row_number().over(partition_by=(entries.kind, entries.status), order_by=newest_first).label("status_rank"),
        func.count().over(partition_by=(entries.kind, case((pinned, 1), else_=0))).label("of"),
    ).where(of_patient).subquery()
    is_reading = and_(ClinicalEntry.kind == EntryKind.VITALS.value, ClinicalEntry.status == EntryStatus.ACTIVE.value)
    return (select(ClinicalEntry, ranked.c.pinned, ranked.c.rank, ranked.c.status_rank, ranked.c.of)
            .join(ranked, ranked.c.id == ClinicalEntry.id)
            .where(or_(ranked.c.pinned, ranked.c.rank <= SUMMARY_LATEST,
                       and_(is_reading, ranked.c.status_rank <= SERIES_LIMIT)))
            .order_by(ClinicalEntry.recorded_at.desc(), ClinicalEntry.id.desc())
            .options(*_entry_options()))


def _entry_options():
    """Who recorded each entry (in the same query) and how many versions it has (counted, not loaded)."""
    return (joinedload(ClinicalEntry.recorded_by), with_expression(ClinicalEntry.counted_versions, _version_count()))


def chart_summary_read(*, actor: Actor, patient_id: int, purpose: str | None = None,
                       parts: frozenset[ChartPart] | None = None) -> ChartSummary:
    """The chart page's read: audited as the chart read it is ("chart.read"), but decrypting only
    what the page shows (see ChartSummary), in one query; versions are counted, not loaded.
    `parts`: only those parts of the chart (what a purpose may read, such as the video room's
    summary), asked of the gate and read together; None, the whole chart."""
    patient = patient_get(patient_id)
    decision = _gate(actor=actor, patient_id=patient_id, action="chart.read", part=parts, purpose=purpose)
    kinds = list(EntryKind) if parts is None else [kind for kind in EntryKind if ChartPart.of(kind) in parts]
    query = _summary_query(None if parts is None else tuple(sorted(kind.value for kind in kinds)))
    rows = db.session.execute(query, {"patient_id": patient_id}).all()
    audit_access(actor=actor, patient_id=patient_id, action="chart.read", reason=decision.reason)
    shown = {kind: [] for kind in kinds}
    older = dict.fromkeys(kinds)
    later = {kind: [] for kind in kinds}  # not pinned: shown after the pinned ones
    trend_readings = []
    for entry, is_pinned, rank, status_rank, of in rows:
        kind = EntryKind(entry.kind)
        if is_pinned:
            shown[kind].append(entry)
        elif rank <= SUMMARY_LATEST:
            later[kind].append(entry)
            if rank == SUMMARY_LATEST and of > SUMMARY_LATEST:
                older[kind] = entry
        if kind == EntryKind.VITALS and entry.status == EntryStatus.ACTIVE.value and status_rank <= SERIES_LIMIT:
            trend_readings.append(entry)
    history = patient.history if parts is None or ChartPart.HISTORY in parts else None
    return ChartSummary({kind: shown[kind] + later[kind] for kind in kinds}, older=older,
                        trend_readings=trend_readings[::-1], history=history, access=decision)


@dataclasses.dataclass
class EntriesPage:
    """One page of one kind's entries, newest first; `older`: the entry to continue after (None: the last page)."""
    kind: EntryKind
    entries: list
    older: ClinicalEntry | None


def chart_entries_read(*, actor: Actor, patient_id: int, kind: EntryKind, after: int | None = None,
                       purpose: str | None = None, page_size: int = PAGE_SIZE) -> EntriesPage:
    """One kind's entries a page at a time ("show older"): a read of that part of the chart, audited
    as "<kind>.read". Keyset paging on (recorded_at, id): `after` is the id of the last entry already
    shown. The first page (no `after`) lists every active allergy, problem or medication first, then
    the rest newest first; a later page, the rest older than `after` (the chart's summary shows the
    active ones already, and leaves off where the rest does)."""
    patient_get(patient_id)
    part = ChartPart.of(kind)
    action = f"{part.value}.read"
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=part, purpose=purpose)
    in_kind = (ClinicalEntry.patient_id == patient_id, ClinicalEntry.kind == kind.value)
    options = _entry_options()
    newest_first = (ClinicalEntry.recorded_at.desc(), ClinicalEntry.id.desc())
    pinned = []
    rest = select(ClinicalEntry).where(*in_kind, ~_pinned(ClinicalEntry.kind, ClinicalEntry.status))
    if after is None:
        pinned = list(db.session.execute(select(ClinicalEntry).where(*in_kind, _pinned(ClinicalEntry.kind,
                                                                                        ClinicalEntry.status))
                                         .order_by(*newest_first).options(*options)).scalars())
    else:
        mark = db.session.execute(select(ClinicalEntry.recorded_at, ClinicalEntry.id)
                                  .where(*in_kind, ClinicalEntry.id == after)).one_or_none()
        if mark is None:
            raise NotFound(_("No such entry in this chart."))
        rest = rest.where(or_(ClinicalEntry.recorded_at < mark.recorded_at,
                              and_(ClinicalEntry.recorded_at == mark.recorded_at, ClinicalEntry.id < mark.id)))
    found = list(db.session.execute(rest.order_by(*newest_first).limit(page_size + 1).options(*options)).scalars())
    audit_access(actor=actor, patient_id=patient_id, action=action, reason=decision.reason)
    more = len(found) > page_size
    found = found[:page_size]
    return EntriesPage(kind=kind, entries=pinned + found, older=found[-1] if more else None)


def _validate(kind: EntryKind, content: dict) -> dict:
    if kind == EntryKind.VITALS:
        clean = {}
        for name, value in content.items():
            if value in (None, ""):
                continue
            if name not in VITAL_RANGES:
                raise DomainError(_("Unknown measurement: %(name)s.", name=name))
            low, high = VITAL_RANGES[name]
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise DomainError(_("Enter a number."), field=name) from None
            if not low <= number <= high:  # NaN and infinities too: they compare false
                raise DomainError(_("Expected between %(low)s and %(high)s.", low=low, high=high), field=name)
            clean[name] = SIGNS[name].clean(number)
        if not clean:
            raise DomainError(_("Record at least one measurement."))
        return clean
    if kind == EntryKind.DOCUMENT:
        return _validate_document(content)
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in content.items()}
    clean = {k: v for k, v in clean.items() if v not in (None, "")}
    if kind == EntryKind.NOTE:
        return _validate_note(clean)
    if kind == EntryKind.PROBLEM:
        return _validate_problem(clean)
    if kind == EntryKind.ALLERGY:
        clean["verified"] = clean.get("verified") in (True, "verified")
    text_field = {"allergy": "substance", "medication": "drug"}[kind.value]
    if not clean.get(text_field):
        raise DomainError(_("This cannot be empty."), field=text_field)
    return clean


def _validate_note(clean: dict) -> dict:
    """A consultation note in SOAP form (or, written before SOAP, one text): at least one part."""
    note = {name: str(clean[name]) for name in (*SOAP_FIELDS, "text") if clean.get(name)}
    if not note:
        raise DomainError(_("Write at least one of subjective, objective, assessment or plan."), field="subjective")
    if clean.get("appointment_id"):
        note["appointment_id"] = clean["appointment_id"]
    return note


def _validate_problem(clean: dict) -> dict:
    """A condition named in words, or coded (ICD-10: the code and its title kept), or both."""
    problem = {name: clean[name] for name in ("condition", "onset", "notes") if clean.get(name)}
    if clean.get("code"):
        code = icd10.code_resolve(str(clean["code"]), field="code")
        problem.update(code=code.code, code_title=code.title)
        problem.setdefault("condition", code.title)
    if not problem.get("condition"):
        raise DomainError(_("Name the condition or choose its ICD-10 code."), field="condition")
    return problem


def _link_visit(content: dict, *, actor: Actor, patient_id: int, kept: int | None = None) -> dict:
    """A note's visit: an appointment of this patient (and, written by a doctor, with that doctor),
    stored with its date; `kept`, the visit the note already had, stays whoever amends it."""
    if "appointment_id" not in content:
        return content
    try:
        appointment_id = int(content["appointment_id"])
    except (TypeError, ValueError):
        appointment_id = None
    in_range = appointment_id is not None and 0 < appointment_id <= DB_INT_MAX
    visit = visits.visit_get(appointment_id) if in_range else None
    mine = visit is not None and (actor.is_system or visit.doctor_id == actor.user_id or visit.id == kept)
    if visit is None or visit.patient_id != patient_id or not mine:
        raise DomainError(_("Choose one of this patient's visits with you."), field="appointment_id")
    return {**content, "appointment_id": visit.id, "visit_date": visit.day.isoformat()}


def _index_code(entry: ClinicalEntry) -> None:
    """Keep the blind index of a problem's code in step with what it says now; none once struck out."""
    code = entry.content.get("code") if entry.kind == EntryKind.PROBLEM.value else None
    if entry.status == EntryStatus.ENTERED_IN_ERROR.value:
        code = None
    entry.code_index = code
    entry.code_group_index = icd10.category(code) if code else None


def note_visits(*, actor: Actor, patient_id: int) -> list[visits.Visit]:
    """The visits a doctor's note may belong to (theirs with this patient, recent or today's, latest
    first): appointments, not clinical content."""
    if actor.user_id is None:
        return []
    now = clock.now()
    return visits.visits_together(doctor_id=actor.user_id, patient_id=patient_id,
                                  since=now - NOTE_VISITS_LOOKBACK, until=now + dt.timedelta(days=1))


def _validate_document(content: dict) -> dict:
    """A document's title (required) and note; the file fields are kept as given (records.documents
    sets them at upload, entry_amend carries them over)."""
    title = " ".join(str(content.get("title") or "").split())
    note = str(content.get("note") or "").strip()
    if not title:
        raise DomainError(_("Give the document a title."), field="title")
    if len(title) > DOCUMENT_TITLE_MAX:
        raise DomainError(_("Write at most %(max)d characters.", max=DOCUMENT_TITLE_MAX), field="title")
    if len(note) > DOCUMENT_NOTE_MAX:
        raise DomainError(_("Write at most %(max)d characters.", max=DOCUMENT_NOTE_MAX), field="note")
    clean = {name: content[name] for name in DOCUMENT_FILE_FIELDS}
    clean["title"] = title
    if note:
        clean["note"] = note
    return clean


def entry_add(*, actor: Actor, patient_id: int, kind: EntryKind, content: dict, purpose: str | None = None,
              recorded_at: dt.datetime | None = None, recorded_by_id: int | None = None) -> ClinicalEntry:
    """Add an entry, recorded by the actor (a system actor importing entries names who wrote them).
    A document is added with records.documents.document_add, which stores its file."""
    if kind == EntryKind.DOCUMENT:
        raise ValueError("documents are added with records.documents.document_add")
    patient_get(patient_id)
    action = f"{kind.value}.create"
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=ChartPart.of(kind), write=True,
                     purpose=purpose)
    if recorded_by_id not in (None, actor.user_id) and not actor.is_system:
        raise ValueError("only a system actor records entries on someone else's behalf")
    content = _link_visit(_validate(kind, content), actor=actor, patient_id=patient_id)
    entry = ClinicalEntry(patient_id=patient_id, kind=kind.value, content=content,
                          recorded_by_id=actor.user_id if recorded_by_id is None else recorded_by_id)
    if recorded_at is not None:
        entry.recorded_at = recorded_at
    _index_code(entry)
    db.session.add(entry)
    db.session.flush()
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry


def _entry_to_change(*, actor: Actor, patient_id: int, entry_id: int, verb: str, write: bool,
                     purpose: str | None) -> tuple[ClinicalEntry, AccessDecision, str]:
    """The entry, the gate's decision and the action to audit. The gate is asked before "no such
    entry": who may not see this chart learns nothing about its entries."""
    patient_get(patient_id)
    entry = db.session.execute(
        select(ClinicalEntry).where(ClinicalEntry.id == entry_id, ClinicalEntry.patient_id == patient_id)
    ).scalar_one_or_none()
    part = ChartPart(entry.kind) if entry is not None else None
    action = f"{entry.kind if entry is not None else 'entry'}.{verb}"
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=part, write=write, purpose=purpose)
    if entry is None:
        raise NotFound(_("No such entry in this chart."))
    return entry, decision, action


def _clean_reason(reason: str | None, *, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if reason is None and required:
        raise DomainError(_("Say why."), field="reason")
    if reason is not None and len(reason) > REASON_MAX:
        raise DomainError(_("Write at most %(max)d characters.", max=REASON_MAX), field="reason")
    return reason


def _keep_original(entry: ClinicalEntry) -> None:
    """Version 1, the entry as first recorded, copied into its history before its first change."""
    if entry.versions:
        return
    db.session.add(ClinicalEntryVersion(entry=entry, number=1, content=dict(entry.content),
                                        status=entry.status, changed_by_id=entry.recorded_by_id,
                                        changed_at=entry.recorded_at))
    db.session.flush()
    db.session.expire(entry, ["versions"])


def _keep_version(*, entry: ClinicalEntry, actor: Actor, reason: str | None) -> None:
    """Append the entry as it now stands, who changed it and why. Versions are only ever added."""
    number = max(version.number for version in entry.versions) + 1
    db.session.add(ClinicalEntryVersion(entry=entry, number=number, content=dict(entry.content),
                                        status=entry.status, changed_by_id=actor.user_id, reason=reason))
    db.session.flush()
    db.session.expire(entry, ["versions"])


def entry_set_status(*, actor: Actor, patient_id: int, entry_id: int, status: EntryStatus,
                     reason: str | None = None, purpose: str | None = None) -> ClinicalEntry:
    """Resolve an entry, or strike it out as entered in error (which needs a reason). Nothing is
    deleted: the entry stays on the chart, struck through, and its history keeps who, when and why."""
    entry, decision, action = _entry_to_change(actor=actor, patient_id=patient_id, entry_id=entry_id,
                                               verb=status.value, write=True, purpose=purpose)
    if not entry.may_become(status):
        raise DomainError(_("This entry cannot be changed that way."))
    reason = _clean_reason(reason, required=status == EntryStatus.ENTERED_IN_ERROR)
    _keep_original(entry)
    entry.status = status.value
    _index_code(entry)
    _keep_version(entry=entry, actor=actor, reason=reason)
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry


def entry_amend(*, actor: Actor, patient_id: int, entry_id: int, content: dict, reason: str | None,
                purpose: str | None = None) -> ClinicalEntry:
    """Correct what an entry says. The entry shows the new content; every earlier version stays in
    its history with who changed it, when and why (the reason is required)."""
    entry, decision, action = _entry_to_change(actor=actor, patient_id=patient_id, entry_id=entry_id,
                                               verb="amend", write=True, purpose=purpose)
    if entry.status == EntryStatus.ENTERED_IN_ERROR.value:
        raise DomainError(_("An entry entered in error cannot be amended: add a new one."))
    if entry.kind == EntryKind.DOCUMENT.value:  # its title and note change; the file it names never does
        content = {**content, **{name: entry.content[name] for name in DOCUMENT_FILE_FIELDS}}
    content = _link_visit(_validate(EntryKind(entry.kind), content), actor=actor, patient_id=patient_id,
                          kept=entry.content.get("appointment_id"))
    reason = _clean_reason(reason, required=True)
    _keep_original(entry)
    entry.content = content
    _index_code(entry)
    _keep_version(entry=entry, actor=actor, reason=reason)
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry


def entry_get(*, actor: Actor, patient_id: int, entry_id: int, purpose: str | None = None) -> ClinicalEntry:
    """One entry, to show before changing it (the amend form, the "entered in error" confirmation):
    a read of that part of the chart, audited as one."""
    entry, decision, action = _entry_to_change(actor=actor, patient_id=patient_id, entry_id=entry_id,
                                               verb="read", write=False, purpose=purpose)
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry


def entry_history(*, actor: Actor, patient_id: int, entry_id: int,
                  purpose: str | None = None) -> tuple[ClinicalEntry, list[ClinicalEntryVersion]]:
    """An entry and its versions, newest first (one version when it never changed): a chart read,
    audited as "<kind>.history.read"."""
    entry, decision, action = _entry_to_change(actor=actor, patient_id=patient_id, entry_id=entry_id,
                                               verb="history.read", write=False, purpose=purpose)
    versions = list(entry.versions) or [ClinicalEntryVersion(
        number=1, content=entry.content, status=entry.status, changed_by_id=entry.recorded_by_id,
        changed_by=entry.recorded_by, changed_at=entry.recorded_at)]
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"clinical_entry:{entry.id}",
                 reason=decision.reason)
    return entry, versions


def history_update(*, actor: Actor, patient_id: int, history: str, purpose: str | None = None) -> Patient:
    patient = patient_get(patient_id)
    action = "history.update"
    decision = _gate(actor=actor, patient_id=patient_id, action=action, part=ChartPart.HISTORY, write=True,
                     purpose=purpose)
    patient.history = history.strip() or None
    audit_access(actor=actor, patient_id=patient_id, action=action, target=f"patient:{patient_id}",
                 reason=decision.reason)
    return patient


DIAGNOSIS_SEARCH_ACTION = "problem.search"
DIAGNOSIS_SEARCH_MAX = 200


def patients_with_diagnosis(*, actor: Actor, code: Icd10Code) -> list[Patient]:
    """The patients in this doctor's care (access.patients_in_care: the relationship the gate uses)
    with an active problem carrying this code, or a code of this category when it is one ("J45":
    J45, J45.0, J45.9...). Found in SQL through the blind index: no entry is read or decrypted.
    Each patient listed learns the doctor something of their chart, so each is audited as a read
    for care ("problem.search"; the code itself is not written to the trail)."""
    if actor.role != Role.DOCTOR.value or actor.user_id is None:
        audit_denied(actor=actor, reason=access.NO_CHART, target=DIAGNOSIS_SEARCH_ACTION)
        raise access.ChartAccessDenied(access.AccessDecision(False, access.NO_CHART))
    index = ClinicalEntry.code_group_index if len(code.code) == 3 else ClinicalEntry.code_index
    coded = select(ClinicalEntry.patient_id).where(
        ClinicalEntry.kind == EntryKind.PROBLEM.value, ClinicalEntry.status == EntryStatus.ACTIVE.value,
        index == code.code, ClinicalEntry.patient_id.in_(access.patients_in_care(doctor_id=actor.user_id)))
    patients = list(db.session.execute(
        select(Patient).where(Patient.id.in_(coded)).order_by(Patient.family_name, Patient.given_name, Patient.id)
        .limit(DIAGNOSIS_SEARCH_MAX)).scalars())
    for patient in patients:
        audit_access(actor=actor, patient_id=patient.id, action=DIAGNOSIS_SEARCH_ACTION, reason=access.CARE)
    return patients
