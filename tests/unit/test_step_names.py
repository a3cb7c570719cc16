"""Every kind of step the code writes into a call's journal has words on the call page and in mails."""
from __future__ import annotations

import re

from ivr import i18n
from ivr.config import ROOT
from ivr.terms import STEPS, step_name

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
