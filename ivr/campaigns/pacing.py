"""Dispatcher-aware pacing: a passenger who presses 3 should reach a dispatcher soon, so a
campaign keeps its calls in flight within the free dispatchers of its option-3 target times the
profile's `per_free_dispatcher` (at least `min_concurrent`).

Free dispatchers: for a queue, its agents the queue manager would offer a caller now (logged in,
not paused, idle, not in wrap-up), less the callers already waiting in its line; for a hunt group,
its members whose staff phone is idle (device state), counting a member on an outside number as
free (its state cannot be seen). Only this campaign's own calls count as in flight.
"""
from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from ivr.ari.client import AriError
from ivr.campaigns.model import Profile
from ivr.plan.model import HuntNode, Plan, QueueNode
from ivr.queues.agents import Agent

log = logging.getLogger(__name__)

# Device states of a staff phone that a hunt group would ring at once.
IDLE_DEVICE = frozenset({"NOT_INUSE", "UNKNOWN"})


@dataclass(frozen=True)
class Dispatchers:
    """Who could take a passenger who pressed 3 now."""

    free: int
    waiting: int = 0             # callers already waiting for them (a queue's line)

    @property
    def available(self) -> int:
        return max(0, self.free - self.waiting)


def allowed_in_flight(dispatchers: Dispatchers, per_free: float, minimum: int) -> int:
    """Calls a campaign may have in flight for these dispatchers."""
    return max(minimum, math.floor(dispatchers.available * per_free))


def queue_dispatchers(node: QueueNode, queues, now: float) -> Dispatchers:
    """`queues`: the QueueManager; `now`: the event loop's time (agents' wrap-up is in loop time).
    An agent the manager has not seen yet is logged in and idle, as the queue itself assumes."""
    free = sum(1 for ext in node.agents if queues.agents.get(ext, Agent(ext)).available(now))
    line = queues.queues.get(node.id)
    waiting = sum(1 for w in line.waiting if not w.offer) if line is not None else 0
    return Dispatchers(free, waiting)


async def hunt_dispatchers(node: HuntNode, plan: Plan, ari) -> Dispatchers:
    """Members whose phone is idle; a state that cannot be read counts as free (fail open: the
    campaign then paces as it would without this)."""
    async def free(target: str) -> bool:
        if target not in plan.staff:
            return True
        try:
            return await ari.device_state(f"PJSIP/{target}") in IDLE_DEVICE
        except AriError as e:
            log.warning("campaign pacing: device state unknown target=%s error=%s", target, e.message)
            return True

    states = await asyncio.gather(*(free(m.target) for m in node.members))
    return Dispatchers(sum(states))


async def dispatcher_room(profile: Profile, plan: Plan, services, ari, in_flight: int) -> int | None:
    """New calls the campaign may start now for its dispatchers, or None when the profile's pacing
    is not dispatcher-aware (or its option-3 target is not a hunt or queue node of this plan).
    `services`: ivr.flows.context.Services (the queue manager); `ari`: the ARI client."""
    if profile.pacing.per_free_dispatcher <= 0 or not profile.dispatcher:
        return None
    node = plan.nodes.get(profile.dispatcher)
    if isinstance(node, QueueNode) and services.queues is not None:
        dispatchers = queue_dispatchers(node, services.queues, asyncio.get_running_loop().time())
    elif isinstance(node, HuntNode):
        dispatchers = await hunt_dispatchers(node, plan, ari)
    else:
        return None
    allowed = allowed_in_flight(dispatchers, profile.pacing.per_free_dispatcher, profile.pacing.min_concurrent)
    return max(0, allowed - in_flight)
