"""The pharmacy portal: /pharmacy/. Its dispensing queue arrives with the prescriptions domain."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("pharmacy", Role.PHARMACIST)

    @portal.route("/")
    def home():
        return render_template("portals/pharmacy/home.html")

    return portal
