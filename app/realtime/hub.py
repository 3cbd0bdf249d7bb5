"""The realtime hub: publish an event on a channel; every web process delivers it to its sockets.

With Redis, `publish` goes through Redis pub/sub and one listener thread per process fans events
out to the local subscribers; without Redis (the embedded default) it fans out in-process.
Events name what changed ({"type": "appointment", "id": 42}), never clinical content: a page
that receives one re-fetches its fragment through an ordinary, authorised request.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time

log = logging.getLogger(__name__)


class Subscription:
    def __init__(self, hub: "Hub", channels: frozenset[str]) -> None:
        self.hub = hub
        self.channels = channels
        self.queue: queue.Queue = queue.Queue(maxsize=500)

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

    def init_app(self, app) -> None:
        from app.extensions import jobs

        self.redis = jobs.redis
        self.prefix = app.config.get("REALTIME_PREFIX", "myafya:rt:")

    # -- publishing --------------------------------------------------------------------------------
    def publish(self, channel: str, event: dict) -> None:
        """Call after commit (app.core.db.on_commit): listeners must find the new state in the database."""
        message = dict(event, channel=channel)
        if self.redis is None:
            self._dispatch(channel, message)
            return
        try:
            self.redis.publish(self.prefix + channel, json.dumps(message))
        except Exception as exc:
            # Pages catch up when they reconnect or reload; the state itself is in the database.
            log.warning("realtime publish on %s failed (%s)", channel, exc.__class__.__name__)

    # -- subscribing -------------------------------------------------------------------------------
    def subscribe(self, channels: set[str]) -> Subscription:
        subscription = Subscription(self, frozenset(channels))
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
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.prefix + "*")
                backoff = 0.5
                if lost:
                    # Events published while Redis was away are gone: every open page re-fetches.
                    self._dispatch_all({"type": "resync"})
                    lost = False
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    channel = message["channel"].decode()[len(self.prefix):]
                    self._dispatch(channel, json.loads(message["data"]))
            except Exception as exc:
                lost = True
                log.warning("realtime listener lost Redis (%s); reconnecting", exc.__class__.__name__)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)

