"""The six role portals: each a blueprint with its URL prefix, its access guard and its home.

A portal nests the domain view blueprints of its audience (doctor -> records.views.doctor), so a
role's pages live with their domain while sharing the portal's prefix and guard.
"""
from __future__ import annotations

from flask import Blueprint

from app.accounts.models import Role
from app.core.policies import blueprint_policy, role_policy


def make_portal(name: str, role: Role) -> Blueprint:
    portal = Blueprint(name, __name__, url_prefix=f"/{name}")
    blueprint_policy(portal, role_policy(role))
    return portal


def all_portals() -> list[Blueprint]:
    from app.portals import admin, doctor, lab, patient, pharmacy, reception

    return [module.build() for module in (patient, doctor, lab, pharmacy, reception, admin)]
