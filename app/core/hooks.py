"""Calls that go up a layer: a lower module (core, realtime, a domain another one depends on) names
what it needs as a `Hook`, and create_app registers the answer of the module above (see
`register_hooks` in app/__init__.py). The lower module never imports the higher one (.importlinter).

A hook nothing answered raises: an audit or an access check that silently did nothing would go unseen.
"""
from __future__ import annotations

from typing import Any, Callable


class Hook:
    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self._answer: Callable[..., Any] | None = None

    def register(self, answer: Callable[..., Any]) -> None:
        self._answer = answer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._answer is None:
            raise RuntimeError(f"nothing answers the hook {self.purpose!r}: create_app registers it")
        return self._answer(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.purpose!r}: {getattr(self._answer, '__qualname__', None)}>"


# What core asks of the audit domain.
audit_denial = Hook("audit a request an access policy refused (actor=, reason=, patient_id=, target=)")
audit_refused_request = Hook("keep the audit rows of the clinical reads a refused request made")
