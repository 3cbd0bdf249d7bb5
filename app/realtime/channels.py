"""Who may listen to which channel. A channel name is "<kind>:<id>" or "clinic"."""
from __future__ import annotations

from app.accounts.models import Role

CLINIC = "clinic"


def doctor_channel(doctor_id: int) -> str:
    return f"doctor:{doctor_id}"


def patient_channel(user_id: int) -> str:
    return f"patient:{user_id}"


def may_listen(user, channel: str) -> bool:
    role = user.role
    if channel == CLINIC:
        return role in (Role.RECEPTION.value, Role.ADMIN.value, Role.DOCTOR.value)
    kind, _, ident = channel.partition(":")
    if not ident.isdigit():
        return False
    if kind == "doctor":
        return role in (Role.RECEPTION.value, Role.ADMIN.value) or (role == Role.DOCTOR.value and user.id == int(ident))
    if kind == "patient":
        return role == Role.PATIENT.value and user.id == int(ident)
    return False
