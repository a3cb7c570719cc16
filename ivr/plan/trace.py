"""Try a plan before it goes live: the path a call to a company number would take at a given moment
with given key presses — the nodes, the text of every prompt heard, who rings for how long, and where
it ends — from the plan's schedules, holidays and closures at that moment (`ivr plan try`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.plan.model import Plan
from ivr.plan.nodes import KINDS

MAX_STEPS = 60                        # a plan that loops without waiting is refused by `plan check`

PromptText = Callable[[str, str], str | None]       # (language, prompt name) -> its words, if known


@dataclass(frozen=True)
class Step:
    node: str
    what: str

    def __str__(self) -> str:
        return f"{self.node:>14}  {self.what}"


@dataclass
class Walk:
    """One traced call: what each node kind's `trace` (ivr/plan/nodes/) reads and adds to."""
    plan: Plan
    at: datetime
    tz: ZoneInfo
    language: str
    keys: list[str]                    # key presses not used yet
    text: PromptText
    steps: list[Step] = field(default_factory=list)
    ended: bool = False                # a hangup node said so already

    def say(self, node_id: str, what: str) -> None:
        self.steps.append(Step(node_id, what))

    def hear(self, node_id: str, prompts: tuple[str, ...]) -> None:
        for name in prompts:
            words = self.text(self.language, name)
            self.say(node_id, f'hears {self.language}/{name}: "{words}"' if words else f"hears {self.language}/{name}")

    def staff(self, target: str) -> str:
        person = self.plan.staff.get(target)
        return f"{target} ({person.name})" if person else target

    def end(self, node_id: str) -> None:
        self.say(node_id, "the call ends: the PBX hangs up")
        self.ended = True


def trace(plan: Plan, to: str, at: datetime, digits: str = "", caller: str = "",
          text: PromptText = lambda lang, name: None) -> list[Step]:
    number = plan.numbers.get(to)
    if number is None:
        return [Step("-", f"{to} is not a company number of this plan: the call is refused")]
    tz = ZoneInfo(plan.timezone)
    walk = Walk(plan, at, tz, plan.language, list(digits), text)
    walk.say("-", f"{caller or 'a caller'} calls {to} ({number.source}) on "
                  f"{at.astimezone(tz):%a %Y-%m-%d %H:%M} {plan.timezone}")
    node_id: str | None = number.entry
    for _ in range(MAX_STEPS):
        if node_id is None:
            if not walk.ended:
                walk.end("-")
            return walk.steps
        node = plan.nodes[node_id]
        node_id = KINDS[node.kind].trace(node, walk)
    walk.say("-", f"more than {MAX_STEPS} steps: the path loops")
    return walk.steps
