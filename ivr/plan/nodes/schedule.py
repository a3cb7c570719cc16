"""The schedule node: open, closed or holiday at the moment of the call picks the next node."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.i18n import _, lazy
from ivr.plan.model import Node, ScheduleNode
from ivr.plan.nodes.kind import NodeKind
from ivr.plan.schedule import schedule_state
from ivr.yaml_reader import did_you_mean

SCHEDULE_STATES = {"open": lazy("schedule %(schedule)s is open at that moment"),
                   "closed": lazy("schedule %(schedule)s is closed at that moment"),
                   "holiday": lazy("schedule %(schedule)s is on holiday at that moment")}

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields


def build_schedule(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    what = f"schedule node '{info.id}'"
    node = b.r.require(f, "schedule", what)
    name = b.r.text(node, "schedule") if node is not None else None
    if name is not None and name not in b.schedule_names:
        b.r.problem(node, f"schedule: unknown schedule '{name}'{did_you_mean(name, b.schedule_names)}")
    opened, closed = b.req_ref(f, "open", info), b.req_ref(f, "closed", info)
    holiday = b.opt_ref(f, "holiday", info) or closed
    return ScheduleNode(id=info.id, schedule=name or "", open=opened or "", closed=closed or "",
                        holiday=holiday or "")


def trace_schedule(node: ScheduleNode, walk: Walk) -> str | None:
    state = schedule_state(walk.plan.schedules[node.schedule], walk.at, walk.tz)
    walk.say(node.id, _(SCHEDULE_STATES[state], schedule=node.schedule))
    return {"open": node.open, "closed": node.closed, "holiday": node.holiday}[state]


KINDS = (NodeKind("schedule", ("schedule", "open", "closed", "holiday"), build_schedule, trace_schedule,
                  quiet=True),)
