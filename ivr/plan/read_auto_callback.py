"""Automatic call-back of missed calls (`auto_callback:`): when, whom, and who takes the call."""
from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from ivr.errors import ConfigError
from ivr.plan import schedule as sched
from ivr.plan.keys import NODE_ID
from ivr.plan.model import AutoCallbackRule, CompanyNumber, Trunk
from ivr.plan.reasons import REASON_GROUPS, REASON_WORDS, expand_reasons
from ivr.yaml_reader import Fields, did_you_mean

if TYPE_CHECKING:
    from ivr.plan.validate import PlanBuilder

AUTO_CALLBACK_KEYS = ("schedule", "reasons", "numbers", "staff", "queue", "not_before", "not_after",
                      "delay_seconds", "attempts", "retry_seconds", "skip_short")


def read_auto_callback(b: PlanBuilder, top: Fields, numbers: dict[str, CompanyNumber],
                   trunks: dict[str, Trunk]) -> tuple[AutoCallbackRule, ...]:
    r = b.r
    node = top.get("auto_callback")
    fields = r.mapping(node, "auto_callback") if node is not None else None
    if fields is None:
        return ()
    if fields.entries and not trunks:
        r.problem(top.entries["auto_callback"][0], "auto_callback: the plan has no trunk to call customers through")
    rules = []
    for name, (key, value) in fields.entries.items():
        what = f"auto_callback '{name}'"
        if not NODE_ID.fullmatch(name):
            r.problem(key, f"auto_callback: '{name}' may use only letters, digits, '_' and '-'")
        info = r.mapping(value, what, AUTO_CALLBACK_KEYS)
        if info is None:
            continue
        before = len(r.problems)
        schedule_node = r.require(info, "schedule", what)
        schedule = r.text(schedule_node, "schedule") if schedule_node is not None else None
        if schedule is not None and schedule not in b.schedule_names:
            r.problem(schedule_node, f"{what}: unknown schedule '{schedule}'"
                                     f"{did_you_mean(schedule, b.schedule_names)}")
        reasons_node = r.require(info, "reasons", what)
        reasons: set[str] = set()
        for word, item in (r.texts(reasons_node, "reasons") if reasons_node is not None else []):
            try:
                reasons |= expand_reasons([word])
            except KeyError:
                r.problem(item, f"{what}: reasons: '{word}' is not a reason: use {', '.join(REASON_GROUPS)}, "
                                f"or a call outcome like abandoned_in_menu{did_you_mean(word, REASON_WORDS)}")
        staff, queue = _auto_callback_takers(b, info, what)
        covered = []
        for _, item in (r.texts(info.get("numbers"), "numbers") if info.get("numbers") is not None else []):
            number = b.phone(item, "numbers")
            if number is not None and number not in numbers:
                r.problem(item, f"{what}: {number} is not a company number of this plan")
            elif number is not None:
                covered.append(number)
        not_before, not_after = _time_of_day(b, info, "not_before"), _time_of_day(b, info, "not_after")
        if not_before is not None and not_after is not None and not_after <= not_before:
            r.problem(info.get("not_after"), f"{what}: not_after must be later than not_before")
        rule = AutoCallbackRule(
            name=name, schedule=schedule or "", reasons=frozenset(reasons), numbers=tuple(covered),
            staff=staff, queue=queue, not_before=not_before, not_after=not_after,
            delay_seconds=b.seconds(info, "delay_seconds", 60.0),
            attempts=int(r.optional(info, "attempts", lambda n, w: r.number(n, w, integer=True, positive=True), 3)),
            retry_seconds=b.seconds(info, "retry_seconds", 600.0, positive=True),
            skip_short=r.optional(info, "skip_short", r.boolean, True))
        if len(r.problems) == before:
            rules.append(rule)
    return tuple(rules)


def _auto_callback_takers(b: PlanBuilder, info: Fields, what: str) -> tuple[tuple[str, ...], str]:
    """`staff: [101, 102]` or `queue: NODE`: exactly one of them says who takes the call-back."""
    r = b.r
    staff_node, queue_node = info.get("staff"), info.get("queue")
    if (staff_node is None) == (queue_node is None):
        r.problem(queue_node or info.at, f"{what}: give either staff (extensions) or queue (a queue node), "
                                         f"{'not both' if staff_node is not None else 'one of them'}")
        return (), ""
    if queue_node is not None:
        queue = r.text(queue_node, "queue")
        known = b.nodes.get(queue or "")
        if queue is not None and (known is None or known.kind != "queue"):
            queues = [i for i, n in b.nodes.items() if n.kind == "queue"]
            r.problem(queue_node, f"{what}: queue: '{queue}' is not a queue node{did_you_mean(queue, queues)}")
        return (), queue or ""
    staff: list[str] = []
    for ext, item in r.texts(staff_node, "staff"):
        if b.extension(ext, item, f"{what}: staff") and ext not in staff:
            staff.append(ext)
    return tuple(staff), ""


def _time_of_day(b: PlanBuilder, info: Fields, name: str) -> time | None:
    node = info.get(name)
    text = b.r.text(node, name) if node is not None else None
    if text is None:
        return None
    try:
        return sched.parse_time(text, end=name == "not_after")
    except ConfigError as e:
        b.r.problem(node, f"{name}: {e.message}")
        return None

