"""Owns one asyncio task per call. StasisStart opens the call's subscription *before* its task
starts (no event can be missed); StasisEnd ends it, and a task still running shortly after is
cancelled so a stuck call can never outlive its channel."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.events import Event, StasisEnd, StasisStart
from ivr.errors import ServiceUnavailable

log = logging.getLogger(__name__)

CallHandler = Callable[[StasisStart, Subscription], Coroutine[Any, Any, None]]


class CallSupervisor:
    def __init__(self, bus: EventBus, handlers: dict[str, CallHandler], grace: float = 2.0):
        self.bus = bus
        self.handlers = handlers            # first StasisStart argument -> handler ("inbound", ...)
        self.tasks: dict[str, asyncio.Task] = {}
        self.grace = grace

    def on_event(self, event: Event) -> None:
        if isinstance(event, StasisStart) and event.args and event.args[0] in self.handlers \
                and event.channel.id not in self.tasks:
            self.start(event)
        self.bus.publish(event)
        if isinstance(event, StasisEnd) and (task := self.tasks.get(event.channel.id)):
            asyncio.get_running_loop().call_later(self.grace, self._cancel_if_running, task)

    def start(self, event: StasisStart) -> asyncio.Task:
        channel_id = event.channel.id
        sub = self.bus.subscribe(channel_id)
        task = asyncio.create_task(self._run(event, sub), name=f"call-{channel_id}")
        self.tasks[channel_id] = task
        return task

    def follow(self, channel_id: str, successor: str) -> None:
        """The task of `channel_id` now lives as long as `successor` does (a call-back's customer
        once bridged: the staff leg may leave with a transfer and the call goes on)."""
        if (task := self.tasks.pop(channel_id, None)) is not None:
            self.tasks[successor] = task

    async def _run(self, event: StasisStart, sub: Subscription) -> None:
        try:
            await self.handlers[event.args[0]](event, sub)
        except asyncio.CancelledError:
            log.info("call cancelled call=%s", event.channel.id)
            raise
        except ServiceUnavailable as e:
            # Asterisk unreachable (or the node left to another instance): the channel stays there.
            log.warning("call left to asterisk call=%s error=%s", event.channel.id, e.message)
        except Exception:
            log.exception("call failed call=%s", event.channel.id)
        finally:
            sub.cancel()
            this = asyncio.current_task()
            for channel_id in [c for c, task in self.tasks.items() if task is this]:
                del self.tasks[channel_id]

    @staticmethod
    def _cancel_if_running(task: asyncio.Task) -> None:
        if not task.done():
            task.cancel()

    def known(self, channel_id: str) -> bool:
        return channel_id in self.tasks

    async def shutdown(self, timeout: float = 5.0) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
