"""Agents as the queues see them, and who is offered the next caller.

An agent is one staff extension, shared by every queue that lists it: an agent talking to a caller
of one queue is not offered a caller of another. Times are the event loop's monotonic seconds.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from ivr.plan.model import QueueNode


class AgentState(str, Enum):
    IDLE = "idle"
    RINGING = "ringing"      # offered a caller, its phone rings
    TALKING = "talking"


@dataclass
class Agent:
    extension: str
    logged_in: bool = True
    paused: bool = False
    reason: str = ""
    state: AgentState = AgentState.IDLE
    wrapup_until: float = 0.0
    skip_until: float = 0.0          # let a call ring out: not offered calls until then
    last_call_end: float = 0.0       # longest idle first; 0 = none since the service started
    calls: int = 0
    talk_seconds: float = 0.0

    def available(self, now: float) -> bool:
        return (self.logged_in and not self.paused and self.state is AgentState.IDLE
                and now >= self.wrapup_until and now >= self.skip_until)

    def status(self, now: float) -> str:
        """One word for people: logged_out, paused, ringing, talking, wrapup, skipped, idle."""
        if not self.logged_in:
            return "logged_out"
        if self.state is not AgentState.IDLE:
            return self.state.value
        if self.paused:
            return "paused"
        if now < self.wrapup_until:
            return "wrapup"
        if now < self.skip_until:
            return "skipped"
        return "idle"

    def next_free(self, now: float) -> float | None:
        """When a wrap-up or a skip of an otherwise free agent ends (to wake the queue then)."""
        if not self.logged_in or self.paused or self.state is not AgentState.IDLE:
            return None
        at = max(self.wrapup_until, self.skip_until)
        return at if at > now else None


def choose(node: QueueNode, agents: dict[str, Agent], now: float, last_offered: str | None,
           rng: random.Random) -> list[str]:
    """The agents to ring for the caller at the head of the line: all free ones of the lowest
    penalty (ringall), or one of them by the node's strategy. Empty when nobody is free."""
    free = [ext for ext in node.agents if ext in agents and agents[ext].available(now)]
    if not free:
        return []
    lowest = min(node.penalties.get(ext, 0) for ext in free)
    free = [ext for ext in free if node.penalties.get(ext, 0) == lowest]
    strategy = node.strategy
    if strategy == "ringall":
        return free
    if strategy == "linear":
        return free[:1]
    if strategy in ("longestidle", "leastrecent"):
        return [min(free, key=lambda ext: agents[ext].last_call_end)]   # stable: plan order on ties
    if strategy == "fewestcalls":
        return [min(free, key=lambda ext: agents[ext].calls)]
    if strategy == "random":
        return [rng.choice(free)]
    if strategy == "roundrobin":
        order = list(node.agents)
        start = order.index(last_offered) + 1 if last_offered in order else 0
        for ext in order[start:] + order[:start]:
            if ext in free:
                return [ext]
    raise ValueError(f"unknown queue strategy {strategy!r}")
