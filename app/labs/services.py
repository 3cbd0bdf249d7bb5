"""The test catalogue (seeded; admins edit a test's name, sample, preparation, price, turnaround and
whether doctors may order it, and a measured analyte's unit, critical limits and reference ranges)
and which lab a technician works at."""
from __future__ import annotations

import dataclasses
import re

from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from app.accounts.models import Site, SiteKind, StaffProfile
from app.audit.services import audit_access
from app.core.actor import Actor
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.labs import catalogue_data
from app.labs.models import AnalyteKind, LabAnalyte, LabTest, SampleType

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


RANGE_LINE = re.compile(r"^(female|male|any)\s+(\d{1,3})\s*-\s*(\d{1,3})\s*:\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)$",
                        re.IGNORECASE)
RANGES_MAX = 12


def ranges_text(ranges: list[dict]) -> str:
    """An analyte's ranges as the admin's form shows them, one a line: "female 18-130: 12.0-15.5"."""
    return "\n".join(f"{r['sex'] or 'any'} {r['age_min']}-{r['age_max']}: {r['low']:g}-{r['high']:g}" for r in ranges)


def _ranges(text: str) -> list[dict]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise DomainError(_("Give at least one range."), field="ranges")
    if len(lines) > RANGES_MAX:
        raise DomainError(_("Give at most %(max)d ranges.", max=RANGES_MAX), field="ranges")
    ranges = []
    for number, line in enumerate(lines, start=1):
        match = RANGE_LINE.match(line)
        if match is None:
            raise DomainError(_("Line %(n)s: write it like \u201cfemale 18-130: 12.0-15.5\u201d (female, male or any; "
                                "ages in years; then the range).", n=number), field="ranges")
        sex, age_min, age_max, low, high = match.groups()
        age_min, age_max, low, high = int(age_min), int(age_max), float(low), float(high)
        if age_min >= age_max or low > high:
            raise DomainError(_("Line %(n)s: the first number of each pair must be the smaller.", n=number),
                              field="ranges")
        ranges.append({"sex": None if sex.lower() == "any" else sex.lower(), "age_min": age_min, "age_max": age_max,
                       "low": low, "high": high})
    return ranges


def lab_analyte_update(*, actor: Actor, analyte_id: int, unit: str | None, critical_low: float | None,
                       critical_high: float | None, ranges: str) -> LabAnalyte:
    """A measured analyte's unit, critical limits and reference ranges (by sex and age)."""
    analyte = db.session.get(LabAnalyte, analyte_id)
    if analyte is None or analyte.kind != AnalyteKind.NUMBER.value:
        raise NotFound(_("No such analyte."))
    parsed = _ranges(ranges)
    if critical_low is not None and critical_high is not None and critical_low >= critical_high:
        raise DomainError(_("The critical low limit must be below the critical high one."), field="critical_low")
    analyte.unit = (unit or "").strip() or None
    analyte.critical_low, analyte.critical_high, analyte.ranges = critical_low, critical_high, parsed
    db.session.flush()
    audit_access(actor=actor, patient_id=None, action="lab_catalogue.analyte_update", reason="lab catalogue",
                 target=f"lab_analyte:{analyte.id}")
    return analyte
