"""Hunt order without Asterisk: rotation by strategy and memory, follow-me chains, ring-all rounds."""
from __future__ import annotations

from ivr.flows.hunt import HuntMemory, attempt_batches, rotation_start
from ivr.plan.model import HuntMember, HuntNode

STAFF = {"101": object(), "102": object(), "103": object()}
MOBILE = "+79161234567"


def node(strategy: str = "sequential", *members: HuntMember) -> HuntNode:
    members = members or tuple(HuntMember(t, 2.0) for t in ("101", "102", "103"))
    return HuntNode(id="g", members=members, strategy=strategy)


def targets(batches) -> list[list[str]]:
    return [[a.target for a in batch] for batch in batches]


def test_sequential_starts_with_the_first_whatever_the_memory():
    assert rotation_start(node(), HuntMemory(last_start="101", last_answered="103")) == 0


def test_roundrobin_starts_after_the_previous_start_and_wraps():
    n = node("roundrobin")
    assert rotation_start(n, HuntMemory()) == 0
    assert rotation_start(n, HuntMemory(last_start="101")) == 1
    assert rotation_start(n, HuntMemory(last_start="103")) == 0
    # A member removed from the plan since: start from the top.
    assert rotation_start(n, HuntMemory(last_start="109")) == 0


def test_memory_starts_with_who_answered_last():
    n = node("memory")
    assert rotation_start(n, HuntMemory(last_answered="102")) == 1
    assert rotation_start(n, HuntMemory(last_start="102")) == 0


def test_rotation_keeps_the_circle():
    assert targets(attempt_batches(node(), STAFF, 1)) == [["102"], ["103"], ["101"]]


def test_follow_me_comes_right_after_its_member_with_its_ring_time():
    n = node("sequential", HuntMember("101", 3.0, follow_me=("102", MOBILE)), HuntMember("103", 1.0))
    batches = attempt_batches(n, STAFF)
    assert targets(batches) == [["101"], ["102"], [MOBILE], ["103"]]
    assert [b[0].member.target for b in batches] == ["101", "101", "101", "103"]
    assert [b[0].ring_seconds for b in batches] == [3.0, 3.0, 3.0, 1.0]


def test_confirm_applies_to_outside_numbers_only():
    n = node("sequential", HuntMember("101", 2.0, follow_me=(MOBILE,), confirm=True))
    assert [(a.target, a.confirm) for [a] in attempt_batches(n, STAFF)] == [("101", False), (MOBILE, True)]


def test_ringall_rings_first_targets_together_then_follow_me_targets():
    n = node("ringall", HuntMember("101", 2.0, follow_me=(MOBILE,)), HuntMember("102", 2.0),
             HuntMember("103", 2.0, follow_me=("+79161234568", "+79161234569")))
    assert targets(attempt_batches(n, STAFF)) == [["101", "102", "103"], [MOBILE, "+79161234568"],
                                                  ["+79161234569"]]
