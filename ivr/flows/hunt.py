"""Hunt groups and forwards: ring members, bridge the first who answers.

Each member is a leg staged with its own id (subscribe, then dial), so no event is missed. The
caller hears ringback (or music) from the first member to the last without a gap; hanging up
cancels every ringing leg at once (the `finally` below runs on cancellation too).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ivr.ari.client import AriError, ChannelGone
from ivr.ari.events import (ChannelDestroyed, ChannelHangupRequest, ChannelStateChange, Dial, StasisEnd,
                            StasisStart)
from ivr.flows.context import FlowContext
from ivr.plan.model import ForwardNode, HuntMember, HuntNode

log = logging.getLogger(__name__)

# Device states in which a staff phone is skipped at once, without spending its ring time.
UNAVAILABLE = {"UNAVAILABLE": "unavailable", "INVALID": "unavailable", "BUSY": "busy",
               "INUSE": "busy", "ONHOLD": "busy", "RINGINUSE": "busy"}
# Dial statuses that end a leg without an answer (RINGING, PROGRESS and "" are not final).
FINAL_NO_ANSWER = {"BUSY", "NOANSWER", "CANCEL", "CONGESTION", "CHANUNAVAIL", "DONTCALL", "INVALIDARGS"}
# Q.850 causes of a leg that ended without answer.
CAUSES = {17: "busy", 19: "no_answer", 18: "no_answer", 21: "declined", 20: "unavailable",
          3: "unavailable", 1: "unavailable", 34: "congestion", 38: "congestion", 16: "no_answer"}


@dataclass
class Leg:
    member: HuntMember
    channel_id: str
    started: float
    ended: bool = False


def endpoint_for(target: str, ctx: FlowContext) -> str:
    """A staff extension rings its phone; a number leaves on the default trunk."""
    if target in ctx.plan.staff:
        return f"PJSIP/{target}"
    trunk = next((t.name for t in ctx.plan.trunks.values() if t.default), None) \
        or next(iter(ctx.plan.trunks), "default")
    return f"PJSIP/{target}@trunk-{trunk}"


class Hunt:
    def __init__(self, node: HuntNode, ctx: FlowContext):
        self.node, self.ctx, self.call = node, ctx, ctx.call
        self.legs: dict[str, Leg] = {}
        self.loop = asyncio.get_running_loop()
        self.bridge_id = ""
        self.ringback_id = ""

    async def skip_reason(self, member: HuntMember) -> str | None:
        if member.target not in self.ctx.plan.staff:
            return None
        try:
            state = await self.call.ari.device_state(f"PJSIP/{member.target}")
        except AriError:
            return None
        reason = UNAVAILABLE.get(state)
        if reason == "busy" and self.node.ring_busy:
            return None
        return reason

    async def start(self, member: HuntMember) -> Leg | None:
        if (reason := await self.skip_reason(member)) is not None:
            self.ctx.journal.step("skipped", member=member.target, reason=reason)
            return None
        leg_id = self.call.new_id("leg")
        self.call.sub.add_key(leg_id)
        try:
            # A staged channel can be dialled once it is inside our Stasis app.
            with self.call.bus.subscribe(leg_id) as staged:
                await self.call.ari.create_channel(endpoint_for(member.target, self.ctx), leg_id, "leg")
                while not isinstance(await staged.get(5), StasisStart):
                    pass
            await self.call.ari.dial(leg_id, caller_channel=self.call.channel_id,
                                     timeout=int(member.ring_seconds) + 5)
        except (AriError, asyncio.TimeoutError) as e:
            self.ctx.journal.step("skipped", member=member.target, reason="unavailable",
                                  error=getattr(e, "message", type(e).__name__))
            await self._hangup_quietly(leg_id)
            return None
        leg = Leg(member, leg_id, self.loop.time())
        self.legs[leg_id] = leg
        self.ctx.journal.step("ring", member=member.target)
        return leg

    async def stop(self, leg: Leg, reason: str) -> None:
        if leg.ended:
            return
        leg.ended = True
        self.ctx.journal.step("ring_end", member=leg.member.target, reason=reason,
                              seconds=round(self.loop.time() - leg.started, 2))
        try:
            await self.call.ari.hangup(leg.channel_id)
        except ChannelGone:
            pass

    async def wait(self, until: float) -> Leg | None:
        """Wait for an answer until `until` (loop time); legs that end are recorded."""
        while any(not leg.ended for leg in self.legs.values()):
            left = until - self.loop.time()
            if left <= 0:
                return None
            event = await self.call.next_event(timeout=left)
            if event is None:
                return None
            leg = self.legs.get(event.keys()[0]) if event.keys() else None
            if isinstance(event, Dial):
                leg = self.legs.get(event.peer_id)
                if leg and event.dialstatus in FINAL_NO_ANSWER and not leg.ended:
                    leg.ended = True
                    self.ctx.journal.step("ring_end", member=leg.member.target,
                                          reason=event.dialstatus.lower(),
                                          seconds=round(self.loop.time() - leg.started, 2))
            elif isinstance(event, ChannelStateChange) and leg and event.channel.state == "Up":
                return leg
            elif isinstance(event, (ChannelHangupRequest, ChannelDestroyed)) and leg and not leg.ended:
                # The cause (17 busy, 21 declined, ...) comes with these; StasisEnd has none.
                leg.ended = True
                self.ctx.journal.step("ring_end", member=leg.member.target,
                                      reason=CAUSES.get(event.cause, "no_answer"),
                                      seconds=round(self.loop.time() - leg.started, 2))
        return None

    async def run(self) -> str | None:
        node, members = self.node, list(self.node.members)
        if node.music:
            await self.call.ari.start_moh(self.call.channel_id, node.music)
        else:
            # The plan's country decides the cadence the caller hears (ru: 1 s tone, 4 s pause).
            self.ringback_id = self.call.new_id("ringback")
            await self.call.ari.play(self.call.channel_id,
                                     [f"tone:ring;tonezone={self.ctx.plan.country.lower()}"],
                                     self.ringback_id)
        limit = node.limit_seconds or sum(m.ring_seconds for m in members) + 1
        deadline = self.loop.time() + limit
        answered: Leg | None = None
        if node.strategy == "ringall":
            for m in members:
                await self.start(m)
            answered = await self.wait(min(deadline, self.loop.time() + max(m.ring_seconds for m in members)))
        else:
            for i, member in enumerate(members):
                leg = await self.start(member)
                if leg is None:
                    continue
                answered = await self.wait(min(deadline, leg.started + member.ring_seconds))
                if answered or self.loop.time() >= deadline:
                    break
                if node.strategy != "overlap":
                    await self.stop(leg, "no_answer")
        for leg in self.legs.values():
            if leg is not answered:
                await self.stop(leg, "no_answer" if answered is None else "answered_elsewhere")
        if answered is None:
            self.ctx.journal.step("nobody_answered")
            self.ctx.journal.outcome = "no_answer"
            await self._stop_ringback()
            return node.then
        await self.connect(answered)
        return None

    async def _stop_ringback(self) -> None:
        try:
            if self.node.music:
                await self.call.ari.stop_moh(self.call.channel_id)
            else:
                await self.call.ari.stop_playback(self.ringback_id)
        except AriError:
            pass

    async def connect(self, leg: Leg) -> None:
        leg.ended = True
        seconds = round(self.loop.time() - leg.started, 2)
        self.ctx.journal.person_answered(leg.member.target)
        self.ctx.journal.step("answered", member=leg.member.target, after_seconds=seconds)
        self.bridge_id = self.call.new_id("br")
        await self.call.ari.create_bridge(self.bridge_id)
        await self._stop_ringback()
        await self.call.ari.add_to_bridge(self.bridge_id, self.call.channel_id, leg.channel_id)
        while True:
            event = await self.call.next_event()
            if isinstance(event, (ChannelDestroyed, StasisEnd)) and event.channel.id == leg.channel_id:
                self.ctx.journal.step("member_hung_up", member=leg.member.target)
                return

    async def _hangup_quietly(self, channel_id: str) -> None:
        try:
            await self.call.ari.hangup(channel_id)
        except AriError:
            pass

    async def cleanup(self) -> None:
        for leg in self.legs.values():
            if not leg.ended:
                leg.ended = True
                await self._hangup_quietly(leg.channel_id)
        if self.bridge_id:
            try:
                await self.call.ari.destroy_bridge(self.bridge_id)
            except AriError:
                pass


async def run(node: HuntNode, ctx: FlowContext) -> str | None:
    hunt = Hunt(node, ctx)
    try:
        return await hunt.run()
    finally:
        # Shielded: a caller hang-up cancels this task, and every ringing leg must still be cancelled.
        await asyncio.shield(hunt.cleanup())


async def forward(node: ForwardNode, ctx: FlowContext) -> str | None:
    member = HuntMember(target=node.number, ring_seconds=node.ring_seconds)
    return await run(HuntNode(id=node.id, members=(member,), then=node.then), ctx)
