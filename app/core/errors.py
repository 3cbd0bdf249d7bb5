"""Domain errors: services raise them, views turn them into messages beside the right field."""
from __future__ import annotations


class DomainError(Exception):
    """A rule of the clinic was broken. `field` names the form field the message belongs beside."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    pass


class AccessDenied(DomainError):
    """The actor may not do this. Answered 403 with the message, wherever it is raised
    (app/core/error_pages.py): no view decides what a refusal looks like."""
