"""Which trunk a campaign call takes: the router's choice within what campaigns may use of each
trunk (capacity minus live channels minus those kept for inbound calls)."""
from __future__ import annotations

import pytest

from ivr.campaigns.trunks import pick_trunk, trunk_budget, trunk_for
from ivr.plan.loader import load_plan_text
from ivr.routing.lookup import CarrierInfo
from ivr.routing.router import Router

PLAN = """
company: T
timezone: Europe/Moscow
country: RU
language: ru
trunks:
  default: {host: "127.0.0.11", caller_id: "+74951110000", default: yes, cost: {mobile: 2.4, landline: 1.1}}
  mts: {host: "127.0.0.13", caller_id: "+74951110000", carriers: [mts], capacity: 3, cost: {onnet: 0, mobile: 2.0}}
numbers:
  "+74951110000": {entry: bye}
nodes:
  bye: {type: hangup}
"""
MTS, MEGAFON = "+79161234567", "+79261234567"


class Lookup:
    def lookup(self, number: str) -> CarrierInfo:
        carrier = {"916": "mts", "926": "megafon"}.get(number[2:5])
        return CarrierInfo(number, carrier, "registry", "", "", "Europe/Moscow")

    def refresh(self) -> bool:
        return False


@pytest.fixture
def plan():
    return load_plan_text(PLAN, "plan.yaml")


@pytest.fixture
def router(plan):
    return Router(Lookup(), lambda: plan, None)  # type: ignore[arg-type]


def test_budget_keeps_channels_for_inbound_and_counts_live_ones(plan):
    assert trunk_budget(plan, {"mts": 1}, reserve_inbound=1) == {"default": None, "mts": 1}
    assert trunk_budget(plan, {"mts": 3}, reserve_inbound=1) == {"default": None, "mts": 0}


def test_calls_take_the_callees_trunk_until_its_share_is_used_then_wait(router, plan):
    budget = trunk_budget(plan, {}, reserve_inbound=1)          # mts: 3 channels, 1 kept: 2
    chosen = [trunk_for(router, MTS, plan, budget) for _ in range(3)]
    assert chosen == ["mts", "mts", None]       # the third waits rather than paying on `default`
    assert budget["mts"] == 0
    # the router counted the two reserved channels, so an inbound/staff decision sees them
    assert router.channels.counts() == {"mts": 2}


def test_a_callee_without_a_carrier_trunk_goes_on_the_router_choice(router, plan):
    budget = trunk_budget(plan, {}, reserve_inbound=1)
    assert trunk_for(router, MEGAFON, plan, budget) == "mts"           # cheapest off-net
    assert trunk_for(router, "12345", plan, budget) == "default"      # not routable: default trunk


def test_pick_trunk_skips_a_trunk_without_campaign_channels(plan, router):
    decision = router.decide(MEGAFON)
    assert pick_trunk(decision, plan, {"default": 0, "mts": None}) == "mts"
    assert pick_trunk(decision, plan, {"default": None, "mts": 0}) == "default"
    assert pick_trunk(router.decide(MTS), plan, {"default": None, "mts": 0}) is None


def test_a_trunk_without_a_caller_id_is_a_plan_problem():
    # calls would reach passengers as "Anonymous": `ivr plan check` says so, with the position
    from ivr.plan.errors import PlanError
    text = PLAN.replace('caller_id: "+74951110000", carriers', "carriers")
    with pytest.raises(PlanError) as e:
        load_plan_text(text, "plan.yaml")
    [problem] = e.value.problems
    assert (problem.line, "trunk 'mts': 'caller_id' is missing") == (8, problem.message[:35])
    assert "Anonymous" in problem.message
