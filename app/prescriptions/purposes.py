"""The prescriptions domain's reasons to read part of a chart, registered with the records gate:
a doctor prescribing reads allergies and medicines of a patient in their care (or under their
emergency grant); a pharmacist dispensing reads the same two parts of a patient whose open
prescription is at their own pharmacy — never the rest of the chart."""
from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role
from app.core.actor import Actor
from app.extensions import db
from app.records import access
from app.records.access import ChartPart, Purpose

PRESCRIBING = "prescribing"
DISPENSING = "dispensing"
PARTS = frozenset({ChartPart.ALLERGY, ChartPart.MEDICATION})


def _in_care(actor: Actor, patient_id: int) -> bool:
    return access.decide(actor=actor, patient_id=patient_id, part=ChartPart.ALLERGY, write=False).allowed


def _holds_prescription(actor: Actor, patient_id: int) -> bool:
    from app.accounts.models import StaffProfile
    from app.prescriptions.models import OPEN_STATUSES, Prescription, PrescriptionStatus

    open_here = [s.value for s in OPEN_STATUSES] + [PrescriptionStatus.DISPENSED.value]
    return db.session.execute(
        select(Prescription.id).join(StaffProfile, StaffProfile.site_id == Prescription.pharmacy_id)
        .where(StaffProfile.user_id == actor.user_id, Prescription.patient_id == patient_id,
               Prescription.status.in_(open_here)).limit(1)).first() is not None


def purposes_register() -> None:
    for purpose in (
        Purpose(name=PRESCRIBING, roles=frozenset({Role.DOCTOR.value}), reads=PARTS, applies=_in_care),
        Purpose(name=DISPENSING, roles=frozenset({Role.PHARMACIST.value}), reads=PARTS, applies=_holds_prescription),
    ):
        access.purpose_unregister(purpose.name)  # create_app may run more than once in a process
        access.purpose_register(purpose)
