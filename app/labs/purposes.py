"""The labs domain's reason to touch a patient's lab part of the chart, registered with the records
gate as purpose "lab order": a doctor orders tests for a patient in their care (or under their
emergency grant); a lab technician reads and works the orders sent to their own lab, never the rest
of the chart."""
from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Role
from app.core.actor import Actor
from app.extensions import db
from app.records import access
from app.records.access import ChartPart, Purpose

LAB_ORDER = "lab order"
PARTS = frozenset({ChartPart.LAB})


def _in_care(actor: Actor, patient_id: int) -> bool:
    return access.decide(actor=actor, patient_id=patient_id, part=ChartPart.LAB, write=True).allowed


def _ordered_at_own_lab(actor: Actor, patient_id: int) -> bool:
    from app.accounts.models import StaffProfile
    from app.labs.models import LabOrder

    return db.session.execute(
        select(LabOrder.id).join(StaffProfile, StaffProfile.site_id == LabOrder.site_id)
        .where(StaffProfile.user_id == actor.user_id, LabOrder.patient_id == patient_id).limit(1)).first() is not None


def _applies(actor: Actor, patient_id: int) -> bool:
    if actor.role == Role.DOCTOR.value:
        return _in_care(actor, patient_id)
    return _ordered_at_own_lab(actor, patient_id)


def purposes_register() -> None:
    purpose = Purpose(name=LAB_ORDER, roles=frozenset({Role.DOCTOR.value, Role.LAB.value}), reads=PARTS,
                      writes=PARTS, applies=_applies)
    access.purpose_unregister(purpose.name)  # create_app may run more than once in a process
    access.purpose_register(purpose)
