"""The queue node: callers wait in line for agents (strategies, penalties, VIPs, call-back offer)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ruamel.yaml.nodes import MappingNode, SequenceNode

from ivr.i18n import _
from ivr.plan.model import Node, QueueNode
from ivr.plan.nodes.kind import NodeKind
from ivr.plan.nodes.menu import MENU_KEYS

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields

# leastrecent is Asterisk app_queue's name for longestidle.
QUEUE_STRATEGIES = ("ringall", "linear", "longestidle", "leastrecent", "roundrobin", "fewestcalls", "random")
AGENT_KEYS = ("extension", "penalty")


def build_queue(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    r = b.r
    node = r.require(f, "agents", f"queue node '{info.id}'")
    agents: list[str] = []
    penalties: dict[str, int] = {}
    items = (node.value if isinstance(node, SequenceNode) else [node]) if node is not None else []
    for item in items:
        # "101", or {extension: "101", penalty: 1}: higher penalties are offered calls only
        # when every agent below them is taken.
        penalty = 0
        if isinstance(item, MappingNode):
            a = r.mapping(item, "agent", AGENT_KEYS)
            ext_node = r.require(a, "extension", "agent") if a is not None else None
            if a is None or ext_node is None:
                continue
            penalty = int(r.optional(a, "penalty", lambda n, w: r.number(n, w, integer=True), 0))
            item = ext_node
        ext = r.text(item, "agents")
        if ext is None or not b.extension(ext, item, "agents"):
            continue
        if ext in agents:
            r.problem(item, f"agents: '{ext}' is listed twice")
            continue
        agents.append(ext)
        if penalty:
            penalties[ext] = penalty
    vip = []
    for _, item in (r.texts(f.get("vip"), "vip") if f.get("vip") is not None else []):
        if (number := b.phone(item, "vip")) is not None:
            vip.append(number)
    callback_after = b.seconds(f, "callback_after", 0.0)
    leave_digit = r.optional(f, "leave_digit", lambda n, w: r.choice(n, w, MENU_KEYS), "")
    if leave_digit == "1" and callback_after:
        r.problem(f.get("leave_digit"), "leave_digit: 1 is the call-back key of this queue")
    return QueueNode(
        id=info.id, agents=tuple(agents), penalties=penalties, vip=tuple(vip),
        service_level_seconds=b.seconds(f, "service_level_seconds", 20.0, positive=True),
        skip_after_no_answer_seconds=b.seconds(f, "skip_after_no_answer_seconds", 10.0),
        leave_digit=leave_digit, leave=b.opt_ref(f, "leave", info),
        callback_retries=b.count(f, "callback_retries", 3),
        callback_retry_seconds=b.seconds(f, "callback_retry_seconds", 60.0, positive=True),
        strategy=r.optional(f, "strategy", lambda n, w: r.choice(n, w, QUEUE_STRATEGIES), "ringall"),
        music=r.optional(f, "music", r.text, "default"),
        announce_every=b.seconds(f, "announce_every", 30.0),
        max_wait=b.seconds(f, "max_wait", 0.0), max_callers=b.count(f, "max_callers", 0),
        callback_after=callback_after,
        agent_ring_seconds=b.seconds(f, "agent_ring_seconds", 15.0, positive=True),
        wrapup_seconds=b.seconds(f, "wrapup_seconds", 0.0),
        then=b.opt_ref(f, "then", info), record=b.record(f, info))


def trace_queue(node: QueueNode, walk: Walk) -> str | None:
    offer = _("; after %(seconds)s s in line, 1 = call me back", seconds=f"{node.callback_after:.0f}") \
        if node.callback_after else ""
    walk.say(node.id, _("waits in line for %(agents)s (%(strategy)s, each rung %(seconds)s s)",
                        agents=", ".join(walk.staff(a) for a in node.agents), strategy=node.strategy,
                        seconds=f"{node.agent_ring_seconds:.0f}") + offer)
    if node.max_wait:
        walk.say(node.id, _("after %(seconds)s s without an agent:", seconds=f"{node.max_wait:.0f}"))
    else:
        walk.say(node.id, _("an agent answers when one is free; if no agent is logged in:"))
    return node.then


KINDS = (NodeKind("queue", ("agents", "strategy", "music", "announce_every", "max_wait", "max_callers",
                            "callback_after", "agent_ring_seconds", "wrapup_seconds", "then", "vip",
                            "service_level_seconds", "skip_after_no_answer_seconds", "leave_digit", "leave",
                            "callback_retries", "callback_retry_seconds", "record"),
                  build_queue, trace_queue, abandoned="abandoned_in_queue"),)
