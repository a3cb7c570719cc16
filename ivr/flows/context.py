"""What a node executor gets: the call, the plan version the call started on, and its journal."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.calls.cards import Card, Cards
from ivr.calls.journal import CallJournal
from ivr.calls.session import CallSession
from ivr.plan.model import Plan


@dataclass
class Services:
    """Long-lived parts the flows share across calls, made once by the service. Each capability
    adds its own field (typed Any here to keep this module free of import cycles)."""

    hunt_memory: dict[str, Any] = field(default_factory=dict)   # hunt node id -> its rotation state
    queues: Any = None        # the queue manager (queue nodes)
    router: Any = None        # outbound trunk choice (legs to outside numbers)
    missed: Any = None        # the missed-call service
    cards: Cards = field(default_factory=Cards)   # call cards on the staff phones being rung


@dataclass
class FlowContext:
    call: CallSession
    plan: Plan
    journal: CallJournal
    now: Callable[[], datetime]
    company_number: str = ""
    caller: str = ""
    services: Services = field(default_factory=Services)
    card: Card | None = None   # who the caller is, shown on the staff phones this call rings
