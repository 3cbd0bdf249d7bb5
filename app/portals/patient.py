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
        from app.prescriptions.queries import collectable_count
        from app.records.services import patient_for_user
        from app.scheduling.queries import patient_appointments

        patient = patient_for_user(current_user.id)
        upcoming = patient_appointments(patient.id)[0] if patient else []
        ready = collectable_count(patient_id=patient.id) if patient else 0
        return render_template("portals/patient/home.html", patient=patient, upcoming=upcoming[:3], ready=ready)

    from app.consultations.views.transcripts import patient_bp as consultations_bp
    from app.labs.views.patient import bp as labs_bp
    from app.prescriptions.views.patient import bp as prescriptions_bp
    from app.records.views.patient import bp as records_bp
    from app.scheduling.views.patient import bp as scheduling_bp

    portal.register_blueprint(records_bp)
    portal.register_blueprint(scheduling_bp)
    portal.register_blueprint(prescriptions_bp)
    portal.register_blueprint(consultations_bp)
    portal.register_blueprint(labs_bp)
    return portal
