"""Scheduling's live channels and who may listen, declared with the hub by create_app:

- "clinic": the day's queue, for the front desk, admins and doctors;
- "doctor:<user id>": one doctor's day, for that doctor, the front desk and admins;
- "patient:<user id>": one patient's appointments, for that patient only.
"""
from __future__ import annotations

from app.accounts.models import Role
from app.realtime.channels import channel_kind_register

CLINIC = "clinic"


def doctor_channel(doctor_id: int) -> str:
    return f"doctor:{doctor_id}"


def patient_channel(user_id: int) -> str:
    return f"patient:{user_id}"


def _clinic_listener(user, _ident: None) -> bool:
    return user.role in (Role.RECEPTION.value, Role.ADMIN.value, Role.DOCTOR.value)


def _doctor_listener(user, doctor_id: int) -> bool:
    if user.role in (Role.RECEPTION.value, Role.ADMIN.value):
        return True
    return user.role == Role.DOCTOR.value and user.id == doctor_id


def _patient_listener(user, user_id: int) -> bool:
    return user.role == Role.PATIENT.value and user.id == user_id


def channels_register() -> None:
    channel_kind_register(CLINIC, numbered=False, may_listen=_clinic_listener)
    channel_kind_register("doctor", numbered=True, may_listen=_doctor_listener)
    channel_kind_register("patient", numbered=True, may_listen=_patient_listener)
