"""The callback node: the caller asks to be called back (a missed-call item for the staff)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.i18n import _
from ivr.plan.model import CallbackNode, Node
from ivr.plan.nodes.kind import NodeKind

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields


def build_callback(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    return CallbackNode(id=info.id, prompts=b.prompt_names(f, "prompts", info),
                        then=b.opt_ref(f, "then", info))


def trace_callback(node: CallbackNode, walk: Walk) -> str | None:
    walk.hear(node.id, node.prompts)
    walk.say(node.id, _("asks to be called back: a missed-call item for the staff"))
    return node.then


KINDS = (NodeKind("callback", ("prompts", "then"), build_callback, trace_callback),)
