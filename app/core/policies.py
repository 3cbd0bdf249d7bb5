"""Access policies: every endpoint declares who may use it, and anything undeclared is denied.

Declare on a view with `@public`, `@signed_in` or `@roles(Role.DOCTOR, ...)`, or for a whole
blueprint with `blueprint_policy(bp, roles(...))` (the portals do this). The app's
`before_request` guard (`enforce`) looks the policy up for the matched endpoint; an endpoint with
none gets a 403, and tests/test_route_policies.py fails on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user

from app.core import hooks


@dataclass(frozen=True)
class Policy:
    name: str
    allow_anonymous: bool = False
    roles: frozenset[str] | None = None  # None: any signed-in user

    def check(self, user) -> str:
        """'ok', 'login' (send to the login page) or 'forbidden'."""
        if self.allow_anonymous:
            return "ok"
        if not user.is_authenticated:
            return "login"
        if self.roles is not None and user.role not in self.roles:
            return "forbidden"
        return "ok"


PUBLIC = Policy("public", allow_anonymous=True)
SIGNED_IN = Policy("signed-in")


def role_policy(*roles) -> Policy:
    names = frozenset(getattr(r, "value", r) for r in roles)
    return Policy("roles:" + ",".join(sorted(names)), roles=names)


def _attach(policy: Policy) -> Callable:
    def decorate(view):
        view.access_policy = policy
        return view

    return decorate


public = _attach(PUBLIC)
signed_in = _attach(SIGNED_IN)


def roles(*role_values) -> Callable:
    return _attach(role_policy(*role_values))


_BLUEPRINT_POLICIES: dict[str, Policy] = {}


def blueprint_policy(blueprint: Blueprint, policy: Policy) -> None:
    """Every endpoint of `blueprint` (and of the blueprints nested in it) gets `policy`,
    unless the view declares a narrower one itself."""
    _BLUEPRINT_POLICIES[blueprint.name] = policy


def policy_for(endpoint: str | None) -> Policy | None:
    if endpoint is None:
        return None
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    declared = getattr(view, "access_policy", None)
    if declared is not None:
        return declared
    # Nested blueprints name endpoints "outer.inner.view": the innermost declared policy wins.
    parts = endpoint.split(".")[:-1]
    for i in range(len(parts), 0, -1):
        policy = _BLUEPRINT_POLICIES.get(".".join(parts[:i]))
        if policy is not None:
            return policy
    return None


def enforce():
    """before_request: apply the endpoint's policy; no policy means deny."""
    if request.endpoint is None:
        return None  # 404/405: Flask answers that itself
    policy = policy_for(request.endpoint)
    if policy is None:
        current_app.logger.error("endpoint %s has no access policy: denied", request.endpoint)
        _record_denial("no policy declared")
        abort(403)
    verdict = policy.check(current_user)
    if verdict == "login":
        return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))
    if verdict == "forbidden":
        _record_denial(policy.name)
        abort(403)
    return None


def _record_denial(reason: str) -> None:
    from app.core.request_actor import current_actor

    patient_id = (request.view_args or {}).get("patient_id")
    hooks.audit_denial(actor=current_actor(), reason=reason,
                       patient_id=patient_id if isinstance(patient_id, int) else None, target=request.endpoint)
