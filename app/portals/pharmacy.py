"""The pharmacy portal: /pharmacy/. Its dispensing queue arrives with prescriptions; stock is here."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("pharmacy", Role.PHARMACIST)

    @portal.route("/")
    def home():
        from app.prescriptions import queries, services
        from app.scheduling.clinic_time import local_today

        try:
            site = services.pharmacy_of(user_id=current_user.id)
        except services.NoPharmacy:
            site = None
        counts = queries.stock_alert_counts(site_id=site.id, today=local_today()) if site else None
        return render_template("portals/pharmacy/home.html", site=site, counts=counts)

    from app.prescriptions.views.pharmacy import bp as stock_bp

    portal.register_blueprint(stock_bp)
    return portal
