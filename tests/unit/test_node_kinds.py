"""Node kinds are declared once (ivr/plan/nodes/) and run by one executor each (ivr/flows/)."""
from __future__ import annotations

from ivr.flows import EXECUTORS, RUNNABLE
from ivr.plan.nodes import KINDS
from ivr.plan.reasons import MISSED_OUTCOMES


def test_every_declared_kind_runs_and_every_executor_has_a_kind() -> None:
    assert set(EXECUTORS) == set(KINDS) == RUNNABLE


def test_a_kind_names_itself_and_its_keys_once() -> None:
    for name, kind in KINDS.items():
        assert kind.name == name
        assert "type" not in kind.keys and len(set(kind.keys)) == len(kind.keys), name


def test_hanging_up_in_any_kind_is_a_known_outcome() -> None:
    assert {kind.abandoned for kind in KINDS.values()} <= MISSED_OUTCOMES
    assert KINDS["menu"].abandoned == "abandoned_in_menu" and KINDS["play"].abandoned == "hung_up_in_greeting"


def test_quiet_kinds_are_those_that_neither_wait_nor_ring() -> None:
    assert {n for n, k in KINDS.items() if k.quiet} == {"play", "goto", "language", "schedule"}
