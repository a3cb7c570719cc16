"""Nodes that ring people: hunt (staff phones and numbers, by a strategy) and forward (one number)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ruamel.yaml.nodes import ScalarNode, SequenceNode

from ivr.i18n import _
from ivr.plan.model import ForwardNode, HuntMember, HuntNode, Node
from ivr.plan.nodes.kind import NodeKind

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields

DEFAULT_RINGS = 2
HUNT_STRATEGIES = ("sequential", "ringall", "roundrobin", "memory", "overlap")
MEMBER_KEYS = ("target", "rings", "seconds", "follow_me", "confirm")


def build_hunt(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    r = b.r
    default_ring = b.ring_time(f, DEFAULT_RINGS * b.ring_seconds)
    members = []
    node = r.require(f, "members", f"hunt node '{info.id}'")
    items = (node.value if isinstance(node, SequenceNode) else [node]) if node is not None else []
    for item in items:
        if isinstance(item, ScalarNode):
            target = b.target(item, "member")
            if target is not None:
                members.append(HuntMember(target=target, ring_seconds=default_ring))
            continue
        m = r.mapping(item, "member", MEMBER_KEYS)
        if m is None:
            continue
        target_node = r.require(m, "target", "member")
        target = b.target(target_node, "target") if target_node is not None else None
        follow_node = m.get("follow_me")
        follow_me = []
        for _, f_item in (r.texts(follow_node, "follow_me") if follow_node is not None else []):
            if (t := b.target(f_item, "follow_me")) is not None:
                follow_me.append(t)
        confirm = r.optional(m, "confirm", r.boolean, False)
        if target is not None:
            members.append(HuntMember(target=target, ring_seconds=b.ring_time(m, default_ring),
                                      follow_me=tuple(follow_me), confirm=bool(confirm)))
    if node is not None and not items:
        r.problem(node, f"hunt node '{info.id}': members is empty")
    return HuntNode(
        id=info.id, members=tuple(members),
        strategy=r.optional(f, "strategy", lambda n, w: r.choice(n, w, HUNT_STRATEGIES), "sequential"),
        limit_seconds=b.seconds(f, "limit_seconds", 0.0),
        music=r.optional(f, "music", r.text, ""),
        ring_busy=r.optional(f, "ring_busy", r.boolean, False),
        # Default: one ring of the plan's cadence, so the caller hears the next phone start
        # during the last ring of the previous one.
        overlap_seconds=b.seconds(f, "overlap_seconds", b.ring_seconds),
        then=b.opt_ref(f, "then", info),
        manager_first=r.optional(f, "manager_first", r.boolean, False), record=b.record(f, info))


def trace_hunt(node: HuntNode, walk: Walk) -> str | None:
    if node.strategy == "ringall":
        who = ", ".join(walk.staff(m.target) for m in node.members)
        longest = max((m.ring_seconds for m in node.members), default=0)
        walk.say(node.id, _("rings %(who)s together for up to %(seconds)s s", who=who, seconds=f"{longest:.0f}"))
    else:
        for m in node.members:
            walk.say(node.id, _("rings %(who)s for %(seconds)s s", who=walk.staff(m.target),
                                seconds=f"{m.ring_seconds:.0f}") + (_(" (they press 1 to take it)") if m.confirm else ""))
    walk.say(node.id, _("the first who answers talks with the caller; if nobody does:"))
    return node.then


def build_forward(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    node = b.r.require(f, "number", f"forward node '{info.id}'")
    number = b.target(node, "number") if node is not None else None
    return ForwardNode(id=info.id, number=number or "", ring_seconds=b.ring_time(f, 30.0),
                       then=b.opt_ref(f, "then", info), record=b.record(f, info))


def trace_forward(node: ForwardNode, walk: Walk) -> str | None:
    walk.say(node.id, _("forwarded to %(who)s for %(seconds)s s; if unanswered:", who=walk.staff(node.number),
                        seconds=f"{node.ring_seconds:.0f}"))
    return node.then


KINDS = (
    NodeKind("hunt", ("members", "strategy", "rings", "seconds", "limit_seconds", "music", "ring_busy",
                      "overlap_seconds", "then", "manager_first", "record"),
             build_hunt, trace_hunt, abandoned="abandoned_while_ringing"),
    NodeKind("forward", ("number", "rings", "seconds", "then", "record"), build_forward, trace_forward,
             abandoned="abandoned_while_ringing"),
)
