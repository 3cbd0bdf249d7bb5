"""Refills: the patient asks from their phone, the prescriber approves (the prescription goes to the
pharmacy again; each refill is its own dispense) or declines with a reason. The count is the
database's to enforce: approving takes a refill only while one is left."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.clock import clock
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.prescriptions import notices
from app.prescriptions.models import Prescription, PrescriptionStatus, RefillRequest, RefillStatus
from app.prescriptions.purposes import PRESCRIBING
from app.records.services import patient_for_user

NOTE_MAX = 300


def refill_request(*, actor: Actor, prescription_id: int) -> RefillRequest:
    """The patient's own prescription only; asking twice for the same refill finds the first request."""
    patient = patient_for_user(actor.user_id) if actor.user_id else None
    prescription = db.session.get(Prescription, prescription_id)
    if patient is None or prescription is None or prescription.patient_id != patient.id:
        raise NotFound(_("No such prescription."))
    number = prescription.refills_used + 1
    existing = db.session.execute(select(RefillRequest).where(
        RefillRequest.prescription_id == prescription.id, RefillRequest.number == number)).scalar_one_or_none()
    if existing is not None:
        return existing
    if prescription.refills_used >= prescription.refills_allowed:
        raise DomainError(_("No refills are left on this prescription: ask your doctor for a new one."))
    if prescription.status != PrescriptionStatus.DISPENSED.value:
        raise DomainError(_("You can ask for a refill once you have collected this prescription."))
    request = RefillRequest(prescription_id=prescription.id, number=number)
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:  # the same request from a second tap, a moment earlier
        return db.session.execute(select(RefillRequest).where(
            RefillRequest.prescription_id == prescription.id, RefillRequest.number == number)).scalar_one()
    audit_access(actor=actor, patient_id=patient.id, action="refill.request", reason="self",
                 target=f"prescription:{prescription.id}")
    notices.prescriber_told(prescription, event=f"refill{number}", text=lambda patient_name, _pharmacy: _(
        "%(patient)s asks for a refill of a prescription.", patient=patient_name))
    notices.publish_after_commit(prescription)
    return request


def _open_request(actor: Actor, request_id: int) -> RefillRequest:
    request = db.session.get(RefillRequest, request_id)
    if request is None or request.prescription.prescriber_id != actor.user_id:
        raise NotFound(_("No such refill request."))
    return request


def _decided(request: RefillRequest, actor: Actor, status: RefillStatus, note: str | None = None) -> None:
    changed = db.session.execute(
        update(RefillRequest).where(RefillRequest.id == request.id, RefillRequest.status == RefillStatus.REQUESTED.value)
        .values(status=status.value, decided_by_id=actor.user_id, decided_at=clock.now(), note=note)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise DomainError(_("This refill request has already been answered."))
    db.session.expire(request)


def refill_approve(*, actor: Actor, request_id: int) -> Prescription:
    request = _open_request(actor, request_id)
    prescription = request.prescription
    _decided(request, actor, RefillStatus.APPROVED)
    taken = db.session.execute(
        update(Prescription).where(Prescription.id == prescription.id,
                                   Prescription.status == PrescriptionStatus.DISPENSED.value,
                                   Prescription.refills_used < Prescription.refills_allowed)
        .values(refills_used=Prescription.refills_used + 1, status=PrescriptionStatus.SENT.value,
                status_changed_at=clock.now(), status_note=None)
        .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        raise DomainError(_("No refill is left, or the prescription is not collected yet."))
    db.session.expire(prescription)
    audit_access(actor=actor, patient_id=prescription.patient_id, action="refill.approve", reason=PRESCRIBING,
                 target=f"prescription:{prescription.id}")
    notices.prescription_sent(prescription)
    notices.publish_after_commit(prescription)
    return prescription


def refill_decline(*, actor: Actor, request_id: int, note: str) -> RefillRequest:
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say why, for the patient."), field="note")
    if len(note) > NOTE_MAX:
        raise DomainError(_("Use at most %(max)d characters.", max=NOTE_MAX), field="note")
    request = _open_request(actor, request_id)
    _decided(request, actor, RefillStatus.DECLINED, note)
    prescription = request.prescription
    audit_access(actor=actor, patient_id=prescription.patient_id, action="refill.decline", reason=PRESCRIBING,
                 target=f"prescription:{prescription.id}")
    notices.refill_declined(prescription, number=request.number)
    notices.publish_after_commit(prescription)
    return request
