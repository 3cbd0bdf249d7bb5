"""Form helpers shared by every domain."""
from __future__ import annotations

import contextlib
import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from app.core.db import column_length
from app.core.errors import AccessDenied, DomainError, NotFound


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms' SelectChoice (plain tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]


def show_error(form, error) -> None:
    """Put a DomainError's message beside the field it names, or above the form when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [error.message]
    else:
        form.form_errors.append(error.message)


@contextlib.contextmanager
def refusal_beside(form):
    """Around a service call: its refusal goes beside the form field it names. "Not found" and "not
    allowed" are not the form's to show: they go on to their 404 and 403 pages (core/error_pages.py)."""
    try:
        yield
    except (NotFound, AccessDenied):
        raise
    except DomainError as error:
        show_error(form, error)


def fits(attribute, *, min: int = -1, message: str | None = None) -> Length:
    """A Length validator whose maximum is the column's: what the form takes, the database holds."""
    maximum = column_length(attribute)
    # WTForms fills in %(min)d and %(max)d, in the reader's language.
    return Length(min=min, max=maximum, message=message or (
        _l("Use at most %(max)d characters.") if min < 1 else _l("Use %(min)d to %(max)d characters.")))


class DateWithin:
    """A date inside sensible bounds, as (days before today, days after today); None: no bound.
    A date of birth in year 1 or leave in 9999 is a typo, and far dates overflow time arithmetic."""

    def __init__(self, *, past_days: int | None, future_days: int | None, message: str) -> None:
        self.past_days, self.future_days, self.message = past_days, future_days, message

    def __call__(self, form, field) -> None:
        if field.data is None:
            return
        today = dt.date.today()
        if self.past_days is not None and field.data < today - dt.timedelta(days=self.past_days):
            raise ValidationError(self.message)
        if self.future_days is not None and field.data > today + dt.timedelta(days=self.future_days):
            raise ValidationError(self.message)


def date_of_birth_bounds() -> DateWithin:
    return DateWithin(past_days=130 * 366, future_days=0, message=_l("Enter a date of birth in the last 130 years."))
