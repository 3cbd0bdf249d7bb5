"""The lab's live channels and who may listen, declared with the hub by create_app:
- "lab:<site id>": that lab's sample queue, for the technicians who work there;
- "results:<user id>": one doctor's lab results (a critical value, results released), for that doctor."""
from __future__ import annotations

from app.accounts.models import Role, StaffProfile
from app.extensions import db
from app.realtime.channels import channel_kind_register


def lab_channel(site_id: int) -> str:
    return f"lab:{site_id}"


def _lab_listener(user, site_id: int) -> bool:
    if user.role != Role.LAB.value:
        return False
    profile = db.session.get(StaffProfile, user.id)
    return profile is not None and profile.site_id == site_id


def results_channel(doctor_id: int) -> str:
    return f"results:{doctor_id}"


def _results_listener(user, doctor_id: int) -> bool:
    return user.role == Role.DOCTOR.value and user.id == doctor_id


def channels_register() -> None:
    channel_kind_register("lab", numbered=True, may_listen=_lab_listener)
    channel_kind_register("results", numbered=True, may_listen=_results_listener)
