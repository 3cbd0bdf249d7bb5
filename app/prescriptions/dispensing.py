"""The pharmacist's side of a prescription: find it (by the patient's code), read it with what
matters for dispensing (allergies and current medicines, through the records gate with purpose
"dispensing", never the chart), prepare, mark ready (the patient is told), dispense (stock taken in
the same transaction, earliest expiry first), or send it back to the prescriber with a question or
a refusal. Only prescriptions sent to the pharmacist's own pharmacy."""
from __future__ import annotations

import dataclasses
import re

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.prescriptions import notices
from app.prescriptions.models import Dispense, Medicine, Prescription, PrescriptionStatus
from app.prescriptions.purposes import DISPENSING
from app.prescriptions.services import StockShort, stock_take
from app.prescriptions.status import status_move
from app.records import services as records
from app.records.access import ChartPart
from app.records.models import EntryKind

NOTE_MAX = 300
S = PrescriptionStatus


def _at_pharmacy(site_id: int, prescription_id: int) -> Prescription:
    prescription = db.session.execute(select(Prescription).where(
        Prescription.id == prescription_id, Prescription.pharmacy_id == site_id)).scalar_one_or_none()
    if prescription is None:
        raise NotFound(_("No such prescription at this pharmacy."))
    return prescription


def normalise_code(code: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())[:12]


def prescription_find(*, site_id: int, code: str) -> Prescription:
    prescription = db.session.execute(select(Prescription).where(
        Prescription.collection_code == normalise_code(code), Prescription.pharmacy_id == site_id)).scalar_one_or_none()
    if prescription is None:
        raise DomainError(_("No prescription with this code at this pharmacy. Check the code with the patient."),
                          field="code")
    return prescription


@dataclasses.dataclass(frozen=True)
class DispensingView:
    prescription: Prescription
    allergies: list      # active allergy entries
    medications: list    # active medication entries


def prescription_read(*, actor: Actor, site_id: int, prescription_id: int) -> DispensingView:
    """The prescription and what matters for dispensing it: audited, purpose "dispensing"."""
    prescription = _at_pharmacy(site_id, prescription_id)
    allergies = records.chart_read(actor=actor, patient_id=prescription.patient_id, part=ChartPart.ALLERGY,
                                   purpose=DISPENSING)[EntryKind.ALLERGY]
    medications = records.chart_read(actor=actor, patient_id=prescription.patient_id, part=ChartPart.MEDICATION,
                                     purpose=DISPENSING)[EntryKind.MEDICATION]
    audit_access(actor=actor, patient_id=prescription.patient_id, action="prescription.read", reason=DISPENSING,
                 target=f"prescription:{prescription.id}")
    return DispensingView(prescription, [e for e in allergies if e.status == "active"],
                          [e for e in medications if e.status == "active"])


def _step(actor: Actor, site_id: int, prescription_id: int, status: PrescriptionStatus,
          note: str | None = None) -> Prescription:
    prescription = _at_pharmacy(site_id, prescription_id)
    if not prescription.may_become(status):
        raise DomainError(_("This prescription is %(status)s: it cannot become %(next)s.",
                            status=prescription.status_enum.label, next=status.label))
    status_move(prescription, status, note=note)
    audit_access(actor=actor, patient_id=prescription.patient_id, action=f"prescription.{status.value}",
                 reason=DISPENSING, target=f"prescription:{prescription.id}")
    notices.publish_after_commit(prescription)
    return prescription


def prescription_prepare(*, actor: Actor, site_id: int, prescription_id: int) -> Prescription:
    return _step(actor, site_id, prescription_id, S.PREPARING)


def prescription_mark_ready(*, actor: Actor, site_id: int, prescription_id: int,
                            delivery: bool = False) -> Prescription:
    """Ready: to collect at the counter, or (`delivery`) going out to the patient; they are told which."""
    prescription = _step(actor, site_id, prescription_id, S.READY)
    db.session.execute(update(Prescription).where(Prescription.id == prescription.id).values(delivery=delivery)
                       .execution_options(synchronize_session=False))
    db.session.expire(prescription)
    notices.prescription_ready(prescription)
    return prescription


def _reason(note: str | None) -> str:
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say what the prescriber should know."), field="note")
    if len(note) > NOTE_MAX:
        raise DomainError(_("Use at most %(max)d characters.", max=NOTE_MAX), field="note")
    return note


def prescription_query(*, actor: Actor, site_id: int, prescription_id: int, note: str) -> Prescription:
    prescription = _step(actor, site_id, prescription_id, S.QUERIED, note=_reason(note))
    notices.prescriber_told(prescription, event="queried", text=lambda patient, pharmacy: _(
        "%(pharmacy)s has a question about the prescription for %(patient)s.", pharmacy=pharmacy, patient=patient))
    return prescription


def prescription_reject(*, actor: Actor, site_id: int, prescription_id: int, note: str) -> Prescription:
    prescription = _step(actor, site_id, prescription_id, S.REJECTED, note=_reason(note))
    notices.prescriber_told(prescription, event="rejected", text=lambda patient, pharmacy: _(
        "%(pharmacy)s did not dispense the prescription for %(patient)s: read why.", pharmacy=pharmacy, patient=patient))
    return prescription


def prescription_dispense(*, actor: Actor, site_id: int, prescription_id: int) -> Dispense:
    """Hand it over: every item's units come off this pharmacy's shelf in this transaction (all or
    nothing; a shortfall says what is short), the dispense records who, when and which batches, and
    what it cost (the charge lines billing will use)."""
    prescription = _at_pharmacy(site_id, prescription_id)
    if not prescription.may_become(S.DISPENSED):
        raise DomainError(_("Mark it ready before handing it over."))
    taken, charge = [], 0
    for item in prescription.items:
        try:
            parts = stock_take(actor=actor, site_id=site_id, medicine_id=item["medicine_id"], quantity=item["quantity"])
        except StockShort as short:
            raise DomainError(short.message) from None
        price = db.session.execute(select(Medicine.price_cents).where(Medicine.id == item["medicine_id"])).scalar_one()
        charge += price * item["quantity"]
        taken += [{"medicine_id": item["medicine_id"], "medicine": item["medicine"], "batch": batch.batch_number,
                   "expires_on": batch.expires_on.isoformat(), "quantity": part, "price_cents": price}
                  for batch, part in parts]
    number = db.session.execute(select(func.count()).select_from(Dispense)
                                .where(Dispense.prescription_id == prescription.id)).scalar_one()
    dispense = Dispense(prescription_id=prescription.id, number=number, by_id=actor.user_id, batches=taken,
                        charge_cents=charge)
    db.session.add(dispense)
    status_move(prescription, S.DISPENSED)
    db.session.flush()
    audit_access(actor=actor, patient_id=prescription.patient_id, action="prescription.dispensed", reason=DISPENSING,
                 target=f"prescription:{prescription.id}")
    notices.publish_after_commit(prescription)
    return dispense
