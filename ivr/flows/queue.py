"""The queue node: the caller waits with music, hears their place, and is bridged with the agent
the QueueManager offers them.

The manager decides the order and the agent; this task rings the offered agents (with the hunt
group's legs: staged, subscribed, then dialled) while the caller keeps hearing music. Position and
estimated wait are announced on entry and every `announce_every` seconds; after `callback_after`
the caller may press 1 to hang up and be called back without losing their place.
"""
from __future__ import annotations

import asyncio
import logging
import math

from ivr.ari.client import AriError
from ivr.ari.events import ChannelDtmfReceived
from ivr.calls.legs import finished, quietly
from ivr.calls.session import CallEnded
from ivr.flows.context import FlowContext
from ivr.flows.hunt import Attempt, Hunt
from ivr.plan.model import HuntMember, HuntNode, QueueNode
from ivr.queues import announce
from ivr.queues.manager import QueueManager, Waiter

log = logging.getLogger(__name__)

CALLBACK_DIGIT = "1"
SAY_LIMIT = 30.0          # no announcement is longer; guards a lost PlaybackFinished


class QueueCall:
    def __init__(self, node: QueueNode, ctx: FlowContext, manager: QueueManager):
        self.node, self.ctx, self.call, self.manager = node, ctx, ctx.call, manager
        self.loop = asyncio.get_running_loop()
        self.callback_offered = False
        self.onward: str | None = None     # the node the console sent the caller on to after an agent

    async def _vip_contact(self) -> bool:
        """A contact marked VIP in the contacts (the small CRM) goes ahead of the line."""
        contact = await self.ctx.caller_contact()
        return bool(contact and contact.vip)

    async def run(self) -> str | None:
        node, journal = self.node, self.ctx.journal
        joined = self.manager.join(node, self.ctx.caller, self.call.channel_id, journal.call_id,
                                   vip=await self._vip_contact())
        if isinstance(joined, str):
            journal.step("queue_refused", reason=joined)
            return node.then
        waiter = joined
        await self.manager.settled()         # the place in a line shared with other instances
        journal.step("queued", position=self.manager.position(waiter), vip=waiter.vip)
        outcome = "abandoned"
        try:
            outcome, next_node = await self._wait(waiter)
            return next_node
        finally:
            if outcome not in ("answered", "callback") and not waiter.is_callback:
                self.manager.leave(waiter, outcome)
                if outcome != "abandoned":
                    journal.step("left_queue", reason=outcome,
                                 waited_seconds=round(self.loop.time() - waiter.joined, 2))

    async def _wait(self, waiter: Waiter) -> tuple[str, str | None]:
        node = self.node
        start = waiter.joined
        deadline = start + node.max_wait if node.max_wait else math.inf
        callback_at = start + node.callback_after if node.callback_after and self._can_call_back() else math.inf
        next_announce = math.inf
        await self._music(True)
        if not waiter.offer:
            await self._announce(waiter)
        if node.announce_every:
            next_announce = self.loop.time() + node.announce_every
        while True:
            if waiter.offer:
                if await self._ring(waiter):
                    return "answered", self.onward
                continue
            if not self.manager.logged_in(node):
                return "no_agents", node.then
            now = self.loop.time()
            if now >= deadline:
                return "timeout", node.then
            while self.call.digits:
                digit = self.call.digits.popleft()
                if node.leave_digit and digit == node.leave_digit:
                    return "left", node.leave or node.then
                if digit == CALLBACK_DIGIT and self.callback_offered:
                    await self._call_back_later(waiter)
                    return "callback", None
            if now >= callback_at and not self.callback_offered:
                self.callback_offered = True
                self.ctx.journal.step("callback_offered")
                await self._say([announce.CALLBACK_OFFER], waiter)
                continue
            if now >= next_announce:
                await self._announce(waiter)
                next_announce = self.loop.time() + node.announce_every
                continue
            wake = min(deadline, next_announce, math.inf if self.callback_offered else callback_at)
            await self.call.next_event(timeout=None if wake == math.inf else max(0.0, wake - now))

    def _can_call_back(self) -> bool:
        return self.ctx.caller.startswith("+")        # withheld or odd numbers cannot be called back

    # ----- media -----

    async def _music(self, on: bool) -> None:
        try:
            if on:
                await self.call.ari.start_moh(self.call.channel_id, self.node.music)
            else:
                await self.call.ari.stop_moh(self.call.channel_id)
        except AriError as e:
            log.warning("queue music %s failed call=%s error=%s", "on" if on else "off", self.call.channel_id,
                        e.message)

    async def _say(self, prompts: list[str], waiter: Waiter | None = None) -> None:
        """Music off, the prompts, music on again. A digit (kept for the wait loop) or an agent
        offered to `waiter` cuts them short: an agent never waits for an announcement to end."""
        media = self.call.media(prompts)
        if not media or (waiter is not None and waiter.offer):
            return
        await self._music(False)
        playback = self.call.new_id("pb")
        self.call.sub.add_key(playback)
        await self.call.ari.play(self.call.channel_id, media, playback)
        while True:
            event = await self.call.next_event(timeout=SAY_LIMIT)
            if event is not None and finished(event, playback):
                break
            if event is None or isinstance(event, ChannelDtmfReceived) \
                    or (waiter is not None and waiter.offer):
                await quietly(self.call.ari.stop_playback(playback))     # it may have just finished
                break
        await self._music(True)

    async def _announce(self, waiter: Waiter) -> None:
        position, estimate = self.manager.position(waiter), self.manager.estimate(waiter)
        self.ctx.journal.step("announce", position=position,
                              estimate_seconds=None if estimate is None else round(estimate))
        await self._say(announce.position_prompts(position, estimate), waiter)

    # ----- an offer: ring the agents, bridge the first who answers -----

    async def _ring(self, waiter: Waiter) -> bool:
        node, offer = self.node, waiter.offer
        ring = node.agent_ring_seconds
        hunt = Hunt(HuntNode(id=node.id, members=tuple(HuntMember(ext, ring) for ext in offer),
                             music=node.music), self.ctx)
        deadline = self.loop.time() + ring
        answered_ext: str | None = None
        talking = False
        try:
            for ext in offer:
                await hunt.start(Attempt(HuntMember(ext, ring), ext, ring, False), deadline)
            answered = None
            while answered is None:
                now = self.loop.time()
                if now >= deadline or not any(leg.active for leg in hunt.legs.values()):
                    break
                event = await self.call.next_event(timeout=deadline - now)
                if event is not None:
                    answered = await hunt.on_event(event)
            for leg in hunt.legs.values():
                if leg is not answered:
                    await hunt.stop(leg, "no_answer" if answered is None else "answered_elsewhere")
            rang = tuple(leg.attempt.target for leg in hunt.legs.values() if leg is not answered)
            answered_ext = answered.attempt.target if answered else None
            busy = tuple(ext for ext, why in hunt.skipped.items() if why == "busy")
            self.manager.offer_ended(waiter, answered_ext, no_answer=rang, busy=busy)
            if answered is None:
                return False
            talking = True
            self.onward = await hunt.connect(answered)
            return True
        finally:
            # A caller who hangs up while agents ring is released by `leave` in run().
            if talking:
                self.manager.talk_ended(waiter, answered_ext)
            await asyncio.shield(hunt.cleanup())

    # ----- call-back keeping the place -----

    async def _call_back_later(self, waiter: Waiter) -> None:
        request = await self.manager.request_callback(waiter)
        self.ctx.journal.step("callback_requested", callback_id=request, number=self.ctx.caller,
                              position=self.manager.position(waiter))
        self.ctx.journal.outcome = "queue_callback"
        try:
            await self._music(False)
            await self.call.play([announce.CALLBACK_CONFIRMED])
        except CallEnded:
            pass        # hung up at once: the request stands, and the call is a call-back, not an abandon


async def run(node: QueueNode, ctx: FlowContext) -> str | None:
    manager: QueueManager | None = ctx.services.queues
    if manager is None:
        log.error("queue node without a queue manager call=%s node=%s", ctx.call.channel_id, node.id)
        return node.then
    return await QueueCall(node, ctx, manager).run()
