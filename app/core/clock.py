"""The one clock the domain reads. Tests move it (`clock.freeze`, `clock.advance`) instead of sleeping."""
from __future__ import annotations

import datetime as dt
import threading


class Clock:
    def __init__(self) -> None:
        self._frozen: dt.datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        frozen = self._frozen
        return frozen if frozen is not None else dt.datetime.now(dt.timezone.utc)

    def freeze(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("freeze the clock at an aware datetime")
        with self._lock:
            self._frozen = at.astimezone(dt.timezone.utc)

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._frozen = (self._frozen or dt.datetime.now(dt.timezone.utc)) + delta

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen = None


clock = Clock()
