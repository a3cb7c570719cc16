"""Try a plan before it goes live: the path a call to a company number would take at a given moment
with given key presses — the nodes, the text of every prompt heard, who rings for how long, and where
it ends — from the plan's schedules, holidays and closures at that moment (`ivr plan try`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr import i18n
from ivr.i18n import _
from ivr.plan.model import Plan
from ivr.plan.nodes import KINDS
from ivr.plan.roster import on_duty, roster_name

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
    duty: Mapping[str, tuple[str, str]] = field(default_factory=dict)   # roster -> (extension, why)

    def say(self, node_id: str, what: str) -> None:
        self.steps.append(Step(node_id, what))

    def hear(self, node_id: str, prompts: tuple[str, ...]) -> None:
        for name in prompts:
            words = self.text(self.language, name)
            prompt = f"{self.language}/{name}"
            self.say(node_id, _('hears %(prompt)s: "%(words)s"', prompt=prompt, words=words) if words
                     else _("hears %(prompt)s", prompt=prompt))

    def staff(self, target: str) -> str:
        if name := roster_name(target):
            ext, why = self.duty.get(name) or on_duty(self.plan, name, self.at, {})
            if not ext:
                return _("roster %(name)s: nobody on duty", name=name)
            person = self.plan.staff.get(ext)
            on_mobile = _(", on their mobile %(mobile)s", mobile=person.mobile) if person and person.mobile \
                and self.plan.rosters[name].ring == "mobile" else ""
            return _("roster %(name)s: on duty %(who)s (%(why)s)", name=name, who=self.staff(ext), why=why) + on_mobile
        person = self.plan.staff.get(target)
        return f"{target} ({person.name})" if person else target

    def end(self, node_id: str) -> None:
        self.say(node_id, _("the call ends: the PBX hangs up"))
        self.ended = True


def trace(plan: Plan, to: str, at: datetime, digits: str = "", caller: str = "",
          text: PromptText = lambda lang, name: None, duty: Mapping[str, tuple[str, str]] | None = None) -> list[Step]:
    """`duty`: roster name -> (extension, why) at `at`, overrides included; without it, the plan's own."""
    number = plan.numbers.get(to)
    if number is None:
        return [Step("-", _("%(to)s is not a company number of this plan: the call is refused", to=to))]
    tz = ZoneInfo(plan.timezone)
    walk = Walk(plan, at, tz, plan.language, list(digits), text, duty=duty or {})
    walk.say("-", _("%(caller)s calls %(to)s (%(source)s) on %(at)s %(zone)s", caller=caller or _("a caller"),
                    to=to, source=number.source, at=f"{i18n.weekday_names()[at.astimezone(tz).weekday()]} "
                                                     f"{at.astimezone(tz):%Y-%m-%d %H:%M}", zone=plan.timezone))
    node_id: str | None = number.entry
    for _step in range(MAX_STEPS):
        if node_id is None:
            if not walk.ended:
                walk.end("-")
            return walk.steps
        node = plan.nodes[node_id]
        node_id = KINDS[node.kind].trace(node, walk)
    walk.say("-", _("more than %(n)s steps: the path loops", n=MAX_STEPS))
    return walk.steps
