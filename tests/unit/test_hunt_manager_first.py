"""Hunt option manager_first: a known contact's responsible manager rings alone first, then the
strategy's order without them; the plan key is read and checked."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.flows.hunt import attempt_batches, manager_first
from ivr.plan.errors import PlanError
from ivr.plan.loader import load_plan_text
from ivr.plan.model import HuntMember, HuntNode

STAFF = {"101": object(), "102": object(), "103": object(), "104": object()}
PLANS = Path(__file__).resolve().parent.parent / "integration" / "plans"
PLAN = (PLANS / "ivr.yaml").read_text(encoding="utf-8")


def targets(batches) -> list[list[str]]:
    return [[a.target for a in batch] for batch in batches]


def group(strategy: str = "sequential") -> HuntNode:
    return HuntNode(id="g", members=(HuntMember("101", 2.0), HuntMember("102", 3.0, follow_me=("+79161234567",)),
                                     HuntMember("103", 2.0)), strategy=strategy)


def test_a_member_manager_moves_to_the_front_with_its_own_ring_time():
    batches = manager_first(attempt_batches(group(), STAFF), "102", 9.0)
    assert targets(batches) == [["102"], ["101"], ["+79161234567"], ["103"]]
    assert batches[0][0].ring_seconds == 3.0


def test_ringall_rings_the_manager_alone_then_the_rest_together():
    batches = manager_first(attempt_batches(group("ringall"), STAFF), "103", 9.0)
    assert targets(batches) == [["103"], ["101", "102"], ["+79161234567"]]


def test_a_manager_outside_the_group_rings_first_for_the_given_time():
    batches = manager_first(attempt_batches(group(), STAFF, 1), "104", 2.0)
    assert targets(batches) == [["104"], ["102"], ["+79161234567"], ["103"], ["101"]]
    assert (batches[0][0].ring_seconds, batches[0][0].confirm) == (2.0, False)


def plan_with(line: str):
    text = PLAN.replace("  booking:\n    type: hunt\n", f"  booking:\n    type: hunt\n    {line}\n")
    return load_plan_text(text, "ivr.yaml", secrets_path=PLANS / "secrets.yaml")


def test_the_plan_key_is_read_and_must_be_a_boolean():
    plan = plan_with("manager_first: yes")
    assert plan.nodes["booking"].manager_first is True and plan.nodes["dispatch"].manager_first is False
    with pytest.raises(PlanError, match="manager_first"):
        plan_with("manager_first: perhaps")
