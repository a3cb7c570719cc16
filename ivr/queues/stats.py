"""Queue statistics computed from the stored entries (one per caller who waited).

Definitions (also in docs/queues.md):
- offered: callers who entered the line (those refused at the door, full or no agents, are
  counted apart and not offered);
- answered: bridged with an agent, directly or by a call-back;
- abandoned: hung up while waiting; `abandon_avg_seconds` is how long they had waited;
- service level: answered within the queue's threshold / (answered + abandoned), in percent;
  abandons shorter than the threshold count too (the strict, app_queue "servicelevel" reading);
- average and 90th-percentile wait of answered callers; talk time per agent.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.store.queues import QueueEntry

REFUSED = frozenset({"full", "no_agents"})
ANSWERED = frozenset({"answered", "callback_answered"})


@dataclass(frozen=True)
class AgentTalk:
    calls: int
    talk_seconds: float


@dataclass(frozen=True)
class QueueStats:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    abandon_avg_seconds: float = 0.0
    timed_out: int = 0               # max_wait reached
    left: int = 0                    # pressed the leave digit
    callbacks: int = 0               # asked to be called back
    refused: int = 0                 # line full, or no agent logged in
    answered_within: int = 0
    service_level: float | None = None   # percent; None before any answered or abandoned call
    avg_wait: float = 0.0
    p90_wait: float = 0.0
    agents: dict[str, AgentTalk] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"offered": self.offered, "answered": self.answered, "abandoned": self.abandoned,
                "abandon_avg_seconds": round(self.abandon_avg_seconds, 1), "timed_out": self.timed_out,
                "left": self.left, "callbacks": self.callbacks, "refused": self.refused,
                "answered_within": self.answered_within,
                "service_level": None if self.service_level is None else round(self.service_level, 1),
                "avg_wait": round(self.avg_wait, 1), "p90_wait": round(self.p90_wait, 1),
                "agents": {ext: {"calls": a.calls, "talk_seconds": round(a.talk_seconds, 1)}
                           for ext, a in sorted(self.agents.items())}}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def compute(entries: Iterable[QueueEntry]) -> QueueStats:
    offered = answered = abandoned = timed_out = left = callbacks = refused = within = 0
    waits: list[float] = []
    abandon_waits: list[float] = []
    talk: dict[str, list[float]] = {}
    for e in entries:
        if e.outcome in REFUSED:
            refused += 1
            continue
        if e.outcome == "callback":
            # The request itself; its result is a later entry of the same caller.
            callbacks += 1
            continue
        offered += 1
        if e.outcome in ANSWERED:
            answered += 1
            waits.append(e.wait_seconds)
            within += e.wait_seconds <= e.service_level_seconds
            if e.agent:
                talk.setdefault(e.agent, []).append(e.talk_seconds)
        elif e.outcome == "abandoned":
            abandoned += 1
            abandon_waits.append(e.wait_seconds)
        elif e.outcome == "timeout":
            timed_out += 1
        elif e.outcome == "left":
            left += 1
    handled = answered + abandoned
    return QueueStats(
        offered=offered, answered=answered, abandoned=abandoned,
        abandon_avg_seconds=sum(abandon_waits) / len(abandon_waits) if abandon_waits else 0.0,
        timed_out=timed_out, left=left, callbacks=callbacks, refused=refused, answered_within=within,
        service_level=100.0 * within / handled if handled else None,
        avg_wait=sum(waits) / len(waits) if waits else 0.0, p90_wait=percentile(waits, 90),
        agents={ext: AgentTalk(len(t), sum(t)) for ext, t in talk.items()})
