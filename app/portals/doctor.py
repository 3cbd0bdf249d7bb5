"""The doctor portal: /doctor/."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("doctor", Role.DOCTOR)

    @portal.route("/")
    def home():
        from app.scheduling.views.doctor import day_context

        return render_template("scheduling/doctor/day.html", **day_context())

    from app.prescriptions.views.doctor import bp as prescriptions_bp
    from app.records.views.doctor import bp as records_bp
    from app.scheduling.views.doctor import bp as scheduling_bp

    portal.register_blueprint(records_bp)
    portal.register_blueprint(scheduling_bp)
    portal.register_blueprint(prescriptions_bp)
    return portal
