"""Writing a prescription: the safety checks at the moment of writing (through the records gate,
purpose "prescribing"), overrides with a reason, signing, and superseding. A signed prescription
never changes what it prescribes; a correction is a new prescription that supersedes it."""
from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.models import Role, Site, SiteKind
from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import AccessDenied, DomainError, NotFound
from app.extensions import db
from app.prescriptions import notices, safety
from app.prescriptions.models import (
    OPEN_STATUSES,
    DrugClass,
    Interaction,
    Medicine,
    Prescription,
    PrescriptionStatus,
)
from app.prescriptions.purposes import PRESCRIBING
from app.prescriptions.status import status_move
from app.records import services as records
from app.records.access import ChartPart
from app.records.models import EntryKind

OVERRIDE_REASON_MIN, OVERRIDE_REASON_MAX = 5, 300
INSTRUCTIONS_MAX = 300
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B: read aloud and typed at a counter
FREQUENCIES = {"od": 1, "bd": 2, "tds": 3, "qds": 4, "nocte": 1, "stat": 1, "prn": 0}


@dataclasses.dataclass
class ItemInput:
    medicine_id: int
    dose: Decimal
    route: str
    frequency: str
    days: int
    quantity: int
    instructions: str | None = None


class NeedsOverride(DomainError):
    """Warnings the prescriber has not yet overridden with a reason (or a hard stop): shown beside the form."""

    def __init__(self, findings: list[safety.Finding]) -> None:
        hard = [f for f in findings if f.hard_stop]
        super().__init__(_("This prescription cannot be signed: %(reason)s", reason=hard[0].message) if hard else
                         _("Read each warning and give a reason to go ahead, or change the prescription."))
        self.findings = findings


def _medicines(items: list[ItemInput]) -> dict[int, Medicine]:
    ids = {item.medicine_id for item in items}
    found = {m.id: m for m in db.session.execute(
        select(Medicine).options(selectinload(Medicine.classes)).where(Medicine.id.in_(ids or [-1]),
                                                                       Medicine.active.is_(True))).scalars()}
    for index, item in enumerate(items):
        if item.medicine_id not in found:
            raise DomainError(_("Choose a medicine from the formulary."), field=f"items-{index}-medicine_id")
    return found


def _validate(items: list[ItemInput]) -> None:
    if not items:
        raise DomainError(_("Add at least one medicine."))
    for index, item in enumerate(items):
        if item.dose is None or not Decimal("0") < item.dose <= Decimal("100000"):
            raise DomainError(_("Enter the dose, a number above zero."), field=f"items-{index}-dose")
        if item.frequency not in FREQUENCIES:
            raise DomainError(_("Choose how often."), field=f"items-{index}-frequency")
        if item.days is None or not 1 <= item.days <= 365:
            raise DomainError(_("Enter from 1 to 365 days."), field=f"items-{index}-days")
        if item.quantity is None or not 1 <= item.quantity <= 10_000:
            raise DomainError(_("Enter a quantity from 1 to 10,000."), field=f"items-{index}-quantity")
        if item.instructions and len(item.instructions) > INSTRUCTIONS_MAX:
            raise DomainError(_("Use at most %(max)d characters.", max=INSTRUCTIONS_MAX),
                              field=f"items-{index}-instructions")


def _open_prescriptions_text(patient_id: int) -> list[str]:
    """What the patient's open and recently dispensed prescriptions prescribe: current therapy too."""
    since = clock.now() - dt.timedelta(days=90)
    rows = db.session.execute(select(Prescription.items).where(
        Prescription.patient_id == patient_id, Prescription.signed_at >= since,
        Prescription.status.in_([s.value for s in OPEN_STATUSES] + [PrescriptionStatus.DISPENSED.value]))).scalars()
    return [item["medicine"] for items in rows for item in items]


def prescription_check(*, actor: Actor, patient_id: int, items: list[ItemInput]) -> list[safety.Finding]:
    """The findings for these items: reads the patient's allergies and medicines through the gate
    (audited, purpose "prescribing")."""
    _validate(items)
    medicines = _medicines(items)
    allergies_chart = records.chart_read(actor=actor, patient_id=patient_id, part=ChartPart.ALLERGY, purpose=PRESCRIBING)
    medication_chart = records.chart_read(actor=actor, patient_id=patient_id, part=ChartPart.MEDICATION,
                                          purpose=PRESCRIBING)
    allergies = [safety.Allergy(e.content.get("substance", ""), e.content.get("severity"))
                 for e in allergies_chart[EntryKind.ALLERGY] if e.status == "active"]
    current = [e.content.get("drug", "") for e in medication_chart[EntryKind.MEDICATION] if e.status == "active"]
    current += _open_prescriptions_text(patient_id)
    resolver = safety.Resolver(list(db.session.execute(select(Medicine).options(selectinload(Medicine.classes))).scalars()),
                               list(db.session.execute(select(DrugClass)).scalars()))
    return safety.check(items=[safety.Item(medicines[i.medicine_id], i.dose) for i in items], allergies=allergies,
                        current=current, resolver=resolver, interactions=list(db.session.execute(select(Interaction)).scalars()))


def _pharmacy(pharmacy_id: int) -> Site:
    site = db.session.get(Site, pharmacy_id)
    if site is None or site.kind != SiteKind.PHARMACY.value:
        raise DomainError(_("Choose a pharmacy from the list."), field="pharmacy_id")
    return site


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _position in range(6))
        if db.session.execute(select(Prescription.id).where(Prescription.collection_code == code)).first() is None:
            return code


def prescription_sign(*, actor: Actor, patient_id: int, pharmacy_id: int, items: list[ItemInput], refills: int,
                      overrides: dict[str, str], supersedes_id: int | None = None) -> Prescription:
    """Check, then sign and send to the pharmacy. Every warning needs an override reason (keyed by
    the finding's key); a hard stop cannot be overridden. Raises NeedsOverride with the findings."""
    if actor.role != Role.DOCTOR.value:
        raise AccessDenied(_("Only a doctor signs prescriptions."))
    _pharmacy(pharmacy_id)
    if refills is None or not 0 <= refills <= 5:
        raise DomainError(_("Allow from 0 to 5 refills."), field="refills")
    findings = prescription_check(actor=actor, patient_id=patient_id, items=items)
    reasons = {key: (text or "").strip() for key, text in overrides.items()}
    missing = [f for f in findings if f.hard_stop or not OVERRIDE_REASON_MIN <= len(reasons.get(f.key, "")) <= OVERRIDE_REASON_MAX]
    if missing:
        raise NeedsOverride(findings)
    superseded = _to_supersede(actor, patient_id, supersedes_id) if supersedes_id else None
    medicines = _medicines(items)
    prescription = Prescription(
        patient_id=patient_id, prescriber_id=actor.user_id, pharmacy_id=pharmacy_id, refills_allowed=refills,
        items=[{"medicine_id": i.medicine_id, "medicine": medicines[i.medicine_id].label, "dose": str(i.dose),
                "dose_unit": medicines[i.medicine_id].dose_unit, "route": i.route.strip()[:30], "frequency": i.frequency,
                "days": i.days, "quantity": i.quantity, "unit": medicines[i.medicine_id].unit,
                "instructions": (i.instructions or "").strip() or None} for i in items],
        overrides=[{"kind": f.kind, "message": f.message, "reason": reasons[f.key]} for f in findings],
        collection_code=_new_code(), verification_token=secrets.token_urlsafe(32),
        supersedes_id=superseded.id if superseded else None, signed_at=clock.now(), status_changed_at=clock.now())
    db.session.add(prescription)
    db.session.flush()
    audit_access(actor=actor, patient_id=patient_id, action="prescription.sign", reason=PRESCRIBING,
                 target=f"prescription:{prescription.id}")
    for finding in findings:
        audit_access(actor=actor, patient_id=patient_id, action=f"prescription.override.{finding.kind}",
                     reason=f"{PRESCRIBING}: {reasons[finding.key]}", target=f"prescription:{prescription.id}")
    if superseded is not None:
        status_move(superseded, PrescriptionStatus.SUPERSEDED)
    notices.prescription_sent(prescription)
    notices.publish_after_commit(prescription)
    return prescription


def _to_supersede(actor: Actor, patient_id: int, prescription_id: int) -> Prescription:
    old = db.session.get(Prescription, prescription_id)
    if old is None or old.patient_id != patient_id or old.prescriber_id != actor.user_id:
        raise NotFound(_("No such prescription."))
    if not old.may_become(PrescriptionStatus.SUPERSEDED):
        raise DomainError(_("This prescription has gone too far to be replaced."))
    return old


def prescription_cancel(*, actor: Actor, prescription_id: int) -> Prescription:
    prescription = db.session.get(Prescription, prescription_id)
    if prescription is None or prescription.prescriber_id != actor.user_id:
        raise NotFound(_("No such prescription."))
    if not prescription.may_become(PrescriptionStatus.CANCELLED):
        raise DomainError(_("The pharmacy has already prepared it: call them."))
    status_move(prescription, PrescriptionStatus.CANCELLED)
    audit_access(actor=actor, patient_id=prescription.patient_id, action="prescription.cancel", reason=PRESCRIBING,
                 target=f"prescription:{prescription.id}")
    notices.publish_after_commit(prescription)
    return prescription
