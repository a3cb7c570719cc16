"""Who is offered the next caller: strategies, penalties, pause, wrap-up, skip; what callers hear."""
from __future__ import annotations

import random

import pytest

from ivr.plan.model import QueueNode
from ivr.queues.agents import Agent, AgentState, choose
from ivr.queues.announce import number_prompts, position_prompts

NOW = 1000.0


def agents(*exts: str, **changes) -> dict[str, Agent]:
    return {e: Agent(e, **changes.get(e, {})) for e in exts}


def node(strategy: str, members=("101", "102", "103"), **kw) -> QueueNode:
    return QueueNode(id="q", agents=tuple(members), strategy=strategy, **kw)


def test_ringall_rings_every_free_agent_of_the_lowest_penalty():
    board = agents("101", "102", "103", **{"102": {"paused": True}})
    assert choose(node("ringall"), board, NOW, None, random.Random(1)) == ["101", "103"]
    graded = node("ringall", penalties={"101": 1, "103": 1})
    assert choose(graded, board, NOW, None, random.Random(1)) == ["101", "103"]     # 102 (0) is paused
    board["102"].paused = False
    assert choose(graded, board, NOW, None, random.Random(1)) == ["102"]            # penalty 0 first


def test_linear_takes_the_first_free_in_plan_order():
    board = agents("101", "102", "103", **{"101": {"state": AgentState.TALKING}})
    assert choose(node("linear"), board, NOW, None, random.Random(1)) == ["102"]


@pytest.mark.parametrize("strategy", ["longestidle", "leastrecent"])
def test_longest_idle_first(strategy):
    board = agents("101", "102", "103", **{"101": {"last_call_end": 900.0}, "102": {"last_call_end": 500.0},
                                           "103": {"last_call_end": 800.0}})
    assert choose(node(strategy), board, NOW, None, random.Random(1)) == ["102"]


def test_fewest_calls_first():
    board = agents("101", "102", "103", **{"101": {"calls": 4}, "102": {"calls": 2}, "103": {"calls": 2}})
    assert choose(node("fewestcalls"), board, NOW, None, random.Random(1)) == ["102"]   # tie: plan order


def test_round_robin_continues_after_the_last_offered_and_wraps():
    board = agents("101", "102", "103")
    n = node("roundrobin")
    assert choose(n, board, NOW, None, random.Random(1)) == ["101"]
    assert choose(n, board, NOW, "101", random.Random(1)) == ["102"]
    assert choose(n, board, NOW, "103", random.Random(1)) == ["101"]
    board["102"].state = AgentState.RINGING
    assert choose(n, board, NOW, "101", random.Random(1)) == ["103"]


def test_random_spreads_over_the_free_agents():
    board = agents("101", "102", "103")
    rng = random.Random(7)
    picks = {choose(node("random"), board, NOW, None, rng)[0] for _ in range(60)}
    assert picks == {"101", "102", "103"}


def test_logged_out_wrapup_and_skipped_agents_are_not_free():
    board = agents("101", "102", "103", **{"101": {"logged_in": False}, "102": {"wrapup_until": NOW + 5},
                                           "103": {"skip_until": NOW + 1}})
    assert choose(node("ringall"), board, NOW, None, random.Random(1)) == []
    assert [board[e].status(NOW) for e in ("101", "102", "103")] == ["logged_out", "wrapup", "skipped"]
    assert choose(node("ringall"), board, NOW + 5, None, random.Random(1)) == ["102", "103"]
    assert board["102"].next_free(NOW) == NOW + 5 and board["101"].next_free(NOW) is None


def test_numbers_are_said_with_core_digit_sounds():
    assert number_prompts(7) == ["digits/7"]
    assert number_prompts(20) == ["digits/20"]
    assert number_prompts(42) == ["digits/40", "digits/2"]
    assert number_prompts(100) == []
    assert position_prompts(3, None) == ["queue-position", "digits/3"]
    # 61 s rounds up to 2 minutes.
    assert position_prompts(2, 61.0) == ["queue-position", "digits/2", "queue-wait", "digits/2"]
    assert position_prompts(150, 30.0) == ["queue-wait", "digits/1"]
