"""The lab portal: /lab/. Its work queue arrives with the lab orders domain."""
from __future__ import annotations

from flask import render_template

from app.accounts.models import Role
from app.portals import make_portal


def build():
    portal = make_portal("lab", Role.LAB)

    @portal.route("/")
    def home():
        return render_template("portals/lab/home.html")

    return portal
