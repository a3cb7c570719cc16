"""Call-back from the missed-call list: ring the staff member's own phone first; when they answer,
call the customer and bridge the two. The call is an outbound call record like any other, so its
result reaches the item the usual way: answered for at least N seconds closes it, anything else is
logged on it (busy, no answer, the staff phone not answered).

Phases: StaffRinging (originate into Stasis(ivr,callback,ITEM)) → CustomerRinging (the customer's leg
originated over the router's trunks, the next trunk when one fails: ivr.calls.outbound_leg) →
Talking (bridged) → Ended.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import ChannelDestroyed, ChannelHangupRequest, Event, StasisEnd, StasisStart
from ivr.calls.handover import ARI_HANDLING, KeepTalking
from ivr.calls.legs import hangup_quietly, quietly
from ivr.calls.node_ids import on_node
from ivr.calls.outbound_leg import GONE, CallerIdOn, EndpointFor, dial_number
from ivr.calls.outcome import of_cause
from ivr.errors import InvalidInput, ServiceUnavailable
from ivr.missed.errors import MissedConflict
from ivr.missed.store import MissedItem
from ivr.plan.model import Plan
from ivr.routing.router import default_trunk_endpoint

log = logging.getLogger(__name__)

STAFF_RING_SECONDS = 30
CUSTOMER_RING_SECONDS = 40


@dataclass
class CallbackJob:
    item: MissedItem
    staff: str
    channel_id: str             # the staff leg; the call record's channel
    call_id: int
    customer_endpoint: str      # the router's first choice; the next trunks come from Callbacks.endpoint_for
    tonezone: str = "ru"        # the plan's country: the ringback the staff member hears
    steps: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    outcome: str = "staff_no_answer"
    answered_at: datetime | None = None
    answered_by: str = ""       # who talked to the customer last, when the staff member passed them on


def trunk_endpoint(plan: Plan, number: str) -> str:
    """The customer's number out through the plan's default trunk (carrier routing comes later)."""
    if not plan.default_trunk:
        raise ServiceUnavailable("the plan has no trunk to call the customer through")
    return default_trunk_endpoint(number, plan)


class Callbacks:
    """Running call-backs of this process; never two to the same customer at once."""

    def __init__(self, ari: AriClient, bus: EventBus, now: Callable[[], datetime],
                 endpoint_for: EndpointFor | None = None, caller_id_on: CallerIdOn | None = None,
                 keep_talking: KeepTalking | None = None):
        self.ari, self.bus, self.now = ari, bus, now
        self.endpoint_for = endpoint_for              # the router's (number, trunks to skip) -> dial string
        self.caller_id_on = caller_id_on              # the router's caller ID as each trunk wants it
        self.keep_talking = keep_talking              # the conversation, with transfers (the service's)
        self.jobs: dict[str, CallbackJob] = {}        # staff channel id -> job
        self.customers: dict[str, str] = {}           # customer number -> staff channel id
        self._watchers: set[asyncio.Task] = set()

    async def stop(self) -> None:
        """Cancel and await the staff-ringing watchers (shutdown)."""
        watchers = list(self._watchers)
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)

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
            # The staff phone's REFER comes to the service, which keeps the customer (ivr.flows.talk).
            await self.ari.originate(f"PJSIP/{job.staff}", job.channel_id, f"callback,{job.item.id}",
                                     caller_id=f'"{label}" <{job.item.customer}>', timeout=STAFF_RING_SECONDS,
                                     variables=ARI_HANDLING)
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
                    job.steps.append((self.now(), "staff_ring_end", {"reason": of_cause(event.cause)}))
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
        staff_id, bridge_id = job.channel_id, job.channel_id + "-bridge"
        ringback_id = job.channel_id + "-ringback"
        legs: list[str] = []
        numbers = itertools.count(1)
        bridged = False
        job.outcome = "staff_hung_up"
        job.steps.append((self.now(), "staff_answered", {"staff": job.staff}))
        try:
            await self.ari.play(staff_id, [f"tone:ring;tonezone={job.tonezone}"], ringback_id)
            job.steps.append((self.now(), "customer_ringing", {"number": job.item.customer}))
            # The customer sees the company number they called.
            reached = await dial_number(
                self.ari, sub, job.item.customer, self.endpoint_for or (lambda number, tried: job.customer_endpoint),
                lambda: f"{staff_id}-customer{next(numbers)}", ring_seconds=CUSTOMER_RING_SECONDS,
                caller_id=job.item.company_number, watch=(staff_id,), first_endpoint=job.customer_endpoint,
                on_leg=legs.append, caller_id_on=self.caller_id_on)
            for trunk, cause in reached.failed:
                job.steps.append((self.now(), "trunk_failed", {"trunk": trunk, "cause": cause}))
            if reached.result != "answered":
                job.outcome = "staff_hung_up" if reached.result == GONE else reached.result
                job.steps.append((self.now(), "customer_not_reached", {"result": job.outcome}))
                return
            leg_id = reached.channel_id
            job.answered_at = self.now()
            job.outcome = "answered"
            job.steps.append((job.answered_at, "customer_answered",
                              {"trunk": reached.trunks[-1]} if reached.trunks else {}))
            await quietly(self.ari.stop_playback(ringback_id))
            await self.ari.create_bridge(bridge_id)            # mixing,proxy_media: see AriClient
            bridged = True
            await self.ari.add_to_bridge(bridge_id, staff_id, leg_id)
            if self.keep_talking is None:
                who = await self._wait_end(sub, staff_id, leg_id)
            else:
                who = await self._talk_on(job, sub, bridge_id, leg_id)
            job.steps.append((self.now(), "hung_up", {"by": who}))
        except (AriError, asyncio.TimeoutError) as e:
            job.steps.append((self.now(), "error", {"error": getattr(e, "message", type(e).__name__)}))
            if job.answered_at is None:
                job.outcome = "error"
        finally:
            await asyncio.shield(self._cleanup(job, legs, bridge_id if bridged else "", on_end))

    async def _talk_on(self, job: CallbackJob, sub: Subscription, bridge_id: str, leg_id: str) -> str:
        """The conversation, in which the staff member may pass the customer on; who hung up."""
        assert self.keep_talking is not None
        journal = await self.keep_talking(sub, leg_id, job.item.customer, bridge_id, job.staff, job.channel_id, "")
        job.steps.extend((step.at, step.kind, dict(step.data)) for step in journal.steps)
        job.answered_by = journal.answered_by or ""
        if journal.outcome == "transfer_no_answer":
            job.outcome = journal.outcome
        return "customer" if journal.steps and journal.steps[-1].kind == "customer_hung_up" else "staff"

    async def _wait_end(self, sub: Subscription, staff_id: str, leg_id: str) -> str:
        while True:
            event = await sub.get()
            if _gone(event, staff_id):
                return "staff"
            if _gone(event, leg_id):
                return "customer"

    async def _cleanup(self, job: CallbackJob, legs: list[str], bridge_id: str,
                       on_end: Callable[[CallbackJob], Any]) -> None:
        for channel in (*legs, job.channel_id):
            await self._hangup(channel)
        if bridge_id:
            await quietly(self.ari.destroy_bridge(bridge_id))
        self._forget(job)
        await on_end(job)

    async def _hangup(self, channel_id: str) -> None:
        await hangup_quietly(self.ari, channel_id)


def _gone(event: Event, channel_id: str) -> bool:
    return isinstance(event, (StasisEnd, ChannelDestroyed, ChannelHangupRequest)) and event.channel.id == channel_id


def new_channel_id(node_name: str) -> str:
    return on_node(node_name, f"cb-{uuid.uuid4().hex[:16]}")
