"""All instances active: each instance serves its own node (the node's lease) and takes over any
other node of the cluster whose instance died, when no standby of that node waits for it. A node
taken over is served in this process by a service of its own (its own ARI connection, the node's
settings), which picks up the calls left in the node's Stasis app as after a restart; it stops
serving the node if it loses the node's lease, and hands it back when the node's own instance
stands by for it again (hand_back.py). Either way the calls it had there stay in Stasis for the
instance serving the node next."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ivr.cluster.hand_back import HandBack
from ivr.cluster.layout import ClusterLayout, Node
from ivr.cluster.lease import JOBS_KEY, Lease, node_key, standby_key
from ivr.config import Settings, load_settings

log = logging.getLogger(__name__)


class NodeService(Protocol):
    """What this module needs of ivr.service.IvrService (which it may not import)."""

    ari: Any
    def calls_in_progress(self) -> int: ...
    async def start(self) -> None: ...
    async def apply_asterisk_config(self) -> None: ...
    async def run(self) -> None: ...
    async def shutdown(self) -> None: ...


async def first_done(*coros: Awaitable[Any]) -> None:
    """Run until the first of them ends; cancel and await the others."""
    tasks = [asyncio.ensure_future(c) for c in coros]     # a task or future given stays itself
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def returned(task: asyncio.Future) -> bool:
    """It ended by returning (not cancelled, not failed)."""
    return task.done() and not task.cancelled() and task.exception() is None


class NodeTakeover:
    def __init__(self, layout: ClusterLayout, settings: Settings, holder: str,
                 make_service: Callable[[Settings], NodeService]):
        self.layout, self.settings, self.holder, self.make_service = layout, settings, holder, make_service
        self.serving: dict[str, NodeService] = {}     # node name -> the service serving it here
        self.hand_backs: dict[str, HandBack] = {}     # node name -> its watch for its own instance

    def node_settings(self, node: Node) -> Settings:
        """This instance's settings with the node's own (ARI, SIP address, config directory, name)."""
        return load_settings(env={**os.environ, **self.layout.node_env(node)})

    def nodes(self) -> list[str]:
        """The nodes taken over whose Asterisk this process is connected to."""
        return sorted(name for name, service in self.serving.items() if service.ari.connected)

    def handing_back(self) -> list[str]:
        """The nodes taken over whose own instance stands by: going back to it."""
        return sorted(name for name, watch in self.hand_backs.items() if watch.to is not None)

    async def run(self) -> None:
        others = [n for n in self.layout.nodes if n.name != self.settings.node_name]
        await asyncio.gather(*(self._watch(node) for node in others))

    async def _watch(self, node: Node) -> None:
        settings = self.node_settings(node)
        while True:
            lease = Lease(settings, node_key(node.name), self.holder)
            try:
                await lease.take_over(standby_key(node.name))
                log.warning("taking over node=%s (its instance is gone)", node.name)
                await self._serve(node, settings, lease)
            finally:
                await lease.release()

    async def _serve(self, node: Node, settings: Settings, lease: Lease) -> None:
        """Serve the node taken over until its lease is lost or it is handed back."""
        service = self.make_service(settings)
        standby = Lease(settings, standby_key(node.name), self.holder)     # only asked who holds it
        watch = HandBack(node.name, standby.holder_now, service.calls_in_progress, settings.hand_back_seconds)
        self.serving[node.name], self.hand_backs[node.name] = service, watch
        leaving = False
        try:
            await service.start()
            await service.apply_asterisk_config()
            held, due = asyncio.ensure_future(lease.hold()), asyncio.ensure_future(watch.due())
            await first_done(service.run(), held, due)
            leaving = returned(held) or returned(due)
            if leaving:
                log.warning("stopped serving node=%s (%s)", node.name, "handed back" if returned(due) else "lease lost")
        finally:
            self.serving.pop(node.name, None)
            self.hand_backs.pop(node.name, None)
            if leaving:
                service.ari.detach()        # another instance serves the node's calls from now on
            await service.shutdown()
            await standby.release()


async def singleton_jobs(settings: Settings, holder: str, start: Callable[[], None],
                         stop: Callable[[], Awaitable[None]]) -> None:
    """The cluster's once-only jobs (dialer, auto call-back, outbox) run where their lease is held;
    another instance takes the lease, and the jobs, when the holder dies."""
    lease = Lease(settings, JOBS_KEY, holder)
    try:
        while True:
            await lease.acquire()
            log.info("running the cluster's jobs holder=%s", holder)
            start()
            try:
                await lease.hold()
            finally:
                await stop()
    finally:
        await lease.release()
