"""The queue node in a plan: agents with penalties, VIP numbers, leave digit, call-back settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.plan.loader import PlanError, load_plan_text
from ivr.plan.model import QueueNode

SECRETS = Path(__file__).parent / "plans" / "secrets.yaml"

PLAN = """\
company: X
timezone: Europe/Moscow
country: RU
language: ru
numbers:
  "+74951112233": {{entry: line}}
staff:
  "201": {{name: A}}
  "202": {{name: B}}
  "203": {{name: C}}
nodes:
  line:
    type: queue
{queue}
  out: {{type: hangup}}
  vm: {{type: hangup}}
"""


def queue_node(body: str) -> QueueNode:
    plan = load_plan_text(PLAN.format(queue=body), "plan.yaml", secrets_path=SECRETS)
    return plan.nodes["line"]


def problems(body: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        load_plan_text(PLAN.format(queue=body), "plan.yaml", secrets_path=SECRETS)
    return [p.message for p in info.value.problems]


def test_full_queue_node():
    node = queue_node("""\
    agents: ["201", {extension: "202", penalty: 1}, {extension: "203"}]
    strategy: longestidle
    vip: ["8 916 123-45-67", "+79031112233"]
    service_level_seconds: 30
    skip_after_no_answer_seconds: 15
    leave_digit: "0"
    leave: vm
    callback_after: 45
    callback_retries: 2
    callback_retry_seconds: 120
    then: out""")
    assert node.agents == ("201", "202", "203")
    assert node.penalties == {"202": 1}
    assert node.strategy == "longestidle"
    assert node.vip == ("+79161234567", "+79031112233")          # normalised to E.164
    assert (node.service_level_seconds, node.skip_after_no_answer_seconds) == (30.0, 15.0)
    assert (node.leave_digit, node.leave, node.then) == ("0", "vm", "out")
    assert (node.callback_after, node.callback_retries, node.callback_retry_seconds) == (45.0, 2, 120.0)


def test_defaults():
    node = queue_node('    agents: ["201"]\n    then: out\n    leave: vm')
    assert (node.strategy, node.penalties, node.vip, node.leave_digit) == ("ringall", {}, (), "")
    assert (node.service_level_seconds, node.skip_after_no_answer_seconds, node.callback_retries) == (20.0, 10.0, 3)


def test_bad_queue_settings_are_reported():
    found = problems("""\
    agents: ["201", "201", {extension: "209"}, {penalty: 2}]
    strategy: longest
    vip: ["12"]
    leave_digit: "1"
    callback_after: 30
    then: out
    leave: vm""")
    assert "agents: '201' is listed twice" in found
    assert any(m.startswith("agents: unknown staff extension '209'") for m in found), found
    assert "agent: 'extension' is missing" in found
    assert any(m.startswith("strategy: 'longest' is not one of") for m in found), found
    assert "vip: '12' is not a valid phone number" in found
    assert "leave_digit: 1 is the call-back key of this queue" in found
