"""Prescriptions' live channels and who may listen, declared with the hub by create_app:

- "pharmacy:<site id>": that pharmacy's queue, for the pharmacists who work there;
- "prescriber:<user id>": one doctor's prescriptions (a pharmacist's question arrives live), for that doctor.
The patient's own list listens on scheduling's "patient:<user id>", which is theirs alone.
"""
from __future__ import annotations

from app.accounts.models import Role, StaffProfile
from app.extensions import db
from app.realtime.channels import channel_kind_register


def pharmacy_channel(site_id: int) -> str:
    return f"pharmacy:{site_id}"


def prescriber_channel(user_id: int) -> str:
    return f"prescriber:{user_id}"


def _pharmacy_listener(user, site_id: int) -> bool:
    if user.role != Role.PHARMACIST.value:
        return False
    profile = db.session.get(StaffProfile, user.id)
    return profile is not None and profile.site_id == site_id


def _prescriber_listener(user, user_id: int) -> bool:
    return user.role == Role.DOCTOR.value and user.id == user_id


def channels_register() -> None:
    channel_kind_register("pharmacy", numbered=True, may_listen=_pharmacy_listener)
    channel_kind_register("prescriber", numbered=True, may_listen=_prescriber_listener)
