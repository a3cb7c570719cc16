"""A dead node's calls: when the node's Asterisk stays unreachable for `after` seconds, the calls it
carried are gone with it. Each is recorded with the outcome `node_lost` (with its caller, as any
call) and reviewed, so an inbound caller becomes a missed-call item to call back.

Calls this instance runs are told first (`NodeLost`: their flow stores them as usual); records of
the node still open after that (calls of an instance that died with the node, or flows that did not
listen in time) are closed here.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from ivr.ari.bus import EventBus
from ivr.ari.client import AriClient
from ivr.calls.session import NODE_LOST, NodeLost
from ivr.calls.supervisor import CallSupervisor
from ivr.store.calls import CallRecord, CallStore, NewStep
from ivr.store.retry import until_stored

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
FLOW_GRACE = 2.0        # how long the calls' own flows get to store their end


class LostCalls:
    def __init__(self, node: str, ari: AriClient, supervisor: CallSupervisor, bus: EventBus, calls: CallStore,
                 review: Callable[[CallRecord], Awaitable[object]], now: Callable[[], datetime], after: float):
        self.node, self.ari, self.supervisor, self.bus = node, ari, supervisor, bus
        self.calls, self.review, self.now, self.after = calls, review, now, after

    async def run(self) -> None:
        """Watch the node's ARI: down for `after` seconds means the node and its calls are lost."""
        down_since: float | None = None
        declared = False
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if self.ari.connected:
                down_since, declared = None, False
                continue
            down_since = down_since or time.monotonic()
            if not declared and time.monotonic() - down_since >= self.after:
                declared = True
                try:
                    await self.node_lost()
                except Exception:
                    log.exception("recording the lost node's calls failed node=%s", self.node)

    async def node_lost(self) -> int:
        """Record every call of the node as lost; returns how many records were closed here."""
        live = list(self.supervisor.tasks.items())
        log.error("node unreachable for %.0f s, its calls are lost node=%s calls=%d", self.after, self.node, len(live))
        for channel_id, _ in live:
            self.bus.publish_to(channel_id, NodeLost("NodeLost"))
        if live:
            await asyncio.wait([task for _, task in live], timeout=FLOW_GRACE)
            stuck = [task for _, task in live if not task.done()]
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck, timeout=FLOW_GRACE)
        closed = 0
        prefix = f"{self.node}-"
        for record in await until_stored(self.calls.open_calls, "reading the lost node's calls"):
            if not record.channel_id.startswith(prefix):
                continue
            now = self.now()
            ended = await until_stored(lambda: self.calls.close(
                record.id, [NewStep(now, "", NODE_LOST, {"node": self.node})], max(now, record.started_at),
                NODE_LOST), "closing a lost call")
            log.warning("call lost with its node call=%s caller=%s node=%s", record.channel_id, record.caller,
                        self.node)
            await self.review(ended)
            closed += 1
        return closed
