"""Try a plan before it goes live: the path a call to a company number would take at a given moment
with given key presses — the nodes, the text of every prompt heard, who rings for how long, and where
it ends — from the plan's schedules, holidays and closures at that moment (`ivr plan try`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.plan.model import (CallbackNode, ForwardNode, GotoNode, HangupNode, HuntNode, LanguageNode, MenuNode,
                            Plan, PlayNode, QueueNode, ScheduleNode, VoicemailNode)
from ivr.plan.roster import on_duty, roster_name
from ivr.plan.schedule import schedule_state

MAX_STEPS = 60                        # a plan that loops without waiting is refused by `plan check`

PromptText = Callable[[str, str], str | None]       # (language, prompt name) -> its words, if known


@dataclass(frozen=True)
class Step:
    node: str
    what: str

    def __str__(self) -> str:
        return f"{self.node:>14}  {self.what}"


def trace(plan: Plan, to: str, at: datetime, digits: str = "", caller: str = "",
          text: PromptText = lambda lang, name: None, duty: Mapping[str, tuple[str, str]] | None = None) -> list[Step]:
    """`duty`: roster name -> (extension, why) at `at`, overrides included; without it, the plan's own."""
    steps: list[Step] = []
    number = plan.numbers.get(to)
    if number is None:
        return [Step("-", f"{to} is not a company number of this plan: the call is refused")]
    tz = ZoneInfo(plan.timezone)
    steps.append(Step("-", f"{caller or 'a caller'} calls {to} ({number.source}) on "
                           f"{at.astimezone(tz):%a %Y-%m-%d %H:%M} {plan.timezone}"))
    language, keys = plan.language, list(digits)

    def hear(node_id: str, prompts: tuple[str, ...]) -> None:
        for name in prompts:
            words = text(language, name)
            steps.append(Step(node_id, f'hears {language}/{name}: "{words}"' if words else f"hears {language}/{name}"))

    def staff(target: str) -> str:
        if name := roster_name(target):
            ext, why = (duty or {}).get(name) or on_duty(plan, name, at, {})
            if not ext:
                return f"roster {name}: nobody on duty"
            person = plan.staff.get(ext)
            mobile = f", on their mobile {person.mobile}" if person and person.mobile \
                and plan.rosters[name].ring == "mobile" else ""
            return f"roster {name}: on duty {staff(ext)} ({why}){mobile}"
        person = plan.staff.get(target)
        return f"{target} ({person.name})" if person else target

    node_id: str | None = number.entry
    for _ in range(MAX_STEPS):
        if node_id is None:
            steps.append(Step("-", "the call ends: the PBX hangs up"))
            return steps
        node = plan.nodes[node_id]
        if isinstance(node, ScheduleNode):
            state = schedule_state(plan.schedules[node.schedule], at, tz)
            steps.append(Step(node_id, f"schedule {node.schedule} is {state} at that moment"))
            node_id = {"open": node.open, "closed": node.closed, "holiday": node.holiday}[state]
        elif isinstance(node, PlayNode):
            hear(node_id, node.prompts)
            node_id = node.next
        elif isinstance(node, LanguageNode):
            language = node.language
            steps.append(Step(node_id, f"switches to {language}"))
            node_id = node.next
        elif isinstance(node, GotoNode):
            node_id = node.next
        elif isinstance(node, MenuNode):
            node_id = _menu(node, keys, hear, steps)
        elif isinstance(node, HuntNode):
            if node.strategy == "ringall":
                who = ", ".join(staff(m.target) for m in node.members)
                longest = max((m.ring_seconds for m in node.members), default=0)
                steps.append(Step(node_id, f"rings {who} together for up to {longest:.0f} s"))
            else:
                for m in node.members:
                    steps.append(Step(node_id, f"rings {staff(m.target)} for {m.ring_seconds:.0f} s"
                                      + (" (they press 1 to take it)" if m.confirm else "")))
            steps.append(Step(node_id, "the first who answers talks with the caller; if nobody does:"))
            node_id = node.then
        elif isinstance(node, QueueNode):
            offer = f"; after {node.callback_after:.0f} s in line, 1 = call me back" if node.callback_after else ""
            steps.append(Step(node_id, f"waits in line for {', '.join(staff(a) for a in node.agents)} "
                                       f"({node.strategy}, each rung {node.agent_ring_seconds:.0f} s){offer}"))
            if node.max_wait:
                steps.append(Step(node_id, f"after {node.max_wait:.0f} s without an agent:"))
            else:
                steps.append(Step(node_id, "an agent answers when one is free; if no agent is logged in:"))
            node_id = node.then
        elif isinstance(node, VoicemailNode):
            hear(node_id, node.prompts)
            steps.append(Step(node_id, f"leaves a voicemail of up to {node.max_seconds:.0f} s: a missed call"))
            node_id = node.then
        elif isinstance(node, CallbackNode):
            hear(node_id, node.prompts)
            steps.append(Step(node_id, "asks to be called back: a missed-call item for the staff"))
            node_id = node.then
        elif isinstance(node, ForwardNode):
            steps.append(Step(node_id, f"forwarded to {staff(node.number)} for {node.ring_seconds:.0f} s; if unanswered:"))
            node_id = node.then
        elif isinstance(node, HangupNode):
            hear(node_id, node.prompts)
            steps.append(Step(node_id, "the call ends: the PBX hangs up"))
            return steps
    steps.append(Step("-", f"more than {MAX_STEPS} steps: the path loops"))
    return steps


def _menu(node: MenuNode, keys: list[str], hear, steps: list[Step]) -> str | None:
    """A menu takes the next key; without one it asks again `retries` times, then goes to `default`."""
    for attempt in range(node.retries + 1):
        hear(node.id, node.prompts)
        if not keys:
            steps.append(Step(node.id, f"presses nothing for {node.timeout:.0f} s"))
            hear(node.id, node.no_input)
            continue
        key = keys.pop(0)
        if key in node.choices:
            steps.append(Step(node.id, f"presses {key} -> {node.choices[key]}"))
            return node.choices[key]
        steps.append(Step(node.id, f"presses {key}: not in the menu"))
        hear(node.id, node.invalid)
    steps.append(Step(node.id, f"no choice after {node.retries + 1} tries -> {node.default or 'hang up'}"))
    return node.default
