"""Reading a typed result and flagging it: a number (with its unit, if typed, checked against the
analyte's), or one of a choice's answers; high or low against the reference range for the patient's
sex and age, critical beyond the critical limits.

A range applies to ages age_min <= age < age_max (whole years) and to its sex (None: either); the
first that fits applies. With the sex unknown, the widest of the ranges that fit the age (nothing
is flagged that would be normal for either sex); with the age unknown, the first for the sex."""
from __future__ import annotations

import math
import re

from flask_babel import gettext as _

from app.core.errors import DomainError
from app.labs.models import AnalyteKind, Flag, LabAnalyte

NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+))\s*(.*?)\s*$")
VALUE_MAX = 1e9


def reference(analyte: LabAnalyte, *, sex: str | None, age: int | None) -> tuple[float, float] | None:
    ranges = list(analyte.ranges or [])
    if sex is not None:
        ranges = [r for r in ranges if r.get("sex") in (None, sex)]
    fitting = [r for r in ranges if age is None or r["age_min"] <= age < r["age_max"]]
    if not fitting:
        return None
    if sex is None and len(fitting) > 1:
        return min(r["low"] for r in fitting), max(r["high"] for r in fitting)
    return fitting[0]["low"], fitting[0]["high"]


def parse(analyte: LabAnalyte, text: str | None, *, field: str) -> str | float:
    """The value as stored: a float for a number, the answer for a choice. Refused beside `field`."""
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Enter a result."), field=field)
    if analyte.kind == AnalyteKind.CHOICE.value:
        answers = {answer.casefold(): answer for answer in analyte.choices or []}
        if text.casefold() not in answers:
            raise DomainError(_("Choose one of: %(answers)s.", answers=", ".join(analyte.choices or [])), field=field)
        return answers[text.casefold()]
    match = NUMBER.match(text)
    if match is None:
        raise DomainError(_("Enter a number, like 12.5."), field=field)
    number, unit = match.groups()
    if re.fullmatch(r"[eE][-+]?\d*", unit):  # 1e999: a number's exponent, not a unit
        raise DomainError(_("Enter a number, like 12.5."), field=field)
    if unit and unit.casefold() != (analyte.unit or "").casefold():
        raise DomainError(_("This result is in %(unit)s: enter the number only, in %(unit)s.",
                            unit=analyte.unit or "—"), field=field)
    value = float(number.replace(",", "."))
    if not math.isfinite(value) or abs(value) > VALUE_MAX:
        raise DomainError(_("Enter a number, like 12.5."), field=field)
    return round(value, max(analyte.decimals, 0) + 2)


def flag(analyte: LabAnalyte, value: str | float, *, sex: str | None, age: int | None) -> Flag:
    if analyte.kind == AnalyteKind.CHOICE.value:
        return Flag.ABNORMAL if value in (analyte.abnormal or []) else Flag.NORMAL
    if analyte.critical_low is not None and value < analyte.critical_low:
        return Flag.CRITICAL_LOW
    if analyte.critical_high is not None and value > analyte.critical_high:
        return Flag.CRITICAL_HIGH
    bounds = reference(analyte, sex=sex, age=age)
    if bounds is not None and value < bounds[0]:
        return Flag.LOW
    if bounds is not None and value > bounds[1]:
        return Flag.HIGH
    return Flag.NORMAL


def shown(analyte: LabAnalyte, value: str | float) -> str:
    """A value as the report shows it: a number to the analyte's decimals."""
    if isinstance(value, str):
        return value
    return f"{value:.{max(analyte.decimals, 0)}f}"
