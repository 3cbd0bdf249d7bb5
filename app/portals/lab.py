"""The lab portal: /lab/. Home is the technician's sample queue (app/labs/views/lab.py)."""
from __future__ import annotations

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("lab", Role.LAB)

    from app.labs.services import NoLab
    from app.labs.views.lab import bp as bench_bp
    from app.labs.views.lab import no_lab_page, queue_page

    portal.add_url_rule("/", "home", queue_page)
    portal.register_error_handler(NoLab, no_lab_page)
    portal.register_blueprint(bench_bp)
    return portal
