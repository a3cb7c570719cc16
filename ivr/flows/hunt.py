"""Hunt groups and forwards: ring members, bridge the first who answers (and, for confirm mode,
accepts with 1).

Each member is a leg staged with its own id (subscribe, then dial), so no event is missed; an
outside number the router sends out is originated over its trunk and fails over to the next trunk
when that one fails (ivr.calls.outbound_leg, shared with the call-backs). The
caller hears one ringback playback (or music) from the first member to the last, so there is no
gap between members; hanging up cancels every ringing leg at once (the `finally` below runs on
cancellation too).

The order comes from the strategy (`attempt_batches`): a batch is what starts together (one leg,
or every member's n-th target for ring-all). A leg lives through ringing → confirming (confirm
mode only) → ended, or it is the one answered.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ivr.ari.client import CALL_BRIDGE, RECORDED_BRIDGE, AriError
from ivr.ari.events import (ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, ChannelStateChange,
                            Dial, Event, PlaybackEvent, StasisEnd, StasisStart)
from ivr.calls.handover import ARI_HANDLING
from ivr.calls.legs import extension_of, hangup_quietly, quietly
from ivr.calls.outbound_leg import LegWatch, originate_leg
from ivr.calls.outcome import Outcome, of_cause, of_dial_status
from ivr.errors import IvrError
from ivr.flows.context import FlowContext
from ivr.flows.duty import on_duty_members
from ivr.flows.hunt_memory import HuntMemory
from ivr.flows.talk import Talk
from ivr.flows.transfer import pass_on_order
from ivr.plan.model import ForwardNode, HuntMember, HuntNode
from ivr.routing.router import default_trunk_endpoint, trunk_of_endpoint

log = logging.getLogger(__name__)

# Device states in which a staff phone is skipped at once, without spending its ring time.
UNAVAILABLE = {"UNAVAILABLE": "unavailable", "INVALID": "unavailable", "BUSY": "busy",
               "INUSE": "busy", "ONHOLD": "busy", "RINGINUSE": "busy"}
CONFIRM_PROMPT = "confirm-call"
CONFIRM_DIGIT = "1"
CONFIRM_SECONDS = 5.0          # after the prompt: time to press 1
CONFIRM_PROMPT_LIMIT = 20.0    # the prompt itself never takes longer; guards a lost PlaybackFinished


@dataclass(frozen=True)
class Attempt:
    """One target to ring: a member's own phone or one of its follow-me targets."""

    member: HuntMember
    target: str
    ring_seconds: float
    confirm: bool              # only for outside numbers: a staff phone has no voicemail to fear


def rotation_start(node: HuntNode, memory: HuntMemory) -> int:
    """Index of the member this call starts with."""
    targets = [m.target for m in node.members]
    if node.strategy == "roundrobin" and memory.last_start in targets:
        return (targets.index(memory.last_start) + 1) % len(targets)
    if node.strategy == "memory" and memory.last_answered in targets:
        return targets.index(memory.last_answered)
    return 0


def attempt_batches(node: HuntNode, staff: Mapping[str, Any], start: int = 0) -> list[list[Attempt]]:
    """What starts together, in order. Follow-me targets come right after their member; ring-all
    rings every member's first targets together, then every member's second targets, and so on."""
    members = list(node.members[start:]) + list(node.members[:start])

    def chain(m: HuntMember) -> list[Attempt]:
        return [Attempt(m, t, m.ring_seconds, m.confirm and t not in staff) for t in (m.target, *m.follow_me)]

    chains = [chain(m) for m in members]
    if node.strategy == "ringall":
        depth = max((len(c) for c in chains), default=0)
        return [[c[i] for c in chains if i < len(c)] for i in range(depth)]
    return [[a] for c in chains for a in c]


def manager_first(batches: list[list[Attempt]], manager: str, ring_seconds: float) -> list[list[Attempt]]:
    """The responsible manager's phone alone first, then the others in the strategy's order. A
    manager who is not a member rings for `ring_seconds` (the node's first member's time)."""
    own = next((a for batch in batches for a in batch if a.target == manager), None) \
        or Attempt(HuntMember(manager, ring_seconds), manager, ring_seconds, False)
    rest = [[a for a in batch if a.target != manager] for batch in batches]
    return [[own], *(batch for batch in rest if batch)]


def endpoint_for(target: str, ctx: FlowContext, tried: tuple[str, ...] = ()) -> str:
    """A staff extension rings its phone; a number leaves on the router's trunk for its carrier
    (raises ivr.routing.router.NoTrunk when none is free), or the default trunk without a router.
    `tried`: trunks that already failed this attempt (failover picks among the others)."""
    if target in ctx.plan.staff:
        return f"PJSIP/{target}"
    if ctx.services.router is not None:
        if tried:
            return ctx.services.router.endpoint_for(target, exclude=tried)
        return ctx.services.router.endpoint_for(target)
    return default_trunk_endpoint(target, ctx.plan)


@dataclass
class Leg:
    attempt: Attempt
    channel_id: str
    started: float
    until: float                                   # loop time at which it stops ringing
    state: Literal["ringing", "confirming", "ended"] = "ringing"
    picked_up: float | None = None                 # the far end answered (before any confirm)
    playback_id: str = ""                          # the confirm prompt
    tried: tuple[str, ...] = ()                    # router-chosen trunks of this attempt, this one last
    watch: LegWatch | None = None                  # a router-sent leg: answer, end or the trunk's failure
    picked_by: str = ""                            # the extension that took it with call pickup

    @property
    def member(self) -> HuntMember:
        return self.attempt.member

    @property
    def active(self) -> bool:
        return self.state != "ended"


class Hunt:
    def __init__(self, node: HuntNode, ctx: FlowContext):
        self.node, self.ctx, self.call = node, ctx, ctx.call
        self.legs: dict[str, Leg] = {}
        self.skipped: dict[str, str] = {}            # target -> why it was not rung (device state)
        self.prompts: dict[str, Leg] = {}          # confirm playback id -> its leg
        self.loop = asyncio.get_running_loop()
        self.began = self.loop.time()
        self.bridge_id = ""
        self.ringback_id = ""
        self.answered: Leg | None = None
        self.talk: Talk | None = None              # the conversation once bridged
        self.carded: set[str] = set()              # leg ids whose extension shows the call's card

    # ----- journal -----

    def _who(self, a: Attempt) -> dict[str, Any]:
        return {"member": a.member.target} | ({"target": a.target} if a.target != a.member.target else {})

    def _since(self, t: float) -> float:
        return round(self.loop.time() - t, 2)

    # ----- legs -----

    async def skip_reason(self, target: str) -> str | None:
        if target not in self.ctx.plan.staff:
            return None
        dnd = self.ctx.services.dnd
        if dnd is not None and dnd.on(target):
            return "dnd"
        try:
            state = await self.call.ari.device_state(f"PJSIP/{target}")
        except AriError:
            return None
        reason = UNAVAILABLE.get(state)
        if reason == "busy" and self.node.ring_busy:
            return None
        return reason

    async def start(self, attempt: Attempt, deadline: float, tried: tuple[str, ...] = ()) -> Leg | None:
        if (reason := await self.skip_reason(attempt.target)) is not None:
            self.ctx.journal.step("skipped", **self._who(attempt), reason=reason)
            self.skipped[attempt.target] = reason
            return None
        try:
            endpoint = endpoint_for(attempt.target, self.ctx, tried)
        except IvrError as e:                       # no trunk may carry it now: like an unreachable phone
            self.ctx.journal.step("skipped", **self._who(attempt), reason="unavailable", error=e.message)
            return None
        leg_id = self.call.new_id("leg")
        self.call.sub.add_key(leg_id)
        trunk = trunk_of_endpoint(endpoint) if self.ctx.services.router is not None else None
        self._show_card(attempt.target, leg_id)     # before the phone can ring
        try:
            if trunk is not None:
                # The caller's number is shown, as a dial on the caller's behalf would.
                # (written as the trunk's carrier expects it)
                caller_id = self.ctx.services.router.caller_id_on(trunk, self._caller_id())
                await originate_leg(self.call.ari, endpoint, leg_id, ring_seconds=int(attempt.ring_seconds) + 5,
                                    caller_id=caller_id)
            else:
                # A staged channel can be dialled once it is inside our Stasis app.
                with self.call.bus.subscribe(leg_id) as staged:
                    await self.call.ari.create_channel(endpoint, leg_id, "leg")
                    while not isinstance(await staged.get(5), StasisStart):
                        pass
                # A phone's REFER comes to us, not to Asterisk's core (ivr.flows.transfer).
                for name, value in ARI_HANDLING.items():
                    await self.call.ari.set_var(leg_id, name, value)
                await self._dial_staged(leg_id, int(attempt.ring_seconds) + 5)
        except (AriError, asyncio.TimeoutError) as e:
            self.ctx.journal.step("skipped", **self._who(attempt), reason="unavailable",
                                  error=getattr(e, "message", type(e).__name__))
            self._hide_card(leg_id)
            await self._hangup_quietly(leg_id)
            return None
        now = self.loop.time()
        leg = Leg(attempt, leg_id, now, min(now + attempt.ring_seconds, deadline))
        if trunk is not None:
            leg.tried, leg.watch = (*tried, trunk), LegWatch(leg_id)
        self.legs[leg_id] = leg
        self.ctx.journal.step("ring", **self._who(attempt), offset=round(now - self.began, 2),
                              **({"trunk": trunk} if trunk else {}))
        return leg

    def _caller_id(self) -> str:
        """What an originated leg shows: the caller's number, with the card's name when there is one."""
        card = self.ctx.card
        return f'"{card.phone_name()}" <{card.number}>' if card is not None else self.ctx.caller

    async def _dial_staged(self, leg_id: str, timeout: int) -> None:
        card = self.ctx.card
        if card is None:
            await self.call.ari.dial(leg_id, caller_channel=self.call.channel_id, timeout=timeout)
            return
        # A dial on the caller's behalf copies the caller channel's own caller id onto the phone's
        # display (for a campaign call: the company's number), so the card's name and number are
        # set as the leg's connected line (PJSIP's From) and the leg is dialled on its own.
        await self.call.ari.set_var(leg_id, "CONNECTEDLINE(num,i)", card.number)
        await self.call.ari.set_var(leg_id, "CONNECTEDLINE(name,i)", card.phone_name())
        await self.call.ari.dial(leg_id, timeout=timeout)

    def _show_card(self, target: str, leg_id: str) -> None:
        if self.ctx.card is not None:
            self.ctx.services.cards.show(target, leg_id, self.call.channel_id, self.ctx.card, self.ctx.now())
            self.carded.add(leg_id)

    def _hide_card(self, leg_id: str) -> None:
        if leg_id in self.carded:
            self.carded.discard(leg_id)
            self.ctx.services.cards.clear(leg_id)

    async def fail_over(self, leg: Leg, cause: int) -> None:
        """The trunk, not the callee, failed (503, 408, no circuit): the same attempt on the next
        trunk, within the attempt's ring time."""
        self.ended(leg, "trunk_failed")
        self.ctx.journal.step("fail_over", **self._who(leg.attempt), trunk=leg.tried[-1], cause=cause)
        await self._hangup_quietly(leg.channel_id)
        await self.start(leg.attempt, leg.until, leg.tried)

    def ended(self, leg: Leg, reason: str) -> None:
        """Record that a leg stopped ringing (or confirming) and why."""
        leg.state = "ended"
        self._hide_card(leg.channel_id)
        self.ctx.journal.step("ring_end", **self._who(leg.attempt), reason=reason,
                              seconds=self._since(leg.started), offset=self._since(self.began))

    async def stop(self, leg: Leg, reason: str) -> None:
        if not leg.active:
            return
        self.ended(leg, reason)
        await self._hangup_quietly(leg.channel_id)

    async def confirm(self, leg: Leg) -> None:
        """The outside number answered: ask it to accept; the caller still hears ringback."""
        leg.state = "confirming"
        self.ctx.journal.step("confirm", **self._who(leg.attempt), after_seconds=self._since(leg.started))
        media = self.call.media((CONFIRM_PROMPT,))
        leg.until = self.loop.time() + CONFIRM_SECONDS
        if not media:
            return                                  # prompt missing (logged by media): the digit still counts
        leg.playback_id = self.call.new_id("confirm")
        self.call.sub.add_key(leg.playback_id)
        self.prompts[leg.playback_id] = leg
        try:
            await self.call.ari.play(leg.channel_id, media, leg.playback_id)
        except AriError:
            return                                  # it hung up: its hangup event ends it
        leg.until = self.loop.time() + CONFIRM_PROMPT_LIMIT

    async def on_event(self, event: Event) -> Leg | None:
        """Apply one event to the legs; returns the leg that answered (and accepted), if any."""
        if isinstance(event, PlaybackEvent):
            leg = self.prompts.get(event.playback_id)
            if leg and leg.state == "confirming" and event.type == "PlaybackFinished":
                leg.until = self.loop.time() + CONFIRM_SECONDS
            return None
        if isinstance(event, Dial):
            leg = self.legs.get(event.peer_id)
            if leg is None or leg.state != "ringing":
                return None
            if leg.watch is not None:
                return await self._judge(leg, event)
            if (outcome := of_dial_status(event.dialstatus)) not in (None, Outcome.ANSWERED):
                self.ended(leg, outcome)
            return None
        if isinstance(event, StasisStart) and event.replaces:
            return await self._picked_up_elsewhere(event)
        leg = self.legs.get(event.keys()[0]) if event.keys() else None
        if leg is None or not leg.active:
            return None
        if leg.watch is not None and leg.state == "ringing":
            return await self._judge(leg, event)
        if isinstance(event, ChannelStateChange) and event.channel.state == "Up" and leg.state == "ringing":
            return await self._picked_up(leg)
        if isinstance(event, ChannelDtmfReceived) and leg.state == "confirming":
            return leg if event.digit == CONFIRM_DIGIT else None
        if isinstance(event, (ChannelHangupRequest, ChannelDestroyed, StasisEnd)):
            # The cause (17 busy, 21 declined, ...) comes with the first two; StasisEnd has none.
            cause = getattr(event, "cause", 0)
            self.ended(leg, Outcome.DECLINED if leg.state == "confirming" else of_cause(cause))
        return None

    async def _judge(self, leg: Leg, event: Event) -> Leg | None:
        """A router-sent leg still ringing: answered, ended, or its trunk failed (the next one)."""
        assert leg.watch is not None
        verdict = leg.watch.verdict(event)
        if verdict is None:
            return None
        if verdict.kind == "answered":
            return await self._picked_up(leg)
        if verdict.kind == "trunk_failed":
            await self.fail_over(leg, verdict.cause)
        else:
            self.ended(leg, verdict.reason)
        return None

    async def _picked_up_elsewhere(self, event: StasisStart) -> Leg | None:
        """Call pickup (*8, **EXT): another phone answered a ringing leg, and Asterisk moved that
        phone's channel into the leg's place: a new channel id, and the leg's own one ends."""
        leg = self.legs.get(event.replaces)
        if leg is None or leg.state != "ringing":
            return None
        self._hide_card(leg.channel_id)
        del self.legs[leg.channel_id]
        leg.channel_id = event.channel.id
        self.legs[leg.channel_id] = leg
        self.call.sub.add_key(leg.channel_id)
        leg.picked_by = extension_of(event.channel.name)
        self.ctx.journal.step("picked_up", **self._who(leg.attempt), by=leg.picked_by)
        return await self._picked_up(leg)

    async def _picked_up(self, leg: Leg) -> Leg | None:
        """The far end answered: that is the answer, or with confirm mode the question."""
        leg.picked_up = self.loop.time()
        if not leg.attempt.confirm:
            return leg
        await self.confirm(leg)
        return None

    # ----- the hunt -----

    async def _rotate(self) -> int:
        node = self.node

        def step(memory: HuntMemory) -> tuple[int, HuntMemory]:
            start = rotation_start(node, memory)
            if node.strategy == "roundrobin":
                memory = replace(memory, last_start=node.members[start].target)
            return start, memory

        if node.strategy not in ("roundrobin", "memory"):
            return 0
        return await self.ctx.services.hunt_memory.change(node.id, step)

    async def _remember_answer(self, member: HuntMember) -> None:
        if self.node.strategy == "memory":
            await self.ctx.services.hunt_memory.change(
                self.node.id, lambda memory: (None, replace(memory, last_answered=member.target)))

    async def start_batch(self, batch: list[Attempt], deadline: float) -> float:
        """Start one batch; returns when the next batch may start even if this one still rings."""
        legs = [leg for a in batch if (leg := await self.start(a, deadline)) is not None]
        if self.node.strategy != "overlap" or not legs:
            return math.inf                         # the next starts once these have all ended
        return max(leg.started + max(0.0, leg.attempt.ring_seconds - self.node.overlap_seconds)
                   for leg in legs)

    async def _manager(self) -> str:
        """The caller's responsible manager when the node asks for it and the contact has one."""
        if not self.node.manager_first:
            return ""
        contact = await self.ctx.caller_contact()
        manager = contact.manager if contact is not None else ""
        return manager if manager in self.ctx.plan.staff else ""

    async def _order(self) -> list[list[Attempt]]:
        node = self.node
        manager = await self._manager()
        order = attempt_batches(node, self.ctx.plan.staff, await self._rotate())
        if manager:
            self.ctx.journal.step("manager_first", manager=manager)
            order = manager_first(order, manager, node.members[0].ring_seconds if node.members else 15.0)
        return order

    async def run(self, order: list[list[Attempt]] | None = None) -> str | None:
        """Ring the node's members (or the batches given) and talk; the next node, or None."""
        node = self.node
        if order is None:
            order = await self._order()
        await self._start_ringback()
        batches = deque(order)
        deadline = self.began + node.limit_seconds if node.limit_seconds else math.inf
        next_start = self.began
        answered: Leg | None = None
        while answered is None:
            now = self.loop.time()
            for leg in [leg for leg in self.legs.values() if leg.active and leg.until <= now]:
                await self.stop(leg, "not_confirmed" if leg.state == "confirming" else "no_answer")
            active = [leg for leg in self.legs.values() if leg.active]
            if now >= deadline or not (batches or active):
                break
            if batches and (now >= next_start or not active):
                next_start = await self.start_batch(batches.popleft(), deadline)
                continue
            wake = min([deadline, *(leg.until for leg in active)] + ([next_start] if batches else []))
            event = await self.call.next_event(timeout=max(0.0, wake - now))
            if event is not None:
                answered = await self.on_event(event)
        for leg in self.legs.values():
            if leg is not answered:
                await self.stop(leg, "no_answer" if answered is None else "answered_elsewhere")
        if answered is None:
            self.ctx.journal.step("nobody_answered", seconds=self._since(self.began))
            self.ctx.journal.outcome = "no_answer"
            await self._stop_ringback()
            return node.then
        return await self.connect(answered)

    async def _start_ringback(self) -> None:
        if self.node.music:
            await self.call.ari.start_moh(self.call.channel_id, self.node.music)
            return
        # The plan's country decides the cadence the caller hears (ru: 1 s tone, 4 s pause).
        self.ringback_id = self.call.new_id("ringback")
        await self.call.ari.play(self.call.channel_id, [f"tone:ring;tonezone={self.ctx.plan.country.lower()}"],
                                 self.ringback_id)

    async def _stop_ringback(self) -> None:
        if self.node.music:
            await quietly(self.call.ari.stop_moh(self.call.channel_id))
        else:
            await quietly(self.call.ari.stop_playback(self.ringback_id))

    async def connect(self, leg: Leg) -> str | None:
        """Bridge the caller with `leg` and talk (ivr.flows.talk); the node the console sent the
        caller on to, if it did."""
        leg.state = "ended"
        self.answered = leg
        self.ctx.services.cards.talking(leg.channel_id)
        member = leg.member
        self.ctx.journal.person_answered(leg.picked_by or member.target)
        self.ctx.journal.step("answered", **self._who(leg.attempt),
                              **({"picked_up_by": leg.picked_by} if leg.picked_by else {}),
                              after_seconds=round((leg.picked_up or self.loop.time()) - leg.started, 2),
                              waited_seconds=self._since(self.began), confirmed=leg.attempt.confirm)
        await self._remember_answer(member)
        if leg.playback_id:
            await quietly(self.call.ari.stop_playback(leg.playback_id))
        self.bridge_id = self.call.new_id("br")
        await self.call.ari.create_bridge(self.bridge_id, RECORDED_BRIDGE if self.ctx.recorded else CALL_BRIDGE)
        await self._stop_ringback()
        await self.call.ari.add_to_bridge(self.bridge_id, self.call.channel_id, leg.channel_id)
        self.talk = Talk(self, leg)
        return await self.talk.run()

    # ----- passing the caller on (ivr.flows.talk) -----

    async def drop_bridge(self) -> None:
        """The caller has left the bridge: it goes."""
        await quietly(self.call.ari.destroy_bridge(self.bridge_id))
        self.bridge_id = ""

    def spawn(self) -> Hunt:
        """A hunt of no members of its own in this call (its music), for legs rung on request."""
        return Hunt(HuntNode(id=self.node.id, members=(), music=self.node.music), self.ctx)

    async def ring_one(self, target: str, seconds: float) -> tuple[Hunt, Leg | None]:
        """Ring `target` for an attended transfer's consultation (the caller is not its party)."""
        consult = self.spawn()
        return consult, await consult.start(Attempt(HuntMember(target, seconds), target, seconds, False),
                                            consult.loop.time() + seconds)

    async def ring_onward(self, by: str, target: str) -> None:
        """The caller, out of any bridge, rings `target`, then `by` again, then the fallback phones."""
        seconds = self.ctx.plan.transfer_ring_seconds
        order = [[Attempt(HuntMember(t, seconds), t, seconds, False) for t in batch]
                 for batch in pass_on_order(self.ctx.plan, by, target)]
        onward = self.spawn()
        try:
            await onward.run(order)
        finally:
            await asyncio.shield(onward.cleanup())
        if onward.answered is None:
            self.ctx.journal.outcome = "transfer_no_answer"

    async def _hangup_quietly(self, channel_id: str) -> None:
        await hangup_quietly(self.call.ari, channel_id)

    async def cleanup(self) -> None:
        for leg_id in list(self.carded):           # first, before any await can be cut short
            self._hide_card(leg_id)
        for leg in self.legs.values():
            if leg.active:
                self.ended(leg, "caller_hung_up")
                await self._hangup_quietly(leg.channel_id)
        if self.talk is not None:
            # A caller who leaves a bridged call takes the member (and any consultation) along.
            await self.talk.cleanup()
        elif self.answered is not None:
            await self._hangup_quietly(self.answered.channel_id)
        if self.bridge_id:
            await quietly(self.call.ari.destroy_bridge(self.bridge_id))


async def run(node: HuntNode, ctx: FlowContext) -> str | None:
    hunt = Hunt(await on_duty_members(node, ctx), ctx)
    try:
        return await hunt.run()
    finally:
        # Shielded: a caller hang-up cancels this task, and every ringing leg must still be cancelled.
        await asyncio.shield(hunt.cleanup())


async def keep_talking(ctx: FlowContext, bridge_id: str, staff: str, staff_channel: str) -> None:
    """A conversation bridged elsewhere (a call-back: `ctx.call` is the customer's leg) under the
    same rules as a hunt's: the staff member may pass the customer on. Returns when it is over."""
    hunt = Hunt(HuntNode(id=ctx.journal.node or "call-back", members=()), ctx)
    hunt.bridge_id = bridge_id
    now = hunt.loop.time()
    leg = Leg(Attempt(HuntMember(staff, 0.0), staff, 0.0, False), staff_channel, now, now, state="ended")
    hunt.answered, hunt.talk = leg, Talk(hunt, leg)
    try:
        await hunt.talk.run()
    finally:
        await asyncio.shield(hunt.cleanup())


async def forward(node: ForwardNode, ctx: FlowContext) -> str | None:
    member = HuntMember(target=node.number, ring_seconds=node.ring_seconds)
    return await run(HuntNode(id=node.id, members=(member,), then=node.then), ctx)
