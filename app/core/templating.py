"""Template globals: asset URLs, the role's navigation, dates in the reader's language."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.assets import asset_url
from app.core.i18n import format_day, format_local
from app.core.uploads import size_label

# Roles that receive in-app messages (doctors: new bookings, cancellations, arrivals; patients: their
# bookings, moves and cancellations) keep the link in view.
ROLES_WITH_INBOX = {"doctor", "patient"}

NAVIGATION = {
    "patient": [("patient.home", _l("Home")), ("patient.scheduling.appointments", _l("Appointments")),
                ("patient.records.my_record", _l("My record"))],
    # (The week view is one tap from Today; the bar must fit one line on a phone.)
    "doctor": [("doctor.home", _l("Today")), ("doctor.records.patients", _l("Patients")),
               ("doctor.scheduling.availability", _l("My hours"))],
    "lab": [("lab.home", _l("Lab queue"))],
    "pharmacist": [("pharmacy.home", _l("Dispensing")), ("pharmacy.stock.overview", _l("Stock"))],
    "reception": [("reception.home", _l("Front desk")), ("reception.records.patients", _l("Patients"))],
    "admin": [("admin.home", _l("Clinic")), ("admin.accounts.users", _l("People")),
              ("admin.scheduling.doctors", _l("Doctors")), ("admin.audit.trail", _l("Audit")),
              ("admin.notifications.outbox", _l("Outbox"))],
}


def get_form_action(url: str) -> tuple[str, list[tuple[str, str]]]:
    """A GET form's action and the hidden fields its query string must travel in: a browser
    submitting a GET form replaces the action's query string with the form's fields."""
    parts = urlsplit(url)
    return parts._replace(query="").geturl(), parse_qsl(parts.query, keep_blank_values=True)


def register(app) -> None:
    # The domains add their part of the layout (role_label, unread_messages) with their own
    # context processors: see register_hooks in app/__init__.py.
    @app.context_processor
    def layout_context():
        nav = NAVIGATION.get(current_user.role, []) if current_user.is_authenticated else []
        return {"nav_items": nav,
                "inbox_in_nav": current_user.is_authenticated and current_user.role in ROLES_WITH_INBOX,
                "clinic_name": app.config["CLINIC_NAME"],
                "idle_timeout": app.config["IDLE_TIMEOUT_SECONDS"], "idle_warning": app.config["IDLE_WARNING_SECONDS"]}

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["get_form_action"] = get_form_action
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])

    def local(instant):
        return instant.astimezone(zone) if instant is not None else None

    # Instants are stored in UTC and always shown in the clinic's time zone; names of days and months
    # in the reader's language (CLDR patterns: "Mon 02 Mar 2026, 09:00", "Jumatatu 02 Mac 2026, 09:00").
    app.jinja_env.filters["date"] = lambda d: format_day(d, "dd MMM y") if d else ""
    # A day kept as text ("2026-12-01", as encrypted entry content keeps it), shown as `date` shows one.
    app.jinja_env.filters["iso_date"] = lambda s: format_day(dt.date.fromisoformat(s), "dd MMM y") if s else ""
    app.jinja_env.filters["datetime"] = lambda d: format_local(local(d), "dd MMM y HH:mm") if d else ""
    app.jinja_env.filters["local_datetime"] = lambda d: format_local(local(d), "EEE dd MMM y, HH:mm") if d else ""
    app.jinja_env.filters["local_time"] = lambda d: format_local(local(d), "HH:mm") if d else ""
    # Machine formats (form values, links), the same in every language.
    app.jinja_env.filters["local_date_iso"] = lambda d: local(d).date().isoformat() if d else ""
    # A compact UTC instant for form values (every slot button carries one: bytes count on 3G).
    app.jinja_env.filters["instant"] = lambda d: d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ") if d else ""
    app.jinja_env.filters["filesize"] = size_label
    app.jinja_env.filters["weekday_date"] = lambda d: format_day(d, "EEE dd MMM") if d else ""
