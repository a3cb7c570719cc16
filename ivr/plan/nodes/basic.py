"""Nodes that only play, jump or end: play, goto, language, hangup."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.i18n import _
from ivr.plan.model import GotoNode, HangupNode, LanguageNode, Node, PlayNode
from ivr.plan.nodes.kind import NodeKind

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields


def build_play(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    return PlayNode(id=info.id, prompts=b.prompt_names(f, "prompts", info, required=True),
                    next=b.opt_ref(f, "next", info))


def trace_play(node: PlayNode, walk: Walk) -> str | None:
    walk.hear(node.id, node.prompts)
    return node.next


def build_goto(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    return GotoNode(id=info.id, next=b.req_ref(f, "next", info) or "")


def trace_goto(node: GotoNode, walk: Walk) -> str | None:
    return node.next


def build_language(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    node = b.r.require(f, "language", f"language node '{info.id}'")
    language = b.r.text(node, "language") if node is not None else None
    if language is not None:
        b.languages_used.append((language, node))
    return LanguageNode(id=info.id, language=language or "", next=b.req_ref(f, "next", info) or "")


def trace_language(node: LanguageNode, walk: Walk) -> str | None:
    walk.language = node.language
    walk.say(node.id, _("switches to %(language)s", language=node.language))
    return node.next


def build_hangup(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    return HangupNode(id=info.id, prompts=b.prompt_names(f, "prompts", info))


def trace_hangup(node: HangupNode, walk: Walk) -> str | None:
    walk.hear(node.id, node.prompts)
    walk.end(node.id)
    return None


KINDS = (
    NodeKind("play", ("prompts", "next"), build_play, trace_play, quiet=True, abandoned="hung_up_in_greeting"),
    NodeKind("goto", ("next",), build_goto, trace_goto, quiet=True),
    NodeKind("language", ("language", "next"), build_language, trace_language, quiet=True),
    NodeKind("hangup", ("prompts",), build_hangup, trace_hangup),
)
