"""Sockets per account: counted across processes through Redis, in-process without it, and never
kept by a process that died (its places expire)."""
from __future__ import annotations

import time
import uuid

from redis import Redis

from app.realtime.slots import SocketSlots
from tests.realtime.test_hub import _App


def _slots(redis_client, prefix: str) -> SocketSlots:
    from app.extensions import jobs

    slots = SocketSlots()
    saved = jobs.redis
    jobs.redis = redis_client
    try:
        slots.init_app(_App(prefix))
    finally:
        jobs.redis = saved
    return slots


def test_two_processes_share_one_count_per_account(app, redis_url):
    prefix = f"test-rt-{uuid.uuid4().hex[:8]}:"
    first, second = _slots(Redis.from_url(redis_url), prefix), _slots(Redis.from_url(redis_url), prefix)
    held = [first.acquire("7", limit=3, seconds=60), second.acquire("7", limit=3, seconds=60),
            first.acquire("7", limit=3, seconds=60)]
    assert all(held)
    assert second.acquire("7", limit=3, seconds=60) is None and first.acquire("7", limit=3, seconds=60) is None
    assert second.acquire("8", limit=3, seconds=60) is not None  # another account
    held[0].release()
    assert second.acquire("7", limit=3, seconds=60) is not None
    assert first.count("7") == 3


def test_a_refresh_keeps_a_place_and_never_counts_it_twice(app, redis_url):
    slots = _slots(Redis.from_url(redis_url), f"test-rt-{uuid.uuid4().hex[:8]}:")
    slot = slots.acquire("7", limit=1, seconds=60)
    for _ in range(3):
        slot.refresh()
    assert slots.count("7") == 1


def test_the_places_of_a_process_that_died_expire(app, redis_url):
    """A process killed mid-socket never releases: its places run out after `seconds`."""
    slots = _slots(Redis.from_url(redis_url), f"test-rt-{uuid.uuid4().hex[:8]}:")
    assert slots.acquire("7", limit=1, seconds=0.5) is not None  # never released
    assert slots.acquire("7", limit=1, seconds=0.5) is None
    deadline = time.monotonic() + 5
    while slots.acquire("7", limit=1, seconds=60) is None:
        assert time.monotonic() < deadline, "the dead process's place never expired"
        time.sleep(0.05)


def test_without_redis_each_process_counts_its_own():
    slots = SocketSlots()
    held = [slots.acquire("7", limit=2, seconds=60) for _ in range(2)]
    assert all(held) and slots.acquire("7", limit=2, seconds=60) is None
    held[1].release()
    assert slots.count("7") == 1
    assert slots.acquire("7", limit=2, seconds=60) is not None


def test_with_redis_unreachable_the_process_counts_in_memory(app):
    from tests.realtime.support import free_port

    slots = _slots(Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1),
                   f"test-rt-{uuid.uuid4().hex[:8]}:")
    held = [slots.acquire("7", limit=2, seconds=60) for _ in range(2)]
    assert all(held) and slots.acquire("7", limit=2, seconds=60) is None
    for slot in held:
        slot.release()
    assert slots.acquire("7", limit=2, seconds=60) is not None
