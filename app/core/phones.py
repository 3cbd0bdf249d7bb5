"""Phone numbers in one form: E.164 ("+254722333444"), however they were typed ("0722 333 444",
"254722333444", "+254 722-333-444"). Numbers without a country code are read as the clinic's
country (CLINIC_COUNTRY). Parsing and validity come from `phonenumbers` (Google's libphonenumber
metadata, kept up to date with each country's numbering plan), not from a regular expression."""
from __future__ import annotations

import phonenumbers
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation

from app.core.errors import DomainError

DEFAULT_COUNTRY = "KE"


def clinic_country() -> str:
    if has_app_context():
        return current_app.config.get("CLINIC_COUNTRY") or DEFAULT_COUNTRY
    return DEFAULT_COUNTRY


def _parse(typed: str, country: str | None):
    try:
        return phonenumbers.parse(typed, country or clinic_country())
    except phonenumbers.NumberParseException:
        return None


def phone_e164(typed: str | None, *, country: str | None = None) -> str | None:
    """The number in E.164, or None when nothing was typed. Raises ValueError when what was typed is
    not a valid number (a digit short, a prefix no operator uses): an SMS to it would fail."""
    if typed is None or not typed.strip():
        return None
    number = _parse(typed, country)
    # A leading 254 typed without "+" parses as a national number that is too long: read it again
    # as international before refusing.
    if (number is None or not phonenumbers.is_valid_number(number)) and typed.strip()[:1].isdigit():
        again = _parse("+" + typed.strip(), country)
        if again is not None and phonenumbers.is_valid_number(again):
            number = again
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(typed)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_e164_or_none(typed: str | None, *, country: str | None = None) -> str | None:
    """The number in E.164, or None when it cannot be read as a valid number."""
    try:
        return phone_e164(typed, country=country)
    except ValueError:
        return None


def phone_digits_for_search(term: str) -> str | None:
    """What a partial number typed in a search box matches inside stored E.164 numbers: its digits
    without the trunk "0" or a leading "+" ("0722 333" -> "722333"); None when it has too few digits
    to be a number (4)."""
    digits = "".join(c for c in term if c.isdigit())
    if len(digits) < 4 or any(c.isalpha() for c in term):
        return None
    return digits.lstrip("0") or None


def phone_refusal():
    return _l("Enter a mobile number we can text, like 0712 345 678 or +254 712 345 678.")


def phone_clean(typed: str | None, *, field: str = "phone") -> str | None:
    """For services: the number in E.164 (None if blank), or a DomainError beside `field`."""
    try:
        return phone_e164(typed)
    except ValueError:
        raise DomainError(str(phone_refusal()), field=field) from None


class PhoneNumber:
    """WTForms validator: a number `phone_e164` can read (the field keeps what was typed)."""

    field_flags = {}

    def __call__(self, form, field) -> None:
        if field.data and field.data.strip() and phone_e164_or_none(field.data) is None:
            raise StopValidation(str(phone_refusal()))
