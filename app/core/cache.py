"""A small cache with versioned keys: Redis when configured, process memory otherwise.

`bump(name)` moves a version counter that is part of every key cached under `name`, so a writer
invalidates all of them at once, and a reader that computed from old data stores its result under
the old version, where nobody looks any more. If Redis is unreachable the value is computed fresh.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)


class Cache:
    def __init__(self) -> None:
        self.redis = None
        self.prefix = "myafya:"
        self._memory: dict[str, tuple[float, object]] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def init_app(self, app) -> None:
        from app.extensions import jobs

        self.redis = jobs.redis
        self.prefix = app.config.get("CACHE_PREFIX", "myafya:")
        self._memory.clear()
        self._versions.clear()

    def _version(self, name: str) -> int | None:
        if self.redis is None:
            return self._versions.get(name, 0)
        try:
            return int(self.redis.get(f"{self.prefix}ver:{name}") or 0)
        except Exception as exc:
            log.warning("cache unavailable (%s): computing without it", exc.__class__.__name__)
            return None

    def bump(self, name: str) -> None:
        if self.redis is None:
            with self._lock:
                self._versions[name] = self._versions.get(name, 0) + 1
            return
        try:
            self.redis.incr(f"{self.prefix}ver:{name}")
        except Exception as exc:
            # Entries expire within their TTL; meanwhile the database still refuses a double booking.
            log.warning("could not invalidate %s (%s)", name, exc.__class__.__name__)

    def get_or_compute(self, name: str, key: str, ttl_seconds: int, compute: Callable[[], object]):
        version = self._version(name)
        if version is None:
            return compute()
        full_key = f"{self.prefix}{key}:v{version}"
        hit = self._get(full_key)
        if hit is not None:
            return hit
        value = compute()
        self._set(full_key, value, ttl_seconds)
        return value

    def _get(self, key: str):
        if self.redis is None:
            entry = self._memory.get(key)
            return None if entry is None or entry[0] < time.monotonic() else entry[1]
        try:
            raw = self.redis.get(key)
        except Exception:
            return None
        return None if raw is None else json.loads(raw)

    def _set(self, key: str, value, ttl_seconds: int) -> None:
        if self.redis is None:
            with self._lock:
                if len(self._memory) > 10_000:
                    self._memory.clear()
                self._memory[key] = (time.monotonic() + ttl_seconds, value)
            return
        try:
            self.redis.set(key, json.dumps(value), ex=ttl_seconds)
        except Exception:
            pass

