"""Every kind of step the code writes into a call's journal has words on the call page and in mails, and
every key of a step's data has a name (the call page, `ivr calls ID`), so no raw code reaches a Russian page."""
from __future__ import annotations

import ast
import re

from ivr import i18n
from ivr.config import ROOT
from ivr.terms import DETAILS, DETAIL_VALUES, NODE_KINDS, STEPS, step_details, step_name

# journal.step("kind", ...), self._step(waiter, "kind", ...), job.steps.append((at, "kind", ...)),
# NewStep(at, node, "kind", ...), calls.add_step(id, at, node, "kind", ...)
WRITES = re.compile(r'(?:\.step\(\s*|_step\(\w+, |steps\.append\(\([^,]+, |NewStep\([^,]+, [^,]+, |'
                    r'add_step\([^,]+, [^,]+, [^,]+, )"([a-z_]+)"')


def test_every_step_kind_written_has_a_name():
    kinds = {m.group(1) for path in (ROOT / "ivr").rglob("*.py")
             for m in WRITES.finditer(path.read_text(encoding="utf-8"))}
    assert len(kinds) > 40
    assert sorted(kinds - set(STEPS)) == []


def test_step_names_in_russian():
    with i18n.language("ru"):
        assert step_name("caller_hung_up") == "абонент положил трубку"
        assert step_name("something_new") == "something new"

PACKAGE = ROOT / "ivr"
STEP_WRITERS = {"step", "_step"}          # journal.step(kind, **data), the queue call-back's _step
DATA_ARGUMENT = {"add_step", "NewStep"}   # ...(…, kind, {data}); the missed call-back's job.steps tuples


def _dict_keys(node: ast.AST) -> set[str]:
    keys = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Dict):
            keys |= {k.value for k in inner.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return keys


def written_keys() -> dict[str, str]:
    """Each data key a step is written with, and one place that writes it."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            keys: set[str] = set()
            if name in STEP_WRITERS:
                keys = {k.arg for k in node.keywords if k.arg} | {
                    key for k in node.keywords if k.arg is None for key in _dict_keys(k.value)}
            elif name in DATA_ARGUMENT or (name == "append" and ast.unparse(node.func).endswith("steps.append")):
                keys = set().union(*(_dict_keys(a) for a in node.args)) if node.args else set()
            for key in keys:
                found.setdefault(key, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_every_step_key_written_has_a_name():
    found = written_keys()
    assert {"node_kind", "member", "status", "trunk", "by", "reason"} <= set(found)   # the scan sees the writers
    missing = {key: where for key, where in found.items() if key not in DETAILS}
    assert not missing, f"step data keys with no name in ivr.terms.DETAILS: {missing}"


def test_hunt_who_keys_are_named():
    # hunt's _who() builds its dict in a helper the scan above cannot follow into
    assert {"member", "target"} <= set(DETAILS)


def test_details_read_in_russian():
    with i18n.language("ru"):
        shown = dict(step_details({"phone": "101", "status": "ANSWER", "trunk": "mts", "interrupted": False,
                                   "prompts": ["welcome", "menu"], "error": None, "mode": "attended"}))
    assert shown == {"телефон": "101", "результат": "отвечен", "транк": "mts", "прерван": "нет",
                     "записи": "welcome, menu", "как": "с консультацией"}


def test_details_in_english_keep_names_and_numbers():
    assert step_details({"seconds": 12.5, "member": "olivia", "reason": "nobody on duty"}) == [
        ("seconds", "12.5"), ("staff", "olivia"), ("why", "nobody on duty")]
    assert set(DETAIL_VALUES) >= {"ANSWER", "BUSY", "NOANSWER", "attended", "blind"}


def test_every_node_kind_has_a_name():
    from ivr.plan.nodes import KINDS
    assert set(KINDS) <= set(NODE_KINDS)
    with i18n.language("ru"):
        assert step_details({"node_kind": "hangup"}) == [("тип", "положить трубку")]


def test_nothing_of_a_missing_or_nested_value_reads_as_code():
    with i18n.language("ru"):
        shown = step_details({"prompts": ["welcome", None], "detail": {"reason": "failed", "error": None}})
    assert shown == [("записи", "welcome, "), ("подробности", "почему: не удалось")]
    assert "None" not in repr(shown)
