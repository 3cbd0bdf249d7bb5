"""The patient portal: /patient/."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("patient", Role.PATIENT)

    @portal.route("/")
    def home():
        from app.records.services import patient_for_user

        return render_template("portals/patient/home.html", patient=patient_for_user(current_user.id))

    from app.records.views.patient import bp as records_bp

    portal.register_blueprint(records_bp)
    return portal
