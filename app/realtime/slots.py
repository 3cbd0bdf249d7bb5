"""How many sockets each account has open, across every web process.

With Redis, an account's sockets are the members of a sorted set scored by when they expire; a
socket refreshes its member while it lives (on each ping) and removes it when it closes. A process
that dies takes no count with it: its members expire. Times are Redis's own clock, so web servers
with different clocks agree. Without Redis (or while it is unreachable) each process counts its own.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

log = logging.getLogger(__name__)

# KEYS[1] the account's set; ARGV: member, limit (0: no limit, a refresh), seconds to live.
_CLAIM = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(ARGV[2])
if limit > 0 and redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
return 1
"""


class Slot:
    """One open socket's place in its account's count."""

    def __init__(self, slots: "SocketSlots", owner: str, seconds: float, in_redis: bool) -> None:
        self.slots, self.owner, self.seconds, self.in_redis = slots, owner, seconds, in_redis
        self.member = uuid.uuid4().hex

    def refresh(self) -> None:
        self.slots._claim(self, limit=0)

    def release(self) -> None:
        self.slots._release(self)


class SocketSlots:
    def __init__(self) -> None:
        self.redis = None
        self.prefix = "myafya:rt:"
        self._script = None
        self._local: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def init_app(self, app) -> None:
        from app.extensions import jobs

        self.redis = jobs.redis
        self.prefix = app.config.get("REALTIME_PREFIX", "myafya:rt:")
        self._script = self.redis.register_script(_CLAIM) if self.redis is not None else None
        self._local.clear()

    def acquire(self, owner: str, *, limit: int, seconds: float) -> Slot | None:
        """A place for one more socket of `owner`, kept for `seconds` unless refreshed; None when
        `owner` already has `limit` sockets open."""
        slot = Slot(self, owner, seconds, in_redis=self.redis is not None)
        return slot if self._claim(slot, limit=limit) else None

    def _key(self, owner: str) -> str:
        return f"{self.prefix}sockets:{owner}"

    def _claim(self, slot: Slot, *, limit: int) -> bool:
        if slot.in_redis:
            try:
                return bool(self._script(keys=[self._key(slot.owner)], args=[slot.member, limit, slot.seconds]))
            except Exception as exc:
                # Count in this process until Redis is back: a cap per process is still a cap.
                log.warning("socket count unavailable in Redis (%s): counting in-process", exc.__class__.__name__)
                slot.in_redis = False
        now = time.monotonic()
        with self._lock:
            members = {m: until for m, until in self._local.get(slot.owner, {}).items() if until > now}
            if limit and slot.member not in members and len(members) >= limit:
                self._local[slot.owner] = members
                return False
            members[slot.member] = now + slot.seconds
            self._local[slot.owner] = members
            return True

    def _release(self, slot: Slot) -> None:
        if slot.in_redis:
            try:
                self.redis.zrem(self._key(slot.owner), slot.member)
            except Exception as exc:
                log.warning("socket count not released in Redis (%s): it expires", exc.__class__.__name__)
            return
        with self._lock:
            members = self._local.get(slot.owner, {})
            members.pop(slot.member, None)
            if not members:
                self._local.pop(slot.owner, None)

    def count(self, owner: str) -> int:
        """Sockets `owner` has open (for tests and operators)."""
        if self.redis is not None:
            try:
                clock = self.redis.time()
                return int(self.redis.zcount(self._key(owner), clock[0] + clock[1] / 1e6, "+inf"))
            except Exception:
                pass
        now = time.monotonic()
        with self._lock:
            return sum(1 for until in self._local.get(owner, {}).values() if until > now)
