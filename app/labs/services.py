"""The test catalogue (seeded; admins edit a test's name, sample, preparation, price, turnaround and
whether doctors may order it) and which lab a technician works at."""
from __future__ import annotations

import dataclasses

from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from app.accounts.models import Site, SiteKind, StaffProfile
from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.labs import catalogue_data
from app.labs.models import LabTest, SampleType

PRICE_MAX_CENTS = 100_000_000
TURNAROUND_MAX = 60 * 24 * 30  # a month, in minutes


def catalogue_ensure() -> None:
    """Seed the catalogue into an empty database (the migration seeds it; tests and a demo on
    emptied tables call this)."""
    if db.session.execute(select(func.count()).select_from(LabTest)).scalar_one():
        return
    from app.core.db import Base

    for table, rows in catalogue_data.rows().items():
        db.session.execute(insert(Base.metadata.tables[table]), rows)
    if db.is_postgres:
        for table in ("lab_tests", "lab_analytes"):
            db.session.execute(func.setval(func.pg_get_serial_sequence(table, "id"),
                                           select(func.max(Base.metadata.tables[table].c.id)).scalar_subquery()))
    db.session.flush()


@dataclasses.dataclass
class TestInput:
    name: str
    sample_type: str
    fasting_hours: int | None
    preparation: str | None
    price_cents: int
    turnaround_minutes: int
    active: bool


def lab_test_update(*, actor: Actor, test_id: int, values: TestInput) -> LabTest:
    test = db.session.get(LabTest, test_id)
    if test is None:
        raise NotFound(_("No such test."))
    name = " ".join((values.name or "").split())
    if not name:
        raise DomainError(_("This cannot be empty."), field="name")
    if values.sample_type not in {s.value for s in SampleType}:
        raise DomainError(_("Choose the sample from the list."), field="sample_type")
    if values.price_cents is None or not 0 <= values.price_cents <= PRICE_MAX_CENTS:
        raise DomainError(_("Enter a price from 0."), field="price")
    if values.turnaround_minutes is None or not 1 <= values.turnaround_minutes <= TURNAROUND_MAX:
        raise DomainError(_("Enter from 1 minute to 30 days, in minutes."), field="turnaround_minutes")
    duplicate = db.session.execute(select(LabTest.id).where(func.lower(LabTest.name) == name.casefold(),
                                                            LabTest.id != test_id)).first()
    if duplicate is not None:
        raise DomainError(_("Another test already has this name."), field="name")
    if values.fasting_hours is not None and not 1 <= values.fasting_hours <= 24:
        raise DomainError(_("Enter from 1 to 24 hours, or leave it empty."), field="fasting_hours")
    test.name, test.sample_type, test.fasting_hours = name, values.sample_type, values.fasting_hours
    test.preparation = (values.preparation or "").strip() or None
    test.price_cents, test.turnaround_minutes, test.active = values.price_cents, values.turnaround_minutes, values.active
    db.session.flush()
    audit_access(actor=actor, patient_id=None, action="lab_catalogue.update", reason="lab catalogue",
                 target=f"lab_test:{test.id}")
    return test


class NoLab(DomainError):
    """The signed-in technician works at no lab: an admin assigns one."""


def lab_of(*, user_id: int) -> Site:
    site = db.session.execute(
        select(Site).join(StaffProfile, StaffProfile.site_id == Site.id)
        .where(StaffProfile.user_id == user_id, Site.kind == SiteKind.LAB.value)).scalar_one_or_none()
    if site is None:
        raise NoLab(_("Your account is not assigned to a lab yet: ask an administrator to assign one."))
    return site
