"""Whole-plan checks once every node is read: references, reachability, loops that never wait,
languages and prompts used."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.plan.model import CompanyNumber
from ivr.plan.nodes import KINDS
from ivr.yaml_reader import did_you_mean

if TYPE_CHECKING:
    from ivr.plan.validate import PlanBuilder


def check_graph(b: PlanBuilder, numbers: dict[str, CompanyNumber]) -> None:
    r = b.r
    ids = list(b.nodes)
    all_refs = [(t, n) for t, n in b.entry_refs] + [
        (t, n) for info in b.nodes.values() for t, n in info.refs]
    dangling = False
    for target, node in all_refs:
        if target not in b.nodes:
            r.problem(node, f"unknown node '{target}'{did_you_mean(target, ids)}")
            dangling = True
    edges = {info.id: [t for t, _ in info.refs if t in b.nodes] for info in b.nodes.values()}
    if b.nodes_complete and not dangling and b.entry_refs:
        reached = _reach([t for t, _ in b.entry_refs], edges)
        for info in b.nodes.values():
            if info.id not in reached:
                r.problem(info.key, f"node '{info.id}' is not reachable from any company number")
    _check_quiet_loops(b, edges)


def _reach(starts: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_quiet_loops(b: PlanBuilder, edges: dict[str, list[str]]) -> None:
    """A cycle only through nodes that neither wait for a digit nor ring anyone spins for ever."""
    quiet = {i for i, info in b.nodes.items() if info.kind in KINDS and KINDS[info.kind].quiet}
    state: dict[str, int] = {}     # 1: on the current path, 2: done
    reported: set[frozenset[str]] = set()
    for start in (i for i in b.nodes if i in quiet):
        if start in state:
            continue
        # Iterative depth-first search: a plan of thousands of nodes must not hit the recursion limit.
        path, stack = [start], [iter(edges[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif nxt in quiet and nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges[nxt]))
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt):]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    loop = " -> ".join(cycle + [nxt])
                    b.r.problem(b.nodes[nxt].key,
                                   f"loop that never waits for the caller: {loop} "
                                   f"(add a menu, or end with hangup)")


def check_languages(b: PlanBuilder) -> None:
    for language, node in b.languages_used:
        if language not in b.languages:
            b.r.problem(node, f"language '{language}' is not in languages ({', '.join(b.languages)})")


def check_prompts(b: PlanBuilder) -> None:
    if b.prompt_exists is None:
        return
    checked: set[tuple[str, str]] = set()
    for prompt, node in b.prompts:
        for language in b.languages:
            if (prompt, language) in checked:
                continue
            checked.add((prompt, language))
            if not b.prompt_exists(prompt, language):
                b.r.problem(node, f"missing prompt '{prompt}' for language '{language}'")
