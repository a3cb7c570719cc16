"""Dispatcher-aware pacing: calls in flight stay within the free dispatchers of option 3's hunt
group or queue times the profile's ratio; the profile option is checked with FILE:LINE:COL; and
the dialer's free_slots applies it."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from ivr.ari.bus import EventBus
from ivr.campaigns.config import default_profiles, load_profiles_text
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.model import Campaign, Pacing
from ivr.campaigns.pacing import Dispatchers, allowed_in_flight, dispatcher_room, queue_dispatchers
from ivr.config import load_settings
from ivr.plan.errors import PlanError
from ivr.plan.loader import load_plan_text
from ivr.queues.manager import QueueManager
from ivr.testing.fake_ari import FakeAri

PLAN = """
company: T
timezone: Europe/Moscow
country: RU
language: ru
staff:
  "101": {name: A}
  "102": {name: B}
  "103": {name: C}
trunks:
  default: {host: "127.0.0.11", caller_id: "+74951110000", default: yes}
numbers:
  "+74951110000": {entry: menu}
nodes:
  menu: {type: menu, prompts: [welcome], choices: {"1": desk, "2": dispatch}}
  desk: {type: queue, agents: ["101", "102", "103"], then: bye}
  dispatch: {type: hunt, members: ["101", "102", "103", "+79161234567"], then: bye}
  bye: {type: hangup}
"""
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def plan():
    return load_plan_text(PLAN, "plan.yaml", secrets_path="tests/integration/plans/secrets.yaml")


def profile(dispatcher: str, ratio: float, minimum: int = 0, max_concurrent: int = 10):
    return replace(default_profiles()["confirm"], dispatcher=dispatcher,
                   pacing=Pacing(max_concurrent=max_concurrent, per_free_dispatcher=ratio, min_concurrent=minimum))


def test_allowed_in_flight_scales_with_free_dispatchers():
    assert allowed_in_flight(Dispatchers(2), 3, 0) == 6
    assert allowed_in_flight(Dispatchers(3, waiting=2), 2.5, 0) == 2      # 1 free for a new caller
    assert allowed_in_flight(Dispatchers(0), 3, 0) == 0                   # hold
    assert allowed_in_flight(Dispatchers(0), 3, 1) == 1                   # a trickle, if asked for


async def test_queue_agents_free_less_callers_waiting(plan):
    manager = QueueManager(EventBus(), None, lambda: NOW, lambda: plan)   # type: ignore[arg-type]
    node = plan.nodes["desk"]
    now = 0.0
    assert queue_dispatchers(node, manager, now) == Dispatchers(3)       # unseen agents: logged in, idle
    manager.agent("101").paused = True
    manager.agent("102").logged_in = False
    assert queue_dispatchers(node, manager, now) == Dispatchers(1)
    manager.agent("103").wrapup_until = now + 30
    assert queue_dispatchers(node, manager, now) == Dispatchers(0)
    manager.agent("103").wrapup_until = 0
    manager.join(node, "+79160000001", "ch1", None)                        # offered to 103 at once
    manager.join(node, "+79160000002", "ch2", None)                        # waits with no one free
    assert queue_dispatchers(node, manager, manager._now()) == Dispatchers(0, waiting=1)


async def test_room_for_a_hunt_group_by_device_state(plan):
    services = SimpleNamespace(queues=None)
    # A device missing from the states cannot be read.
    ari = FakeAri(states={"PJSIP/101": "NOT_INUSE", "PJSIP/102": "INUSE", "PJSIP/103": "UNAVAILABLE"},
                  unknown_state=None)
    # 101 idle, and the outside number (state unknown) counts as free: 2 x 2 = 4 in flight.
    assert await dispatcher_room(profile("dispatch", 2), plan, services, ari, in_flight=1) == 3
    assert await dispatcher_room(profile("dispatch", 2), plan, services, ari, in_flight=6) == 0
    del ari.states["PJSIP/103"]                                               # unreadable: fail open
    assert await dispatcher_room(profile("dispatch", 2), plan, services, ari, in_flight=0) == 6
    assert await dispatcher_room(profile("dispatch", 0), plan, services, ari, in_flight=0) is None


async def test_dialer_free_slots_hold_originates_while_no_dispatcher_is_free(plan):
    manager = QueueManager(EventBus(), None, lambda: NOW, lambda: plan)   # type: ignore[arg-type]
    dialer = CampaignDialer(None, settings=load_settings(env={}),            # type: ignore[arg-type]
                            ari=SimpleNamespace(list_channels=_no_channels), bus=None, plans=None,
                            catalog=None, now=lambda: NOW, supervisor=None,
                            services=SimpleNamespace(router=None, queues=manager))
    campaign = Campaign(1, "c", "confirm", "confirm", "running", NOW, "desk")
    paced = profile("desk", 1.5, max_concurrent=10)
    assert (await dialer.free_slots(campaign, paced, plan))[0] == 4            # 3 free agents x 1.5
    dialer.in_flight[1] = 3
    assert (await dialer.free_slots(campaign, paced, plan))[0] == 1
    for ext in ("101", "102", "103"):
        manager.agent(ext).paused = True
    assert (await dialer.free_slots(campaign, paced, plan))[0] == 0            # hold
    assert (await dialer.free_slots(campaign, profile("desk", 0), plan))[0] == 7   # not dispatcher-aware


async def _no_channels():
    return []


def test_profile_option_checked_with_positions():
    base = ("profiles:\n  confirm:\n    flow: confirm\n    digits: {\"1\": confirm, \"3\": dispatcher}\n"
            "    dispatcher: dispatch\n")
    ok = load_profiles_text(base + "    pacing: {max_concurrent: 6, per_free_dispatcher: 2.5, min_concurrent: 1}\n",
                            "campaigns.yaml")
    assert (ok["confirm"].pacing.per_free_dispatcher, ok["confirm"].pacing.min_concurrent) == (2.5, 1)
    assert load_profiles_text(base, "campaigns.yaml")["confirm"].pacing.per_free_dispatcher == 0
    bad = ("profiles:\n  notice:\n    flow: notice\n    digits: {\"1\": understood}\n"
           "    pacing:\n      per_free_dispatcher: 2\n      min_concurrent: 20\n"
           "  other:\n    flow: notice\n    pacing: {per_free_dispatcher: -1}\n")
    with pytest.raises(PlanError) as e:
        load_profiles_text(bad, "campaigns.yaml")
    found = {(p.line, p.col, p.message) for p in e.value.problems}
    assert (6, 28, "profile 'notice' pacing per_free_dispatcher: the profile names no 'dispatcher' node") in found
    assert any(line == 7 and "min_concurrent: more than max_concurrent (20 > 10)" in m for line, _, m in found)
    assert any(line == 10 and "per_free_dispatcher: must be at least 0" in m for line, _, m in found)
