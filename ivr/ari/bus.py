"""Routes decoded events to subscriptions keyed by the ids they concern.

Subscribe before you act: a call creates its ids, subscribes, then plays or dials, so no event is
missed. Queues are bounded; an overflow is loud (logged, and the subscription fails) rather than a
silent drop that would leave a call waiting forever.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from ivr.ari.events import Event
from ivr.errors import IvrError

log = logging.getLogger(__name__)


class SubscriptionOverflow(IvrError):
    error_id = "event-overflow"


class Subscription:
    def __init__(self, bus: "EventBus", keys: tuple[str, ...], size: int):
        self._bus = bus
        self.keys = keys
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self._overflowed = False

    def put(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            if not self._overflowed:
                log.error("event queue full for %s, dropping the subscription", self.keys)
            self._overflowed = True

    def add_key(self, key: str) -> None:
        self.keys += (key,)
        self._bus._add(key, self)

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; TimeoutError after `timeout` seconds without one."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if self._overflowed:
            raise SubscriptionOverflow(f"events lost for {self.keys}")
        if timeout is None:
            return await self._queue.get()
        # Not wait_for: it wraps the get in a task of its own (with the requests' wait_for, 9 % of
        # the service's CPU per call).
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def cancel(self) -> None:
        self._bus._remove(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class EventBus:
    def __init__(self, queue_size: int = 512):
        self._subs: dict[str, list[Subscription]] = defaultdict(list)
        self._queue_size = queue_size

    def subscribe(self, *keys: str) -> Subscription:
        sub = Subscription(self, tuple(keys), self._queue_size)
        for key in keys:
            self._add(key, sub)
        return sub

    def publish(self, event: Event) -> None:
        seen: set[int] = set()
        for key in event.keys():
            for sub in self._subs.get(key, ()):
                if id(sub) not in seen:
                    seen.add(id(sub))
                    sub.put(event)

    def publish_to(self, key: str, event: Event) -> None:
        """Deliver a synthetic event to the subscriptions of one key."""
        for sub in self._subs.get(key, ()):
            sub.put(event)

    def _add(self, key: str, sub: Subscription) -> None:
        self._subs[key].append(sub)

    def _remove(self, sub: Subscription) -> None:
        for key in sub.keys:
            subs = self._subs.get(key)
            if subs and sub in subs:
                subs.remove(sub)
                if not subs:
                    del self._subs[key]
