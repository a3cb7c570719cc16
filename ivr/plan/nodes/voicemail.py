"""The voicemail node: prompts, then the caller's message is recorded."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.i18n import _
from ivr.plan.model import Node, VoicemailNode
from ivr.plan.nodes.kind import NodeKind

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields


def build_voicemail(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    box = ""
    if (n := f.get("box")) is not None and (ext := b.r.text(n, "box")) is not None \
            and b.extension(ext, n, f"voicemail node '{info.id}': box"):
        box = ext
        if ext in b.staff and not b.staff[ext].mail:
            b.r.problem(n, f"voicemail node '{info.id}': box '{ext}' has no mailbox (give staff '{ext}' a mail)")
    return VoicemailNode(id=info.id, prompts=b.prompt_names(f, "prompts", info),
                         max_seconds=b.seconds(f, "max_seconds", 120.0, positive=True),
                         then=b.opt_ref(f, "then", info), box=box)


def trace_voicemail(node: VoicemailNode, walk: Walk) -> str | None:
    walk.hear(node.id, node.prompts)
    walk.say(node.id, _("leaves a voicemail of up to %(seconds)s s: a missed call", seconds=f"{node.max_seconds:.0f}"))
    return node.then


KINDS = (NodeKind("voicemail", ("prompts", "max_seconds", "then", "box"), build_voicemail, trace_voicemail),)
