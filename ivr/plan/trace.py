"""Try a plan before it goes live: the path a call to a company number would take at a given moment
with given key presses — the nodes, the text of every prompt heard, who rings for how long, and where
it ends — from the plan's schedules, holidays and closures at that moment (`ivr plan try`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr import i18n
from ivr.i18n import _, lazy
from ivr.plan.model import (CallbackNode, ForwardNode, GotoNode, HangupNode, HuntNode, LanguageNode, MenuNode,
                            Plan, PlayNode, QueueNode, ScheduleNode, VoicemailNode)
from ivr.plan.schedule import schedule_state

MAX_STEPS = 60                        # a plan that loops without waiting is refused by `plan check`

SCHEDULE_STATES = {"open": lazy("schedule %(schedule)s is open at that moment"),
                   "closed": lazy("schedule %(schedule)s is closed at that moment"),
                   "holiday": lazy("schedule %(schedule)s is on holiday at that moment")}

PromptText = Callable[[str, str], str | None]       # (language, prompt name) -> its words, if known


@dataclass(frozen=True)
class Step:
    node: str
    what: str

    def __str__(self) -> str:
        return f"{self.node:>14}  {self.what}"


def trace(plan: Plan, to: str, at: datetime, digits: str = "", caller: str = "",
          text: PromptText = lambda lang, name: None) -> list[Step]:
    steps: list[Step] = []
    number = plan.numbers.get(to)
    if number is None:
        return [Step("-", _("%(to)s is not a company number of this plan: the call is refused", to=to))]
    tz = ZoneInfo(plan.timezone)
    local = at.astimezone(tz)
    steps.append(Step("-", _("%(caller)s calls %(to)s (%(source)s) on %(at)s %(zone)s", caller=caller or _("a caller"),
                             to=to, source=number.source, zone=plan.timezone,
                             at=f"{i18n.weekday_names()[local.weekday()]} {local:%Y-%m-%d %H:%M}")))
    language, keys = plan.language, list(digits)

    def hear(node_id: str, prompts: tuple[str, ...]) -> None:
        for name in prompts:
            words = text(language, name)
            prompt = f"{language}/{name}"
            steps.append(Step(node_id, _('hears %(prompt)s: "%(words)s"', prompt=prompt, words=words) if words
                              else _("hears %(prompt)s", prompt=prompt)))

    def staff(target: str) -> str:
        person = plan.staff.get(target)
        return f"{target} ({person.name})" if person else target

    node_id: str | None = number.entry
    for _step in range(MAX_STEPS):
        if node_id is None:
            steps.append(Step("-", _("the call ends: the PBX hangs up")))
            return steps
        node = plan.nodes[node_id]
        if isinstance(node, ScheduleNode):
            state = schedule_state(plan.schedules[node.schedule], at, tz)
            steps.append(Step(node_id, _(SCHEDULE_STATES[state], schedule=node.schedule)))
            node_id = {"open": node.open, "closed": node.closed, "holiday": node.holiday}[state]
        elif isinstance(node, PlayNode):
            hear(node_id, node.prompts)
            node_id = node.next
        elif isinstance(node, LanguageNode):
            language = node.language
            steps.append(Step(node_id, _("switches to %(language)s", language=language)))
            node_id = node.next
        elif isinstance(node, GotoNode):
            node_id = node.next
        elif isinstance(node, MenuNode):
            node_id = _menu(node, keys, hear, steps)
        elif isinstance(node, HuntNode):
            if node.strategy == "ringall":
                who = ", ".join(staff(m.target) for m in node.members)
                longest = max((m.ring_seconds for m in node.members), default=0)
                steps.append(Step(node_id, _("rings %(who)s together for up to %(seconds)s s", who=who,
                                             seconds=f"{longest:.0f}")))
            else:
                for m in node.members:
                    steps.append(Step(node_id, _("rings %(who)s for %(seconds)s s", who=staff(m.target),
                                                 seconds=f"{m.ring_seconds:.0f}")
                                      + (_(" (they press 1 to take it)") if m.confirm else "")))
            steps.append(Step(node_id, _("the first who answers talks with the caller; if nobody does:")))
            node_id = node.then
        elif isinstance(node, QueueNode):
            offer = _("; after %(seconds)s s in line, 1 = call me back", seconds=f"{node.callback_after:.0f}") \
                if node.callback_after else ""
            steps.append(Step(node_id, _("waits in line for %(agents)s (%(strategy)s, each rung %(seconds)s s)",
                                         agents=", ".join(staff(a) for a in node.agents), strategy=node.strategy,
                                         seconds=f"{node.agent_ring_seconds:.0f}") + offer))
            if node.max_wait:
                steps.append(Step(node_id, _("after %(seconds)s s without an agent:", seconds=f"{node.max_wait:.0f}")))
            else:
                steps.append(Step(node_id, _("an agent answers when one is free; if no agent is logged in:")))
            node_id = node.then
        elif isinstance(node, VoicemailNode):
            hear(node_id, node.prompts)
            steps.append(Step(node_id, _("leaves a voicemail of up to %(seconds)s s: a missed call",
                                         seconds=f"{node.max_seconds:.0f}")))
            node_id = node.then
        elif isinstance(node, CallbackNode):
            hear(node_id, node.prompts)
            steps.append(Step(node_id, _("asks to be called back: a missed-call item for the staff")))
            node_id = node.then
        elif isinstance(node, ForwardNode):
            steps.append(Step(node_id, _("forwarded to %(who)s for %(seconds)s s; if unanswered:",
                                         who=staff(node.number), seconds=f"{node.ring_seconds:.0f}")))
            node_id = node.then
        elif isinstance(node, HangupNode):
            hear(node_id, node.prompts)
            steps.append(Step(node_id, _("the call ends: the PBX hangs up")))
            return steps
    steps.append(Step("-", _("more than %(n)s steps: the path loops", n=MAX_STEPS)))
    return steps


def _menu(node: MenuNode, keys: list[str], hear, steps: list[Step]) -> str | None:
    """A menu takes the next key; without one it asks again `retries` times, then goes to `default`."""
    for attempt in range(node.retries + 1):
        hear(node.id, node.prompts)
        if not keys:
            steps.append(Step(node.id, _("presses nothing for %(seconds)s s", seconds=f"{node.timeout:.0f}")))
            hear(node.id, node.no_input)
            continue
        key = keys.pop(0)
        if key in node.choices:
            steps.append(Step(node.id, _("presses %(key)s -> %(next)s", key=key, next=node.choices[key])))
            return node.choices[key]
        steps.append(Step(node.id, _("presses %(key)s: not in the menu", key=key)))
        hear(node.id, node.invalid)
    steps.append(Step(node.id, _("no choice after %(n)s tries -> %(next)s", n=node.retries + 1,
                                 next=node.default or _("hang up"))))
    return node.default
