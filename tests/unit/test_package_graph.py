"""The packages of ivr/ import each other without a cycle (imports under TYPE_CHECKING aside), so
each kind of change has one home and a layer can be read without the ones above it."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

IVR = Path(__file__).resolve().parents[2] / "ivr"


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where ("file:line")."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in IVR.rglob("*.py"):
        source = path.relative_to(IVR).parts[0].removesuffix(".py")
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) and node.module == "ivr":
                names = [f"ivr.{a.name}" for a in node.names]
            for name in names:
                parts = (name or "").split(".")
                if parts[0] == "ivr" and len(parts) > 1 and parts[1] != source:
                    graph[source][parts[1]].append(f"{path.relative_to(IVR.parent)}:{node.lineno}")
    return graph


def _runtime_imports(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for other in node.orelse:
                yield from _runtime_imports(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from _runtime_imports(node)


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_graph_has_no_cycle() -> None:
    graph = package_graph()
    report = [f"{a} -> {b}: {', '.join(graph[a][b][:3])}"
              for component in cycles(graph) for a in component for b in graph[a] if b in component]
    assert report == []


def test_the_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}) == [["a", "b", "c"]]


def test_plan_and_web_stay_below_flows_and_the_cli() -> None:
    graph = package_graph()
    assert "flows" not in graph["plan"] and "missed" not in graph["plan"] and "routing" not in graph["plan"]
    assert "cli" not in graph["web"]


# What a web handler may not reach for: the database itself (SQL belongs in the domain's store or
# service, behind one method the handler calls) and the command line.
NOT_FOR_WEB = ("sqlalchemy", "ivr.store.db", "ivr.store.models", "ivr.store.runner", "ivr.cli")


def web_imports() -> dict[str, list[str]]:
    """Module imported at run time -> where in ivr/web ("file:line")."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in (IVR / "web").rglob("*.py"):
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) and node.module == "ivr":
                names = [f"ivr.{a.name}" for a in node.names]
            for name in names:
                found[name].append(f"{path.relative_to(IVR.parent)}:{node.lineno}")
    return found


def test_web_handlers_reach_no_database_and_no_cli() -> None:
    found = web_imports()
    assert {name: where for name, where in found.items()
            if any(name == banned or name.startswith(banned + ".") for banned in NOT_FOR_WEB)} == {}
    assert "aiohttp" in found                       # the finder sees the web's imports at all


def test_no_module_is_over_600_lines() -> None:
    long = {str(p.relative_to(IVR)): n for p in IVR.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}
