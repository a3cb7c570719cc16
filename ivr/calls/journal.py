"""What happened in one call, written to the call record.

The call's row is written when the call starts, so a crash leaves a trace to reconcile; the steps
are kept in memory as frozen values and written with the outcome in one transaction when the call
ends (CallStore.close), off the prompt path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ivr.store.calls import NewStep as Step


@dataclass
class CallJournal:
    clock: Callable[[], datetime]
    call_id: int | None = None
    steps: list[Step] = field(default_factory=list)
    outcome: str = ""
    answered_by: str | None = None
    answered_at: datetime | None = None
    node: str = ""
    node_kind: str = ""

    def step(self, kind: str, node: str | None = None, **data: Any) -> None:
        self.steps.append(Step(self.clock(), self.node if node is None else node, kind, data))

    def enter(self, node_id: str, kind: str) -> None:
        self.node, self.node_kind = node_id, kind
        self.step("enter", node_id, node_kind=kind)

    def person_answered(self, who: str) -> None:
        self.answered_by, self.answered_at = who, self.clock()
        self.outcome = "answered"
