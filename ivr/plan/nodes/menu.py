"""The menu node: prompts, then one key press chooses the next node."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.i18n import _
from ivr.plan.model import MenuNode, Node
from ivr.plan.nodes.kind import NodeKind

if TYPE_CHECKING:
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields

MENU_KEYS = tuple("0123456789*#")


def build_menu(b: PlanBuilder, info: NodeInfo, f: Fields) -> Node:
    choices: dict[str, str] = {}
    node = b.r.require(f, "choices", f"menu node '{info.id}'")
    entries = b.r.mapping(node, f"menu '{info.id}' choices") if node is not None else None
    for digit, (key, value) in (entries.entries.items() if entries else ()):
        if digit not in MENU_KEYS:
            b.r.problem(key, f"menu '{info.id}': '{digit}' is not a key of the phone (0-9, *, #)")
            continue
        target = b.ref(value, f"choice {digit}", info)
        if target is not None:
            choices[digit] = target
    return MenuNode(
        id=info.id, prompts=b.prompt_names(f, "prompts", info, required=True), choices=choices,
        timeout=b.seconds(f, "timeout", 5.0, positive=True), retries=b.count(f, "retries", 2),
        invalid=b.prompt_names(f, "invalid", info), no_input=b.prompt_names(f, "no_input", info),
        default=b.opt_ref(f, "default", info))


def trace_menu(node: MenuNode, walk: Walk) -> str | None:
    """A menu takes the next key; without one it asks again `retries` times, then goes to `default`."""
    for _attempt in range(node.retries + 1):
        walk.hear(node.id, node.prompts)
        if not walk.keys:
            walk.say(node.id, _("presses nothing for %(seconds)s s", seconds=f"{node.timeout:.0f}"))
            walk.hear(node.id, node.no_input)
            continue
        key = walk.keys.pop(0)
        if key in node.choices:
            walk.say(node.id, _("presses %(key)s -> %(next)s", key=key, next=node.choices[key]))
            return node.choices[key]
        walk.say(node.id, _("presses %(key)s: not in the menu", key=key))
        walk.hear(node.id, node.invalid)
    walk.say(node.id, _("no choice after %(n)s tries -> %(next)s", n=node.retries + 1,
                        next=node.default or _("hang up")))
    return node.default


KINDS = (NodeKind("menu", ("prompts", "choices", "timeout", "retries", "invalid", "no_input", "default"),
                  build_menu, trace_menu, abandoned="abandoned_in_menu"),)
