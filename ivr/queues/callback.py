"""Call-back keeping the place: when a request's turn comes, ring the offered agent(s) first; the
agent who answers hears a short notice and music while the customer is called over the router's
trunks (the next one when a trunk fails: ivr.calls.outbound_leg); the customer who answers hears a
greeting and is bridged with the agent. A busy or unanswered customer keeps the place and is tried
again later (QueueManager.callback_failed).

Each step is added to the call record of the call that asked for the call-back.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import (ChannelDestroyed, ChannelHangupRequest, ChannelStateChange, Dial,
                            StasisEnd, StasisStart)
from ivr.calls.handover import ARI_HANDLING, KeepTalking
from ivr.calls.legs import hangup_quietly, play_until_finished, quietly
from ivr.calls.node_ids import on_node
from ivr.calls.outbound_leg import GONE, CallerIdOn, dial_number
from ivr.calls.outcome import Outcome, of_dial_status
from ivr.errors import IvrError
from ivr.plan.model import Plan, QueueNode
from ivr.queues import announce
from ivr.queues.manager import QueueManager, Waiter
from ivr.store.calls import CallStore
from ivr.routing.router import default_trunk_endpoint

log = logging.getLogger(__name__)

CUSTOMER_RING_SECONDS = 30
GREETING_LIMIT = 15.0       # a lost PlaybackFinished must not hold the agent
ENDED = (ChannelHangupRequest, ChannelDestroyed, StasisEnd)


def trunk_endpoint(number: str, plan: Plan, tried: tuple[str, ...] = ()) -> str:
    """The plan's default trunk (no router: `tried` cannot be avoided, so there is no failover)."""
    return default_trunk_endpoint(number, plan)


class CallbackDialer:
    def __init__(self, ari: AriClient, bus: EventBus, manager: QueueManager, calls: CallStore,
                 resolve: Callable[[str, str], str | None], clock: Callable[[], datetime],
                 endpoint: Callable[[str, Plan, tuple[str, ...]], str] = trunk_endpoint,
                 caller_id_on: CallerIdOn | None = None, keep_talking: KeepTalking | None = None,
                 node_name: str = ""):
        self.ari, self.bus, self.manager, self.calls = ari, bus, manager, calls
        self.node_name = node_name           # in a cluster: the prefix of the legs' ids
        self.resolve, self.clock = resolve, clock
        self.endpoint = endpoint             # (customer's number, plan, trunks tried) -> the channel to dial
        self.caller_id_on = caller_id_on     # (trunk, "") -> the company number the trunk presents
        self.keep_talking = keep_talking     # the conversation, with transfers from the agent's phone
        self._ids = 0

    def _new_id(self, waiter: Waiter, what: str) -> str:
        self._ids += 1
        return on_node(self.node_name, f"cb{waiter.callback_id}-{int(self.clock().timestamp())}-{what}{self._ids}")

    async def _step(self, waiter: Waiter, kind: str, **data: Any) -> None:
        if waiter.call_id is None:
            return
        try:
            await self.calls.add_step(waiter.call_id, self.clock(), waiter.queue, kind, data)
        except Exception:     # the record is a report: a failed write must not stop the call-back
            log.exception("call-back step not stored callback=%s", waiter.callback_id)

    def _media(self, name: str, language: str) -> list[str]:
        path = self.resolve(name, language)
        return ["sound:" + path] if path else []

    async def run(self, waiter: Waiter, node: QueueNode) -> None:
        plan = self.manager.plan()
        await self.ari.wait_connected()
        legs: list[str] = []
        with self.bus.subscribe() as sub:
            try:
                agent_leg, agent = await self._ring_agents(waiter, node, sub, legs)
                if agent_leg is None:
                    return
                await self._call_customer(waiter, plan, sub, agent_leg, agent, legs)
            finally:
                # The offer must never stay reserved: a failure anywhere frees the agents, and
                # counts as an attempt so a lasting fault ends in "failed" rather than a loop.
                if waiter.offer:
                    waiter.attempts += 1
                    self.manager.callback_failed(waiter, "error")
                await asyncio.shield(self._hangup_all(legs))

    async def _stage(self, endpoint: str, leg_id: str, sub: Subscription, legs: list[str],
                     caller_id: str = "") -> None:
        sub.add_key(leg_id)
        legs.append(leg_id)
        with self.bus.subscribe(leg_id) as staged:
            await self.ari.create_channel(endpoint, leg_id, "leg")
            while not isinstance(await staged.get(5), StasisStart):
                pass
        if caller_id:
            await self.ari.set_var(leg_id, "CALLERID(num)", caller_id)
        for name, value in ARI_HANDLING.items():     # the agent's REFER comes to the service
            await self.ari.set_var(leg_id, name, value)

    async def _ring_agents(self, waiter: Waiter, node: QueueNode, sub: Subscription,
                           legs: list[str]) -> tuple[str | None, str]:
        loop = asyncio.get_running_loop()
        ringing: dict[str, str] = {}        # leg id -> extension
        for ext in waiter.offer:
            leg_id = self._new_id(waiter, f"agent{ext}-")
            try:
                await self._stage(f"PJSIP/{ext}", leg_id, sub, legs, caller_id=waiter.caller)
                await self.ari.dial(leg_id, timeout=int(node.agent_ring_seconds) + 5)
            except (AriError, asyncio.TimeoutError):
                continue
            ringing[leg_id] = ext
        rang = tuple(ringing.values())
        deadline = loop.time() + node.agent_ring_seconds
        answered = None
        while answered is None and ringing and loop.time() < deadline:
            try:
                event = await sub.get(timeout=deadline - loop.time())
            except asyncio.TimeoutError:
                break
            key = event.keys()[0] if event.keys() else ""
            if isinstance(event, ChannelStateChange) and key in ringing and event.channel.state == "Up":
                answered = key
            elif isinstance(event, ENDED) and key in ringing:
                ringing.pop(key)
            elif isinstance(event, Dial) and event.peer_id in ringing \
                    and of_dial_status(event.dialstatus) not in (None, Outcome.ANSWERED):
                ringing.pop(event.peer_id)
        for leg_id in [leg for leg in legs if leg != answered]:
            await self._hangup(leg_id, legs)
        if answered is None:
            await self._step(waiter, "callback_agent_no_answer", agents=list(rang))
            self.manager.offer_ended(waiter, None, no_answer=rang)
            return None, ""
        agent = ringing[answered]
        await self._step(waiter, "callback_agent_answered", agent=agent)
        return answered, agent

    async def _call_customer(self, waiter: Waiter, plan: Plan | None, sub: Subscription,
                             agent_leg: str, agent: str, legs: list[str]) -> None:
        language = plan.language if plan else "ru"
        # The agent hears a short notice, then ringback until the customer is put through.
        notice = self._media(announce.CALLBACK_AGENT, language)
        tone = f"tone:ring;tonezone={plan.country.lower() if plan else 'ru'}"
        ringback = self._new_id(waiter, "notice")
        # An agent who hung up is seen below as an ended leg.
        await quietly(self.ari.play(agent_leg, notice + [tone], ringback))
        waiter.attempts += 1
        await self._step(waiter, "callback_dial", number=waiter.caller, attempt=waiter.attempts, agent=agent)
        result, customer = "unavailable", ""
        if plan is not None and plan.trunks:
            try:
                reached = await dial_number(self.ari, sub, waiter.caller,
                                            lambda number, tried: self.endpoint(number, plan, tried),
                                            lambda: self._new_id(waiter, "customer"),
                                            ring_seconds=CUSTOMER_RING_SECONDS, watch=(agent_leg,),
                                            on_leg=legs.append, caller_id_on=self.caller_id_on)
            except IvrError as e:                        # events lost: the leg's fate is unknown
                log.warning("call-back dial failed callback=%s error=%s", waiter.callback_id, e.message)
            else:
                for trunk, cause in reached.failed:
                    await self._step(waiter, "callback_trunk_failed", trunk=trunk, cause=cause)
                result = "agent_hung_up" if reached.result == GONE else reached.result
                customer = reached.channel_id
        if result != "answered":
            await self._step(waiter, "callback_result", result=result, attempt=waiter.attempts)
            self.manager.callback_failed(waiter, result)
            return
        self.manager.callback_connected(waiter, agent)
        await self._step(waiter, "callback_connected", agent=agent, attempt=waiter.attempts)
        try:
            await self._talk(waiter, language, sub, (agent, agent_leg), customer, ringback)
        finally:
            self.manager.callback_done(waiter, agent)

    async def _talk(self, waiter: Waiter, language: str, sub: Subscription, agent: tuple[str, str], customer: str,
                    ringback: str) -> None:
        """Greet the customer (the agent still hears ringback), then bridge them until one hangs up
        (or, with `keep_talking`, the agent passes the customer on)."""
        agent_ext, agent_leg = agent
        bridge = self._new_id(waiter, "br")
        try:
            if greeting := self._media(announce.CALLBACK_GREETING, language):
                gone = await play_until_finished(
                    self.ari, sub, customer, greeting, self._new_id(waiter, "greet"), GREETING_LIMIT,
                    stop=lambda event: isinstance(event, ENDED) and event.keys()[:1] in ((agent_leg,), (customer,)))
                if gone is not None:
                    await self._step(waiter, "callback_ended", by="agent" if gone.keys()[0] == agent_leg else "customer")
                    return
            await quietly(self.ari.stop_playback(ringback))
            await self.ari.create_bridge(bridge)
            await self.ari.add_to_bridge(bridge, agent_leg, customer)
            if self.keep_talking is not None:
                journal = await self.keep_talking(sub, customer, waiter.caller, bridge, agent_ext, agent_leg, language)
                for step in journal.steps:
                    await self._step(waiter, step.kind, **step.data)
                gone = "customer" if journal.steps and journal.steps[-1].kind == "customer_hung_up" else "agent"
                await self._step(waiter, "callback_ended", by=gone)
                return
            while True:
                event = await sub.get()
                if isinstance(event, ENDED) and event.keys()[:1] in ((agent_leg,), (customer,)):
                    await self._step(waiter, "callback_ended",
                                     by="agent" if event.keys()[0] == agent_leg else "customer")
                    return
        except AriError as e:
            log.warning("call-back bridge failed callback=%s error=%s", waiter.callback_id, e.message)
        finally:
            await quietly(self.ari.destroy_bridge(bridge))

    async def _hangup(self, leg_id: str, legs: list[str]) -> None:
        await hangup_quietly(self.ari, leg_id)
        if leg_id in legs:
            legs.remove(leg_id)

    async def _hangup_all(self, legs: list[str]) -> None:
        for leg_id in list(legs):
            await self._hangup(leg_id, legs)
