"""The administrator's portal: /admin/."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("admin", Role.ADMIN)

    @portal.route("/")
    def home():
        from app.accounts.queries import staff_counts
        from app.notifications.services import outbox_review_count

        return render_template("portals/admin/home.html", counts=staff_counts(), outbox_review=outbox_review_count())

    from app.accounts.views.admin import bp as accounts_bp
    from app.consultations.views.admin import bp as call_quality_bp
    from app.labs.views.admin import bp as lab_catalogue_bp
    from app.notifications.views.admin import bp as notifications_bp
    from app.prescriptions.views.admin import bp as formulary_bp
    from app.records.views.admin import bp as audit_bp
    from app.records.views.admin_merge import bp as merge_bp
    from app.scheduling.views.admin import bp as scheduling_bp

    portal.register_blueprint(accounts_bp)
    portal.register_blueprint(scheduling_bp)
    portal.register_blueprint(notifications_bp)
    portal.register_blueprint(audit_bp)
    portal.register_blueprint(merge_bp)
    portal.register_blueprint(formulary_bp)
    portal.register_blueprint(lab_catalogue_bp)
    portal.register_blueprint(call_quality_bp)
    return portal
