"""The reception desk: /reception/."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("reception", Role.RECEPTION)

    @portal.route("/")
    def home():
        return render_template("portals/reception/home.html")

    from app.records.views.reception import bp as records_bp

    portal.register_blueprint(records_bp)
    return portal
