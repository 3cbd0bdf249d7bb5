"""Template globals: asset URLs, the role's navigation, date formats."""
from __future__ import annotations

import datetime as dt

from flask_login import current_user

from app.core.assets import asset_url

# Roles that receive in-app messages (doctors: new bookings, cancellations, arrivals) keep the link in view.
ROLES_WITH_INBOX = {"doctor"}

NAVIGATION = {
    "patient": [("patient.home", "Home"), ("patient.scheduling.appointments", "Appointments"),
                ("patient.records.my_record", "My record")],
    # (The week view is one tap from Today; the bar must fit one line on a phone.)
    "doctor": [("doctor.home", "Today"), ("doctor.records.patients", "Patients"),
               ("doctor.scheduling.availability", "My hours")],
    "lab": [("lab.home", "Lab queue")],
    "pharmacist": [("pharmacy.home", "Dispensing")],
    "reception": [("reception.home", "Front desk"), ("reception.records.patients", "Patients")],
    "admin": [("admin.home", "Clinic"), ("admin.accounts.users", "People"), ("admin.scheduling.doctors", "Doctors"),
              ("admin.accounts.audit", "Audit"), ("admin.notifications.outbox", "Outbox")],
}


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
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])

    def local(instant):
        return instant.astimezone(zone) if instant is not None else None

    # Instants are stored in UTC and always shown in the clinic's time zone.
    app.jinja_env.filters["date"] = lambda d: d.strftime("%d %b %Y") if d else ""
    app.jinja_env.filters["datetime"] = lambda d: local(d).strftime("%d %b %Y %H:%M") if d else ""
    app.jinja_env.filters["local_datetime"] = lambda d: local(d).strftime("%a %d %b %Y, %H:%M") if d else ""
    app.jinja_env.filters["local_time"] = lambda d: local(d).strftime("%H:%M") if d else ""
    app.jinja_env.filters["local_date_iso"] = lambda d: local(d).date().isoformat() if d else ""
    # A compact UTC instant for form values (every slot button carries one: bytes count on 3G).
    app.jinja_env.filters["instant"] = lambda d: d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ") if d else ""
    app.jinja_env.filters["weekday_date"] = lambda d: d.strftime("%a %d %b") if d else ""
