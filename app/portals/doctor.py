"""The doctor portal: /doctor/."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("doctor", Role.DOCTOR)

    @portal.route("/")
    def home():
        from flask import url_for
        from flask_login import current_user

        from app.labs.views.doctor import day_alerts
        from app.prescriptions.queries import prescriber_waiting_count
        from app.scheduling.views.doctor import day_context

        # The day is scheduling's page; the portal adds the doors to prescriptions and labs (layers above
        # it): pharmacy questions and refill requests, and lab results waiting for this doctor (live).
        return render_template("scheduling/doctor/day.html", **day_context(),
                               prescriptions_url=url_for("doctor.prescriptions.prescriptions"),
                               prescriptions_waiting=prescriber_waiting_count(prescriber_id=current_user.id),
                               **day_alerts())

    from app.consultations.views.transcripts import doctor_bp as consultations_bp
    from app.labs.views.doctor import bp as labs_bp
    from app.prescriptions.views.doctor import bp as prescriptions_bp
    from app.records.views.doctor import bp as records_bp
    from app.scheduling.views.doctor import bp as scheduling_bp

    portal.register_blueprint(records_bp)
    portal.register_blueprint(scheduling_bp)
    portal.register_blueprint(prescriptions_bp)
    portal.register_blueprint(consultations_bp)
    portal.register_blueprint(labs_bp)
    return portal
