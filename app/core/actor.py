"""Who is acting: the explicit actor every service and the audit trail take as an argument.

A view builds it from the request (app/core/request_actor.py: `current_actor()`); a job or a
command acts as a named system actor (`Actor.system("seed-demo")`). Services never read the
request's globals: what they know of the person is what the actor says.
"""
from __future__ import annotations

import dataclasses

SYSTEM = "system"
ANONYMOUS = "anonymous"


@dataclasses.dataclass(frozen=True)
class Grant:
    """A right over one patient's data given to one signed-in session for a while (an emergency
    access): proven by its audit row (`audit_seq`), until `until` (epoch seconds). The records
    access module decides what it is worth; the actor only carries it."""

    patient_id: int
    audit_seq: int
    until: int


@dataclasses.dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str                     # a Role value, "anonymous" or "system"
    session: str | None = None    # a non-secret id of the signed-in session (never its token)
    ip: str | None = None
    origin: str | None = None     # the request's path, or the job's or command's name
    grants: tuple[Grant, ...] = ()

    @classmethod
    def system(cls, name: str) -> Actor:
        """A job or a command: no person, no session; `name` is recorded where a path would be."""
        return cls(user_id=None, role=SYSTEM, origin=name)

    @classmethod
    def for_user(cls, user, **fields) -> Actor:
        """An account acting outside a request (tests, a command run for someone): its id and role."""
        return cls(user_id=user.id, role=user.role, **fields)

    @property
    def is_system(self) -> bool:
        return self.role == SYSTEM

    def grant_for(self, patient_id: int) -> Grant | None:
        return next((g for g in self.grants if g.patient_id == patient_id), None)
