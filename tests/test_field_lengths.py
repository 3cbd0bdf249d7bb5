"""What a form accepts, the database holds: long input gets a message beside its field, never a 400/500.

Two walks. Every text field of every form has a maximum (a form that takes anything lets the database
decide, with a truncation error). And every form a person fills in with free text is sent, field by
field, values as long as each String column in the schema and one longer, and as long as the form's own
maximum: the answer is a success or a message beside that field, and what was typed stays.
"""
from __future__ import annotations

import datetime as dt
import html
import importlib
import re

from flask_wtf import FlaskForm
from sqlalchemy import String
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length

from app.accounts.models import Role
from app.core.db import Base

FORM_MODULES = ("app.accounts.forms", "app.records.forms", "app.scheduling.forms")
TEXT_FIELDS = (StringField, TextAreaField, EmailField, PasswordField)


def _all_forms() -> list[type[FlaskForm]]:
    for name in FORM_MODULES:
        importlib.import_module(name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        todo.extend(form.__subclasses__())
        if form.__module__.startswith("app."):
            found.append(form)
    return found


def _max_length(unbound) -> int | None:
    maxima = [v.max for v in unbound.kwargs.get("validators", ()) if isinstance(v, Length) and v.max >= 0]
    return min(maxima) if maxima else None


def test_every_text_field_of_every_form_has_a_maximum():
    unbounded = []
    for form in _all_forms():
        for name in dir(form):
            unbound = getattr(form, name)
            if getattr(unbound, "field_class", None) in TEXT_FIELDS and name != "csrf_token" \
                    and _max_length(unbound) is None:
                unbounded.append(f"{form.__module__}.{form.__name__}.{name}")
    assert not unbounded, "text fields with no maximum: " + ", ".join(unbounded)


def _column_lengths() -> list[int]:
    import app.models  # noqa: F401

    lengths = {c.type.length for t in Base.metadata.tables.values() for c in t.columns
               if isinstance(c.type, String) and c.type.length}
    return sorted(lengths)


def _long(value: str, length: int) -> str:
    """`value` stretched to `length` characters, keeping its shape (an email stays an email)."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return (local * length)[:max(1, length - len(domain) - 1)] + "@" + domain
    if re.fullmatch(r"\+?[0-9 ]+", value):
        return (value + "7" * length)[:length]
    words = (value + " ") * length
    return words[:length].rstrip() + "x" * (length - len(words[:length].rstrip()))


def _forms(app, signed_in, make_patient):
    """(who, url, data, text fields): every form with free text a person sends."""
    patient = make_patient()
    emergency_doctor, _ = signed_in(Role.DOCTOR)
    admin, _ = signed_in(Role.ADMIN)
    desk, _ = signed_in(Role.RECEPTION)
    doctor, _ = signed_in(Role.DOCTOR)
    next_week = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    return [
        (None, "/register", {"full_name": "Amina Wanjiru Mwangi", "email": "amina@example.org",
                             "phone": "+254 712 345 678", "password": "a brand new sentence",
                             "confirm": "a brand new sentence"}, ("full_name", "email", "phone")),
        (admin, "/admin/people/invite", {"full_name": "New Doctor", "email": "new.doctor@clinic.test",
                                         "role": "doctor", "speciality": "Paediatrics", "fee": "1500"},
         ("full_name", "email", "speciality")),
        (desk, "/reception/patients/new", {"given_name": "Baraka", "family_name": "Otieno", "phone": "0722 333 444",
                                           "date_of_birth": "1990-04-02", "sex": "male", "national_id": "12345678"},
         ("given_name", "family_name", "phone", "national_id")),
        (doctor, "/doctor/appointments/availability/exceptions",
         {"kind": "leave", "first_day": next_week, "note": "Conference"}, ("note",)),
        (emergency_doctor, f"/doctor/patients/{patient.id}/emergency-access",
         {"reason": "Unconscious in the waiting room, no history available"}, ("reason",)),
    ]


def test_long_values_get_a_message_beside_the_field_never_a_crash(app, browser, signed_in, make_patient):
    from tests.conftest import Browser

    lengths = _column_lengths()
    checked = 0
    for who, url, data, fields in _forms(app, signed_in, make_patient):
        client = who or Browser(app.test_client())
        token = client.csrf(url if who is None else "/")
        for field in fields:
            for length in sorted({n + 1 for n in lengths} | {5000}):
                value = _long(data[field], length)
                # A new email each time: a second sign-up with one email creates nothing to overflow.
                fresh = {k: f"{checked}.{v}" if "@" in v else v for k, v in data.items()}
                response = client.client.post(url, data={**fresh, field: value, "csrf_token": token})
                body = html.unescape(response.get_data(as_text=True))
                label = f"{url} {field}={length} chars"
                assert response.status_code not in (400, 500), label
                assert response.status_code < 500, label
                if response.status_code == 422 and f'id="{field}-error"' in body:
                    assert value in body or len(value) > 1000, f"{label}: what was typed was lost"
                checked += 1
    assert checked > 100
