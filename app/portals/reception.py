"""The reception desk: /reception/."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("reception", Role.RECEPTION)

    @portal.route("/")
    def home():
        from app.scheduling.views.reception import queue_context

        return render_template("scheduling/reception/queue.html", **queue_context())

    from app.records.views.reception import bp as records_bp
    from app.scheduling.views.reception import bp as scheduling_bp

    portal.register_blueprint(records_bp)
    portal.register_blueprint(scheduling_bp)
    return portal
