"""The realtime hub: publish an event on a channel; every web process delivers it to its sockets.

With Redis, `publish` goes through Redis pub/sub and one listener thread per process fans events
out to the local subscribers; without Redis (the embedded default) it fans out in-process.
Events name what changed ({"type": "appointment", "id": 42}), never clinical content: a page
that receives one re-fetches its fragment through an ordinary, authorised request.

The hub also remembers when each channel last had an event, so a page that connects can be told
which of its channels changed after it was rendered (`stale_channels`), instead of re-fetching
everything it has just loaded.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time

from app.realtime.freshness import server_time

log = logging.getLogger(__name__)

# How long a channel's last-event time is kept. A page older than this re-fetches on connect.
LAST_EVENT_SECONDS = 24 * 3600
# Times come from the web servers' clocks (NTP keeps them within milliseconds) and an event takes a
# moment to travel: an event this close before a page's time still counts as after it.
CLOCK_MARGIN_SECONDS = 2.0
# How long a socket waits for this process's listener to be subscribed before assuming the worst.
LISTENER_WAIT_SECONDS = 2.0


class Subscription:
    def __init__(self, hub: "Hub", channels: frozenset[str], inbox: queue.Queue | None = None) -> None:
        self.hub = hub
        self.channels = channels
        self.queue: queue.Queue = inbox if inbox is not None else queue.Queue(maxsize=500)

    def get(self, timeout: float) -> dict | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub._remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Hub:
    def __init__(self) -> None:
        self.redis = None
        self.prefix = "myafya:rt:"
        self._subscribers: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()    # the listener's pattern subscription is confirmed
        self._last_event: dict[str, float] = {}  # without Redis
        self._events_from = server_time()        # without Redis: what this process has seen since
        self._events_from_dirty = False          # a publish failed: Redis may lack a last-event time

    def init_app(self, app) -> None:
        from app.extensions import jobs

        self.redis = jobs.redis
        self.prefix = app.config.get("REALTIME_PREFIX", "myafya:rt:")
        self._listening.clear()  # a running listener subscribes anew (tests bind again)
        self._last_event.clear()
        self._events_from = server_time()

    def _last_key(self, channel: str) -> str:
        return f"{self.prefix}last:{channel}"

    @property
    def _from_key(self) -> str:
        # Since when the last-event times in Redis are complete: moved to "now" when they may have
        # gaps (the listener lost Redis, a publish failed) or start again (the first event after a
        # restart of Redis). Pages rendered before it re-fetch everything.
        return f"{self.prefix}events-from"

    # -- publishing --------------------------------------------------------------------------------
    def publish(self, channel: str, event: dict) -> None:
        """Call after commit (app.core.db.on_commit): listeners must find the new state in the database."""
        message = dict(event, channel=channel)
        now = server_time()
        if self.redis is None:
            self._last_event[channel] = now
            self._dispatch(channel, message)
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            if self._events_from_dirty:
                pipe.set(self._from_key, repr(now))
            else:
                pipe.set(self._from_key, repr(now), nx=True)
            pipe.expire(self._from_key, 7 * LAST_EVENT_SECONDS)
            # The time first, then the event: a socket reading the times before this SET gets the event.
            pipe.set(self._last_key(channel), repr(now), ex=LAST_EVENT_SECONDS)
            pipe.publish(self.prefix + channel, json.dumps(message))
            pipe.execute()
            self._events_from_dirty = False
        except Exception as exc:
            # Pages catch up when they reconnect or reload; the state itself is in the database.
            self._events_from_dirty = True
            log.warning("realtime publish on %s failed (%s)", channel, exc.__class__.__name__)

    def publish_after_commit(self, session, event: dict, *channels: str | None) -> None:
        """Publish `event` on each of `channels` (None skipped) once `session` commits; nothing if it
        rolls back."""
        from app.core.db import on_commit

        wanted = [channel for channel in channels if channel]
        on_commit(session, lambda: [self.publish(channel, event) for channel in wanted])

    # -- what a connecting page missed -------------------------------------------------------------
    def stale_channels(self, channels: set[str], *, since: float | None) -> set[str]:
        """Those of `channels` that had an event at or after `since` (a server time the page was
        given when it was rendered): the page must re-fetch them. All of them when that is not known:
        no `since`, a page older than the records, this process not yet listening, Redis unreachable.

        Call it after subscribing: an event is then either recorded before this read or delivered
        (it waits, briefly, for this process's listener to be subscribed).
        """
        if self.redis is not None and not self._listening.wait(timeout=LISTENER_WAIT_SECONDS):
            return set(channels)
        if since is None:
            return set(channels)
        after = since - CLOCK_MARGIN_SECONDS
        if self.redis is None:
            if after < self._events_from:
                return set(channels)
            return {c for c in channels if self._last_event.get(c, 0.0) >= after}
        names = sorted(channels)
        try:
            values = self.redis.mget([self._from_key] + [self._last_key(c) for c in names])
            events_from = max(float(values[0] or 0), server_time() - LAST_EVENT_SECONDS)
        except Exception as exc:
            log.warning("realtime last-event times unavailable (%s): every channel is stale", exc.__class__.__name__)
            return set(channels)
        if after < events_from:
            return set(channels)
        return {c for c, value in zip(names, values[1:]) if value is not None and float(value) >= after}

    # -- subscribing -------------------------------------------------------------------------------
    def subscribe(self, channels: set[str], *, inbox: queue.Queue | None = None) -> Subscription:
        """Events on `channels` go to the subscription's queue: `inbox` when given (a socket that
        also waits for other things there), a queue of its own otherwise."""
        subscription = Subscription(self, frozenset(channels), inbox)
        with self._lock:
            for channel in subscription.channels:
                self._subscribers.setdefault(channel, set()).add(subscription)
        if self.redis is not None:
            self._ensure_listener()
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            for channel in subscription.channels:
                subscribers = self._subscribers.get(channel)
                if subscribers:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._subscribers[channel]

    def _dispatch(self, channel: str, message: dict) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for subscription in targets:
            try:
                subscription.queue.put_nowait(message)
            except queue.Full:
                pass  # a stuck client; it refreshes everything when it reconnects

    def _dispatch_all(self, message: dict) -> None:
        with self._lock:
            targets = {s for subscribers in self._subscribers.values() for s in subscribers}
        for subscription in targets:
            try:
                subscription.queue.put_nowait(message)
            except queue.Full:
                pass

    def _ensure_listener(self) -> None:
        with self._lock:
            if self._listener is not None and self._listener.is_alive():
                return
            self._listener = threading.Thread(target=self._listen, name="realtime-listener", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        backoff, lost = 0.5, False
        while True:
            try:
                bound = (self.redis, self.prefix)
                pubsub = self.redis.pubsub()
                pubsub.psubscribe(self.prefix + "*")
                while (pubsub.get_message(timeout=1.0) or {}).get("type") != "psubscribe":
                    pass
                backoff = 0.5
                if lost:
                    # Events published while Redis was away are gone: every open page re-fetches, and
                    # so does any page rendered before now that connects later.
                    self.redis.set(self._from_key, repr(server_time()), ex=7 * LAST_EVENT_SECONDS)
                    self._dispatch_all({"type": "resync"})
                    lost = False
                self._listening.set()
                while (self.redis, self.prefix) == bound:  # init_app again (tests): subscribe anew
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message["type"] != "pmessage":
                        continue
                    channel = message["channel"].decode()[len(self.prefix):]
                    self._dispatch(channel, json.loads(message["data"]))
                pubsub.close()
            except Exception as exc:
                self._listening.clear()
                lost = True
                log.warning("realtime listener lost Redis (%s); reconnecting", exc.__class__.__name__)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)
