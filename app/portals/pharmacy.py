"""The pharmacy portal: /pharmacy/. Home is the dispensing queue; stock has its own pages."""
from __future__ import annotations

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("pharmacy", Role.PHARMACIST)

    from app.prescriptions.services import NoPharmacy
    from app.prescriptions.views._common import no_pharmacy_page
    from app.prescriptions.views.dispensing import bp as dispensing_bp
    from app.prescriptions.views.dispensing import queue_page
    from app.prescriptions.views.pharmacy import bp as stock_bp

    portal.add_url_rule("/", "home", queue_page)
    portal.register_error_handler(NoPharmacy, no_pharmacy_page)
    portal.register_blueprint(dispensing_bp)
    portal.register_blueprint(stock_bp)
    return portal
