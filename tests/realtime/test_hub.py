"""The realtime hub: channels, who may listen, fan-out through Redis between processes."""
from __future__ import annotations

import uuid

from app.accounts.models import Role
from app.realtime.channels import may_listen
from app.realtime.hub import Hub
from app.scheduling.channels import CLINIC


class _App:
    def __init__(self, prefix: str) -> None:
        self.config = {"REALTIME_PREFIX": prefix}


def _hub(redis_client, prefix) -> Hub:
    from app.extensions import jobs

    hub = Hub()
    saved = jobs.redis
    jobs.redis = redis_client
    try:
        hub.init_app(_App(prefix))
    finally:
        jobs.redis = saved
    return hub


def test_an_event_published_by_one_hub_reaches_a_subscriber_of_another(app):
    from app.extensions import jobs

    prefix = f"test-rt-{uuid.uuid4().hex[:8]}:"
    listener, publisher = _hub(jobs.redis, prefix), _hub(jobs.redis, prefix)
    with listener.subscribe({"doctor:7"}) as subscription:
        import time

        deadline, event = time.monotonic() + 5, None
        while event is None and time.monotonic() < deadline:  # the listener thread subscribes asynchronously
            publisher.publish("doctor:7", {"type": "appointment", "id": 42})
            event = subscription.get(timeout=0.3)
        assert event == {"type": "appointment", "id": 42, "channel": "doctor:7"}
        publisher.publish("doctor:8", {"type": "appointment", "id": 43})
        assert subscription.get(timeout=0.5) is None  # not subscribed to doctor:8


def test_without_redis_events_fan_out_in_process():
    hub = Hub()
    with hub.subscribe({CLINIC}) as first, hub.subscribe({CLINIC, "doctor:1"}) as second:
        hub.publish(CLINIC, {"type": "appointment", "id": 1})
        assert first.get(timeout=1)["id"] == 1
        assert second.get(timeout=1)["id"] == 1
    assert hub._subscribers == {}


class _User:
    def __init__(self, role: Role, user_id: int) -> None:
        self.role, self.id = role.value, user_id


def test_only_the_right_people_may_listen():
    doctor, other_doctor = _User(Role.DOCTOR, 3), _User(Role.DOCTOR, 4)
    reception, patient = _User(Role.RECEPTION, 5), _User(Role.PATIENT, 6)
    assert may_listen(doctor, "doctor:3") and not may_listen(other_doctor, "doctor:3")
    assert may_listen(reception, "doctor:3") and may_listen(reception, CLINIC)
    assert not may_listen(patient, CLINIC) and not may_listen(patient, "doctor:3")
    assert may_listen(patient, "patient:6") and not may_listen(patient, "patient:7")
    assert not may_listen(doctor, "doctor:abc") and not may_listen(reception, "anything")


def test_a_channel_name_is_parsed_strictly_and_never_raises():
    from app.realtime.channels import channel_parse

    assert channel_parse("clinic") == ("clinic", None)
    assert channel_parse("doctor:3") == ("doctor", 3) and channel_parse("patient:123456789") == ("patient", 123456789)
    for name in ("doctor:²", "doctor:3²", "doctor:١", "doctor:+3", "doctor: 3", "doctor:3 ", "doctor:03", "doctor:0",
                 "doctor:3\n", "doctor:1234567890", "doctor:", "nurse:3", "clinic:3", "Doctor:3", "doctor:3:4", ""):
        assert channel_parse(name) is None, name
        assert not may_listen(_User(Role.RECEPTION, 5), name), name


def test_when_redis_drops_the_listener_every_subscriber_is_told_to_resync(app, redis_url):
    """Events published while the listener was away are lost: the pages must re-fetch everything."""
    import time

    from redis import Redis

    prefix = f"test-rt-{uuid.uuid4().hex[:8]}:"
    own = Redis.from_url(redis_url)
    listener, publisher = _hub(own, prefix), _hub(Redis.from_url(redis_url), prefix)
    with listener.subscribe({"doctor:7"}) as first, listener.subscribe({"clinic"}) as second:
        deadline, event = time.monotonic() + 5, None
        while event is None and time.monotonic() < deadline:  # the listener thread is subscribed
            publisher.publish("doctor:7", {"type": "probe"})
            event = first.get(timeout=0.3)
        assert event is not None
        while first.get(timeout=0.2) is not None:
            pass
        own.connection_pool.disconnect()  # the listener's connection is cut
        assert first.get(timeout=5) == {"type": "resync"}
        assert second.get(timeout=1) == {"type": "resync"}


# -- which channels a connecting page missed ------------------------------------------------------

def _listening_hub(redis_client, prefix) -> Hub:
    hub = _hub(redis_client, prefix)
    hub.subscribe({"probe"})  # starts this process's listener, as a socket does
    return hub


def _now() -> float:
    from app.core.clock import clock

    return clock.now().timestamp()


def _later(seconds: float) -> None:
    import datetime as dt

    from app.core.clock import clock

    clock.advance(dt.timedelta(seconds=seconds))


def test_a_page_is_told_only_the_channels_that_changed_after_it_was_rendered(app):
    from app.extensions import jobs

    prefix = f"test-rt-{uuid.uuid4().hex[:8]}:"
    hub, other_process = _listening_hub(jobs.redis, prefix), _hub(jobs.redis, prefix)
    other_process.publish("doctor:7", {"type": "appointment", "id": 1})
    _later(10)
    rendered = _now()
    assert hub.stale_channels({"doctor:7", "clinic"}, since=rendered) == set()
    _later(10)
    other_process.publish("clinic", {"type": "appointment", "id": 2})
    assert hub.stale_channels({"doctor:7", "clinic"}, since=rendered) == {"clinic"}
    assert hub.stale_channels({"doctor:7", "clinic"}, since=None) == {"doctor:7", "clinic"}  # no time: all
    # A page older than what is kept (two days): everything.
    assert hub.stale_channels({"doctor:8"}, since=_now() - 2 * 24 * 3600) == {"doctor:8"}


def test_an_event_just_before_the_page_time_still_counts(app):
    """Web servers' clocks differ a little and events take a moment: a margin errs towards refreshing."""
    from app.extensions import jobs

    hub = _listening_hub(jobs.redis, f"test-rt-{uuid.uuid4().hex[:8]}:")
    hub.publish("doctor:7", {"type": "appointment", "id": 1})
    _later(1)
    assert hub.stale_channels({"doctor:7"}, since=_now()) == {"doctor:7"}
    _later(2)
    assert hub.stale_channels({"doctor:7"}, since=_now()) == set()


def test_when_the_last_event_times_are_unreachable_every_channel_is_stale(app):
    from redis import Redis

    from tests.realtime.support import free_port

    hub = _hub(Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1),
               f"test-rt-{uuid.uuid4().hex[:8]}:")
    hub._listening.set()  # as if subscribed before Redis went away
    assert hub.stale_channels({"doctor:7", "clinic"}, since=_now()) == {"doctor:7", "clinic"}


def test_after_the_listener_lost_redis_older_pages_refresh_everything(app, redis_url):
    """Events published while Redis was away are in no record: a page rendered before that is stale."""
    import time

    from redis import Redis

    own = Redis.from_url(redis_url)
    hub = _listening_hub(own, f"test-rt-{uuid.uuid4().hex[:8]}:")
    rendered = _now()
    _later(10)
    assert hub.stale_channels({"doctor:7"}, since=rendered) == set()
    own.connection_pool.disconnect()  # the listener's connection is cut; it reconnects
    deadline = time.monotonic() + 10
    while hub.stale_channels({"doctor:7"}, since=rendered) == set():
        assert time.monotonic() < deadline, "a page from before the outage was not told to refresh"
        time.sleep(0.05)


def test_without_redis_the_process_remembers_its_own_events():
    hub = Hub()
    _later(10)
    rendered = _now()
    assert hub.stale_channels({"doctor:7", "clinic"}, since=rendered) == set()
    _later(10)
    hub.publish("clinic", {"type": "appointment", "id": 1})
    assert hub.stale_channels({"doctor:7", "clinic"}, since=rendered) == {"clinic"}
    assert hub.stale_channels({"doctor:7"}, since=_now() - 60) == {"doctor:7"}  # before this process began
