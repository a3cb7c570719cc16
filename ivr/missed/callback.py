"""Call-back from the missed-call list: ring the staff member's own phone first; when they answer,
call the customer and bridge the two. The call is an outbound call record like any other, so its
result reaches the item the usual way: answered for at least N seconds closes it, anything else is
logged on it (busy, no answer, the staff phone not answered).

Phases: StaffRinging (originate into Stasis(ivr,callback,ITEM)) → CustomerRinging (the customer's leg
staged, subscribed, then dialled) → Talking (bridged) → Ended.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import (ChannelDestroyed, ChannelHangupRequest, ChannelStateChange, Dial, Event,
                            StasisEnd, StasisStart)
from ivr.errors import InvalidInput, ServiceUnavailable
from ivr.missed.errors import MissedConflict
from ivr.missed.store import MissedItem
from ivr.plan.model import Plan

log = logging.getLogger(__name__)

STAFF_RING_SECONDS = 30
CUSTOMER_RING_SECONDS = 40
# Q.850 causes of a leg that ended unanswered.
CAUSES = {17: "busy", 18: "no_answer", 19: "no_answer", 21: "declined", 1: "unavailable", 3: "unavailable",
          20: "unavailable", 34: "congestion", 38: "congestion", 16: "no_answer"}
FINAL = {"BUSY": "busy", "NOANSWER": "no_answer", "CONGESTION": "congestion", "CHANUNAVAIL": "unavailable",
         "CANCEL": "no_answer", "DONTCALL": "declined", "INVALIDARGS": "unavailable"}


@dataclass
class CallbackJob:
    item: MissedItem
    staff: str
    channel_id: str             # the staff leg; the call record's channel
    call_id: int
    customer_endpoint: str
    tonezone: str = "ru"        # the plan's country: the ringback the staff member hears
    steps: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    outcome: str = "staff_no_answer"
    answered_at: datetime | None = None


def trunk_endpoint(plan: Plan, number: str) -> str:
    """The customer's number out through the plan's default trunk (carrier routing comes later)."""
    trunk = next((t.name for t in plan.trunks.values() if t.default), None) or next(iter(plan.trunks), "")
    if not trunk:
        raise ServiceUnavailable("the plan has no trunk to call the customer through")
    return f"PJSIP/{number}@trunk-{trunk}"


class Callbacks:
    """Running call-backs of this process; never two to the same customer at once."""

    def __init__(self, ari: AriClient, bus: EventBus, now: Callable[[], datetime]):
        self.ari, self.bus, self.now = ari, bus, now
        self.jobs: dict[str, CallbackJob] = {}        # staff channel id -> job
        self.customers: dict[str, str] = {}           # customer number -> staff channel id
        self._watchers: set[asyncio.Task] = set()

    def busy(self, customer: str) -> bool:
        return customer in self.customers

    async def ring_staff(self, job: CallbackJob, on_end: Callable[[CallbackJob], Any]) -> None:
        """Originate the staff leg; a watcher notices when it ends without answering."""
        if self.busy(job.item.customer):
            raise MissedConflict(f"a call-back to {job.item.customer} is already running")
        if job.item.status == "closed":
            raise InvalidInput(f"missed call {job.item.id} is closed")
        self.jobs[job.channel_id] = job
        self.customers[job.item.customer] = job.channel_id
        sub = self.bus.subscribe(job.channel_id)
        label = (job.item.contact_name or "Call back").replace('"', "")
        try:
            await self.ari.originate(f"PJSIP/{job.staff}", job.channel_id, f"callback,{job.item.id}",
                                     caller_id=f'"{label}" <{job.item.customer}>', timeout=STAFF_RING_SECONDS)
        except (AriError, ServiceUnavailable):
            sub.cancel()
            self._forget(job)
            raise
        job.steps.append((self.now(), "staff_ringing", {"staff": job.staff}))
        task = asyncio.create_task(self._watch_staff(job, sub, on_end), name=f"callback-watch-{job.channel_id}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _watch_staff(self, job: CallbackJob, sub: Subscription, on_end: Callable[[CallbackJob], Any]) -> None:
        try:
            while True:
                try:
                    event = await sub.get(STAFF_RING_SECONDS + 15)
                except asyncio.TimeoutError:
                    job.steps.append((self.now(), "staff_ring_timeout", {}))
                    break
                if isinstance(event, StasisStart):
                    return                  # answered: the supervisor runs `talk` from here
                if isinstance(event, (ChannelDestroyed, ChannelHangupRequest)):
                    job.steps.append((self.now(), "staff_ring_end", {"reason": CAUSES.get(event.cause, "no_answer")}))
                    break
        finally:
            sub.cancel()
        job.outcome = "staff_no_answer"
        self._forget(job)
        await on_end(job)

    def _forget(self, job: CallbackJob) -> None:
        self.jobs.pop(job.channel_id, None)
        if self.customers.get(job.item.customer) == job.channel_id:
            del self.customers[job.item.customer]

    async def talk(self, event: StasisStart, sub: Subscription, on_end: Callable[[CallbackJob], Any]) -> None:
        """The staff member answered (the supervisor's task for the staff channel)."""
        job = self.jobs.get(event.channel.id)
        if job is None:
            # Originated by an earlier run of the service: nobody knows what it was for any more.
            log.warning("call-back leg without a job, hanging up call=%s", event.channel.id)
            await self._hangup(event.channel.id)
            return
        staff_id, leg_id = job.channel_id, job.channel_id + "-customer"
        ringback_id, bridge_id = job.channel_id + "-ringback", job.channel_id + "-bridge"
        bridged = False
        job.outcome = "staff_hung_up"
        job.steps.append((self.now(), "staff_answered", {"staff": job.staff}))
        try:
            sub.add_key(leg_id)
            await self.ari.play(staff_id, [f"tone:ring;tonezone={job.tonezone}"], ringback_id)
            with self.bus.subscribe(leg_id) as staged:
                await self.ari.create_channel(job.customer_endpoint, leg_id, "leg")
                while not isinstance(await staged.get(5), StasisStart):
                    pass
            # The customer sees the company number they called (an outgoing PJSIP channel presents
            # its connected line in the From header).
            await self.ari.set_var(leg_id, "CONNECTEDLINE(num,i)", job.item.company_number)
            await self.ari.dial(leg_id, caller_channel=staff_id, timeout=CUSTOMER_RING_SECONDS)
            job.steps.append((self.now(), "customer_ringing", {"number": job.item.customer}))
            result = await self._wait_customer(sub, staff_id, leg_id)
            if result != "answered":
                job.outcome = result
                job.steps.append((self.now(), "customer_not_reached", {"result": result}))
                return
            job.answered_at = self.now()
            job.outcome = "answered"
            job.steps.append((job.answered_at, "customer_answered", {}))
            await self._quietly(self.ari.stop_playback(ringback_id))
            await self.ari.create_bridge(bridge_id)
            bridged = True
            await self.ari.add_to_bridge(bridge_id, staff_id, leg_id)
            who = await self._wait_end(sub, staff_id, leg_id)
            job.steps.append((self.now(), "hung_up", {"by": who}))
        except (AriError, asyncio.TimeoutError) as e:
            job.steps.append((self.now(), "error", {"error": getattr(e, "message", type(e).__name__)}))
            if job.answered_at is None:
                job.outcome = "error"
        finally:
            await asyncio.shield(self._cleanup(job, leg_id, bridge_id if bridged else "", on_end))

    async def _wait_customer(self, sub: Subscription, staff_id: str, leg_id: str) -> str:
        deadline = asyncio.get_running_loop().time() + CUSTOMER_RING_SECONDS + 10
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return "no_answer"
            try:
                event = await sub.get(left)
            except asyncio.TimeoutError:
                return "no_answer"
            if _gone(event, staff_id):
                return "staff_hung_up"
            if isinstance(event, Dial) and event.peer_id == leg_id and event.dialstatus in FINAL:
                return FINAL[event.dialstatus]
            if isinstance(event, ChannelStateChange) and event.channel.id == leg_id and event.channel.state == "Up":
                return "answered"
            if isinstance(event, (ChannelHangupRequest, ChannelDestroyed)) and event.channel.id == leg_id:
                return CAUSES.get(event.cause, "no_answer")

    async def _wait_end(self, sub: Subscription, staff_id: str, leg_id: str) -> str:
        while True:
            event = await sub.get()
            if _gone(event, staff_id):
                return "staff"
            if _gone(event, leg_id):
                return "customer"

    async def _cleanup(self, job: CallbackJob, leg_id: str, bridge_id: str, on_end: Callable[[CallbackJob], Any]) -> None:
        for channel in (leg_id, job.channel_id):
            await self._hangup(channel)
        if bridge_id:
            await self._quietly(self.ari.destroy_bridge(bridge_id))
        self._forget(job)
        await on_end(job)

    async def _hangup(self, channel_id: str) -> None:
        await self._quietly(self.ari.hangup(channel_id))

    @staticmethod
    async def _quietly(operation) -> None:
        try:
            await operation
        except (AriError, ServiceUnavailable):
            pass


def _gone(event: Event, channel_id: str) -> bool:
    return isinstance(event, (StasisEnd, ChannelDestroyed, ChannelHangupRequest)) and event.channel.id == channel_id


def new_channel_id() -> str:
    return f"cb-{uuid.uuid4().hex[:16]}"
