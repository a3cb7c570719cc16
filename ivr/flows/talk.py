"""The conversation a hunt bridged: the caller and one staff party, until one of them leaves or the
staff party passes the caller on.

The staff party passes the caller on with the phone's Transfer key (a REFER: blind to a number, or
attended naming a consultation call the phone made) or with the plan's in-call codes on phones
without one (`## 102 #` blind, `*2 102` attended). Either way the caller never leaves the
service's hands: it hears music while a transfer is arranged and ringback while a blind target
rings; an attended transfer ends with the consulted party in the caller's own bridge, which is the
same conversation with a new staff party (so it may pass the caller on again).
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ivr.ari.client import AriError
from ivr.ari.events import (ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, ChannelTransfer, Event,
                            StasisEnd, StasisStart)
from ivr.calls.legs import extension_of, hangup_quietly, quietly
from ivr.calls.talking import TransferAsked
from ivr.flows.transfer import CodeReader, CodeRequest, transfer_target

if TYPE_CHECKING:                               # hunt.py imports this module
    from ivr.flows.hunt import Hunt, Leg

log = logging.getLogger(__name__)

HANDOVER_SECONDS = 5.0      # the consulted phone reaches us once the consulting side is gone
COMPLETE, CANCEL = "*", "#"  # keyed during an attended consultation


def _ended(event: Event, channel_id: str) -> bool:
    return isinstance(event, (ChannelDestroyed, StasisEnd, ChannelHangupRequest)) and event.channel.id == channel_id


class Talk:
    def __init__(self, hunt: Hunt, leg: Leg):
        self.hunt, self.ctx, self.call = hunt, hunt.ctx, hunt.call
        self.loop = asyncio.get_running_loop()
        self.staff = leg.picked_by or leg.attempt.target   # who talks to the caller now
        self.channel_id = leg.channel_id           # that party's channel (hung up with the call)
        self.codes = CodeReader(self.ctx.plan.transfer_codes)
        self.consult: Hunt | None = None           # an attended consultation under way (its legs)
        self.consult_bridge = ""

    @property
    def bridge_id(self) -> str:
        return self.hunt.bridge_id

    async def run(self) -> str | None:
        """Until the staff party hangs up or passes the caller on; the node the call goes on at
        when the console sent it to one (a hunt group, a queue)."""
        self._show()
        try:
            return await self._until_over()
        finally:
            if (conversations := self.ctx.services.conversations) and self.ctx.journal.call_id is not None:
                conversations.ended(self.ctx.journal.call_id)

    def _show(self) -> None:
        """The console sees who talks to the caller now (and may ask to pass the caller on)."""
        if (conversations := self.ctx.services.conversations) and self.ctx.journal.call_id is not None:
            conversations.talking(self.ctx.journal.call_id, self.call.channel_id, self.staff)

    async def _until_over(self) -> str | None:
        while True:
            wait = self.codes.until - self.loop.time()
            event = await self.call.next_event(timeout=None if wait == float("inf") else max(0.0, wait))
            if event is None:
                request = self.codes.expire(self.loop.time())
                if request is not None and await self.keyed(request):
                    return None
                continue
            if isinstance(event, ChannelTransfer) and event.channel_id == self.channel_id and not event.state:
                if await self.referred(event):
                    return None
            elif isinstance(event, ChannelDtmfReceived) and event.channel.id == self.channel_id:
                request = self.codes.feed(event.digit, self.loop.time())
                if request is not None and await self.keyed(request):
                    return None
            elif isinstance(event, TransferAsked):
                self.ctx.journal.step("transfer_asked", by=self.staff, to=event.destination, user=event.by)
                if event.destination in self.ctx.plan.nodes:
                    return await self.to_node(event.destination)
                if await self.blind(event.destination, "blind", refer=False):
                    return None
            elif _ended(event, self.channel_id):
                self.hunt._hide_card(self.channel_id)
                self.ctx.journal.step("member_hung_up", member=self.staff)
                return None

    # ----- what the staff party asked -----

    async def referred(self, request: ChannelTransfer) -> bool:
        """The phone's REFER. True when the caller was passed on (this conversation is over)."""
        log.info("transfer requested call=%s by=%s to=%s replaces=%s", self.call.channel_id, self.staff,
                 request.destination, request.replaces)
        if not request.replaces:                   # attended REFERs name the Refer-To's user part too
            return await self.blind(request.destination, "blind", refer=True)
        if not request.replaced_channel_id:
            return await self.refuse(request.replaces, "attended", "consultation_unknown", refer=True)
        if not request.connected_channel_id:
            # The consulted phone still rings: the caller goes there as a blind transfer would.
            try:
                dialled = (await self.call.ari.get_channel(request.replaced_channel_id)).exten
            except AriError:
                return await self.refuse(request.replaces, "attended", "consultation_gone", refer=True)
            await hangup_quietly(self.call.ari, request.replaced_channel_id)
            return await self.blind(dialled, "attended", refer=True)
        await self.take_over(request.replaced_channel_id, request.connected_channel_id)
        return False

    async def keyed(self, request: CodeRequest) -> bool:
        """An in-call code. True when the caller was passed on (this conversation is over)."""
        self.ctx.journal.step("transfer_code", by=self.staff, mode=request.mode, to=request.number)
        if request.mode == "blind":
            return await self.blind(request.number, "blind", refer=False)
        return await self.consult_first(request.number)

    async def refuse(self, wanted: str, mode: str, why: str, refer: bool) -> bool:
        self.ctx.journal.step("transfer", by=self.staff, to=wanted, mode=mode, refused=why)
        if refer:
            await self._progress("channel_declined")
        return False

    # ----- blind -----

    async def blind(self, destination: str, mode: str, refer: bool) -> bool:
        target, refused = transfer_target(destination, self.ctx.plan, self.staff)
        if refused:
            return await self.refuse(destination, mode, refused, refer)
        self.ctx.journal.step("transfer", by=self.staff, to=target, mode=mode)
        # The caller leaves the bridge before the phone is told: its hang-up must not end the call.
        await self.call.ari.remove_from_bridge(self.bridge_id, self.call.channel_id)
        await self.hunt.drop_bridge()
        self.hunt._hide_card(self.channel_id)
        if refer:
            await self._progress("channel_answered")
        # The phone hangs up once told; a phone that does not must not stay busy for the recall.
        # The NOTIFY and the BYE go out on the same SIP session, in this order.
        await hangup_quietly(self.call.ari, self.channel_id)
        await self.hunt.ring_onward(self.staff, target)
        return True

    async def to_node(self, node_id: str) -> str:
        """The console sent the caller to a hunt group or a queue: the call goes on there."""
        self.ctx.journal.step("transfer", by=self.staff, to=node_id, mode="node")
        await self.call.ari.remove_from_bridge(self.bridge_id, self.call.channel_id)
        await self.hunt.drop_bridge()
        self.hunt._hide_card(self.channel_id)
        await hangup_quietly(self.call.ari, self.channel_id)
        self.channel_id = ""
        return node_id

    # ----- attended -----

    async def take_over(self, consulting: str, consulted: str) -> None:
        """The phone's attended transfer: its consultation call (`consulting`, its own side, talking
        to `consulted`) replaces it in the caller's bridge. The caller hears music meanwhile."""
        by = self.staff
        try:
            far = await self.call.ari.get_channel(consulted)
            dialled = (await self.call.ari.get_channel(consulting)).exten
        except AriError:
            await self.refuse("", "attended", "consultation_gone", refer=True)
            return
        target = extension_of(far.name) or dialled
        handovers = self.ctx.services.handovers
        handovers.claim(consulted)
        self.call.sub.add_key(consulted)            # its StasisStart comes to this call
        self.ctx.journal.step("transfer", by=by, to=target, mode="attended")
        await quietly(self.call.ari.start_bridge_moh(self.bridge_id))
        await quietly(self.call.ari.remove_from_bridge(self.bridge_id, self.channel_id))
        self.hunt._hide_card(self.channel_id)
        await self._progress("channel_answered")
        await hangup_quietly(self.call.ari, self.channel_id)
        await hangup_quietly(self.call.ari, consulting)  # the dialplan hands `consulted` to us
        arrived = False
        try:
            arrived = await self._stasis_start(consulted)
        finally:
            if not arrived:
                handovers.give_up(consulted)
        await quietly(self.call.ari.stop_bridge_moh(self.bridge_id))
        if not arrived:                             # it hung up meanwhile: ring the transferring phone
            self.ctx.journal.step("transfer_failed", by=by, to=target, reason="consulted_gone")
            await self.call.ari.remove_from_bridge(self.bridge_id, self.call.channel_id)
            await self.hunt.drop_bridge()
            self.channel_id = ""
            await self.hunt.ring_onward(by, by)
            return
        await self.call.ari.add_to_bridge(self.bridge_id, consulted)
        self._now_talking(target, consulted)

    async def _stasis_start(self, channel_id: str) -> bool:
        deadline = self.loop.time() + HANDOVER_SECONDS
        while (left := deadline - self.loop.time()) > 0:
            event = await self.call.next_event(timeout=left)
            if isinstance(event, StasisStart) and event.channel.id == channel_id:
                return True
            if event is not None and _ended(event, channel_id):
                return False
        return False

    def _now_talking(self, target: str, channel_id: str) -> None:
        self.staff, self.channel_id = target, channel_id
        self._show()
        self.ctx.journal.person_answered(target)
        self.ctx.journal.step("answered", member=target, transferred=True)

    async def consult_first(self, number: str) -> bool:
        """`*2 NUMBER`: the caller hears music; the staff party hears the target ring, then talks
        to it. Hanging up or * hands the caller over; # or the target leaving goes back to the
        caller. True when the caller was passed on and nobody is left to talk to."""
        target, refused = transfer_target(number, self.ctx.plan, self.staff)
        if refused:
            return await self.refuse(number, "attended", refused, refer=False)
        seconds = self.ctx.plan.transfer_ring_seconds
        await quietly(self.call.ari.start_bridge_moh(self.bridge_id))
        await quietly(self.call.ari.remove_from_bridge(self.bridge_id, self.channel_id))
        self.consult, leg = await self.hunt.ring_one(target, seconds)
        ringback = self.call.new_id("consult-ringback")
        if leg is not None:
            await quietly(self.call.ari.play(self.channel_id, [f"tone:ring;tonezone={self.ctx.plan.country.lower()}"],
                                             ringback))
        answered, staff_left = await self._consult_answer(leg, seconds) if leg is not None else (None, False)
        await quietly(self.call.ari.stop_playback(ringback))
        if answered is None:
            await self.consult.cleanup()
            self.consult = None
            if staff_left:                          # hung up while it rang: the caller goes on ringing it
                return await self._left_while_ringing(target)
            self.ctx.journal.step("consult_end", by=self.staff, to=target, reason="no_answer")
            return await self._back_to_caller()
        self.consult_bridge = self.call.new_id("consult")
        await self.call.ari.create_bridge(self.consult_bridge)
        await self.call.ari.add_to_bridge(self.consult_bridge, self.channel_id, answered.channel_id)
        verdict = await self._consult_verdict(answered.channel_id)
        await quietly(self.call.ari.destroy_bridge(self.consult_bridge))
        self.consult_bridge = ""
        self.consult = None
        if verdict == "cancel":
            self.ctx.journal.step("consult_end", by=self.staff, to=target, reason="cancelled")
            await hangup_quietly(self.call.ari, answered.channel_id)
            return await self._back_to_caller()
        if verdict == "target_left":
            self.ctx.journal.step("consult_end", by=self.staff, to=target, reason="target_hung_up")
            return await self._back_to_caller()
        self.ctx.journal.step("transfer", by=self.staff, to=target, mode="attended")
        await quietly(self.call.ari.stop_bridge_moh(self.bridge_id))
        await self.call.ari.add_to_bridge(self.bridge_id, answered.channel_id)
        self.hunt._hide_card(self.channel_id)
        await hangup_quietly(self.call.ari, self.channel_id)
        self._now_talking(target, answered.channel_id)
        return False

    async def _consult_answer(self, leg: Leg, seconds: float) -> tuple[Leg | None, bool]:
        """(the answered consultation leg or None, whether the staff party hung up meanwhile)."""
        assert self.consult is not None
        deadline = self.loop.time() + seconds
        while leg.active and (left := deadline - self.loop.time()) > 0:
            event = await self.call.next_event(timeout=left)
            if event is None:
                break
            if _ended(event, self.channel_id):
                return None, True
            if isinstance(event, ChannelDtmfReceived) and event.channel.id == self.channel_id \
                    and event.digit == CANCEL:
                return None, False
            if (answered := await self.consult.on_event(event)) is not None:
                return answered, False
        return None, False

    async def _consult_verdict(self, target_channel: str) -> str:
        """complete (* or the staff party hung up), cancel (#) or target_left."""
        while True:
            event = await self.call.next_event()
            if event is None:
                continue
            if _ended(event, self.channel_id):
                return "complete"
            if _ended(event, target_channel):
                return "target_left"
            if isinstance(event, ChannelDtmfReceived) and event.channel.id == self.channel_id:
                if event.digit == COMPLETE:
                    return "complete"
                if event.digit == CANCEL:
                    return "cancel"

    async def _back_to_caller(self) -> bool:
        await quietly(self.call.ari.stop_bridge_moh(self.bridge_id))
        try:
            await self.call.ari.add_to_bridge(self.bridge_id, self.channel_id)
        except AriError:                            # the staff party left meanwhile: recall, fallback
            return await self._left_while_ringing(self.staff)
        return False

    async def _left_while_ringing(self, target: str) -> bool:
        self.ctx.journal.step("transfer", by=self.staff, to=target, mode="blind")
        await quietly(self.call.ari.stop_bridge_moh(self.bridge_id))
        await self.call.ari.remove_from_bridge(self.bridge_id, self.call.channel_id)
        await self.hunt.drop_bridge()
        self.hunt._hide_card(self.channel_id)
        await hangup_quietly(self.call.ari, self.channel_id)
        await self.hunt.ring_onward(self.staff, target)
        return True

    async def _progress(self, state: str) -> None:
        try:
            await self.call.ari.transfer_progress(self.channel_id, state)
        except AriError as e:                       # the phone hung up meanwhile: nothing to tell
            log.info("transfer progress not sent channel=%s state=%s error=%s", self.channel_id, state, e.message)

    async def cleanup(self) -> None:
        """The caller left: the staff party and any consultation go too."""
        if self.consult is not None:
            await self.consult.cleanup()
        if self.consult_bridge:
            await quietly(self.call.ari.destroy_bridge(self.consult_bridge))
        if self.channel_id:
            await hangup_quietly(self.call.ari, self.channel_id)
