"""Erlang C: how many people answer a given share of calls within a given wait, from the arrival
rate and the average talk time (the classic call-centre staffing formula)."""
from __future__ import annotations

import math


def wait_probability(agents: int, load: float) -> float:
    """Erlang C: the chance a caller has to wait, with `load` Erlangs offered to `agents` people."""
    if agents <= load:
        return 1.0
    term, below = 1.0, 1.0                 # A^k/k! built up step by step (no overflow)
    for k in range(1, agents):
        term *= load / k
        below += term
    top = term * load / agents * agents / (agents - load)
    return top / (below + top)


def service_level(agents: int, calls_per_hour: float, talk_seconds: float, within_seconds: float) -> float:
    """The share of calls answered within `within_seconds`."""
    if calls_per_hour <= 0:
        return 1.0
    load = calls_per_hour * talk_seconds / 3600
    if agents <= load:
        return 0.0
    return 1 - wait_probability(agents, load) * math.exp(-(agents - load) * within_seconds / talk_seconds)


def agents_needed(calls_per_hour: float, talk_seconds: float, target: float = 0.9,
                  within_seconds: float = 20) -> int:
    """The fewest people that answer `target` of the calls within `within_seconds`."""
    if calls_per_hour <= 0 or talk_seconds <= 0:
        return 0
    agents = max(1, math.floor(calls_per_hour * talk_seconds / 3600) + 1)
    while service_level(agents, calls_per_hour, talk_seconds, within_seconds) < target:
        agents += 1
    return agents
