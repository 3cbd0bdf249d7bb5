"""Who may listen to which channel. A channel name is "<kind>:<id>" or "clinic".

Names come from the browser (the live socket's query string), so there is one parser, and it is
strict: an id is plain ASCII digits with no sign, space or leading zero ("²", "١", "+3", " 3" and
"03" name no channel). Anything else is refused, never half-understood.
"""
from __future__ import annotations

import re

from app.accounts.models import Role

CLINIC = "clinic"
# One number per id: the ids are INTEGER columns (9 digits stay far below 2**31).
_NAMED = re.compile(r"(doctor|patient):([1-9][0-9]{0,8})")


def doctor_channel(doctor_id: int) -> str:
    return f"doctor:{doctor_id}"


def patient_channel(user_id: int) -> str:
    return f"patient:{user_id}"


def channel_parse(name: str) -> tuple[str, int | None] | None:
    """("clinic", None), ("doctor", 3) or ("patient", 7); None for anything that is not a channel."""
    if name == CLINIC:
        return CLINIC, None
    match = _NAMED.fullmatch(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def may_listen(user, channel: str) -> bool:
    parsed = channel_parse(channel)
    if parsed is None:
        return False
    kind, ident = parsed
    role = user.role
    if kind == CLINIC:
        return role in (Role.RECEPTION.value, Role.ADMIN.value, Role.DOCTOR.value)
    if kind == "doctor":
        return role in (Role.RECEPTION.value, Role.ADMIN.value) or (role == Role.DOCTOR.value and user.id == ident)
    return role == Role.PATIENT.value and user.id == ident
