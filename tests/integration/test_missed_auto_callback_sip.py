"""Automatic call-back on real SIP: two callers miss the office after hours; when the service's clock
reaches 09:00 it offers each item to a free agent of the desk queue (the paused one is never rung):
the staff phone rings first and answers, then the customer's phone rings through the carrier and
answers, the two are bridged (each hears the other), and the item closes as "auto_called_back". A
busy customer leaves the item open and is called again after the plan's retry time.

The plan is tests/integration/plans/auto_callback.yaml, with its own database and var/ (and a
notifications.yaml closing items after 3 s of talk); the clock starts 20 s before opening.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest

from conftest import ServiceProcess, plan_text
from test_hunt import RINGBACK_HZ, sound_in
from test_missed import item_of
from waits import wait_until
from ivr.testing.audio import tone_fraction
from ivr.testing.world import Behaviour, Leg, World

MAIN = "+74951110000"
ANNA, BORIS = "+79162000061", "+79162000062"
OPENING = datetime.fromisoformat("2026-11-25T09:00:00+03:00")     # a Wednesday
LEAD = 20.0                  # seconds of "after hours" before the clock reaches the opening


@pytest.fixture
async def auto_service(service_process, base_env, stack_dir):
    # One service per ARI app and web port: the suite's default one steps aside (the `service`
    # fixture of later tests starts it again).
    service_process.stop()
    home = stack_dir / "auto_callback"
    home.mkdir(exist_ok=True)
    (home / "ivr.yaml").write_text(plan_text("auto_callback.yaml"), encoding="utf-8")
    (home / "notifications.yaml").write_text("missed: {close_after_seconds: 3}\n", encoding="utf-8")
    (home / "auto.db").unlink(missing_ok=True)
    env = {**base_env, "IVR_PLAN_FILE": str(home / "ivr.yaml"),
           "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{home}/auto.db", "IVR_VAR_DIR": str(home / "var")}
    service = ServiceProcess(env, home / "service.log")
    service.spawned = time.monotonic()
    service.start(IVR_CLOCK=(OPENING - timedelta(seconds=LEAD)).isoformat())
    await service.wait_ready()
    yield service
    service.stop()


async def post(service: ServiceProcess, path: str) -> int:
    status, _ = await service.request("POST", path)
    return status


def legs_to(world: World, target: str) -> list[Leg]:
    return [leg for leg in world.incoming if leg.target == target]


async def test_after_hours_misses_are_called_back_at_opening_by_free_queue_agents(auto_service, world):
    world.reset()
    for phone in ("101", "102", "103"):
        world.behaviours[phone] = Behaviour("answer", after=0.5)
    # Anna speaks from her answer on, as a real phone sends audio at once.
    world.behaviours[ANNA] = Behaviour("answer", after=1.0, play=("sound:hello-world",), hangup_after=4.5)
    world.behaviours[BORIS] = Behaviour("busy", after=0.3)
    assert await post(auto_service, "/api/queues/agents/103/pause") == 200

    # After hours: "closed", goodbye, the PBX hangs up; each caller becomes an open item.
    callers = [await world.call(MAIN, caller) for caller in (ANNA, BORIS)]
    for leg in callers:
        await asyncio.wait_for(leg.ended.wait(), 20)
    anna = await item_of(auto_service, ANNA, reason="closed_hours")
    boris = await item_of(auto_service, BORIS, reason="closed_hours")
    assert anna["status"] == boris["status"] == "open"
    assert not world.incoming, "nobody is called back before 09:00"

    async def boris_answers_the_retry() -> Leg:
        busy = await wait_until(lambda: legs_to(world, BORIS), LEAD + 15, "the call to Boris")
        await asyncio.wait_for(busy[0].ended.wait(), 10)
        world.behaviours[BORIS] = Behaviour("answer", after=0.5, hangup_after=4.0)
        return busy[0]
    boris_busy = asyncio.create_task(boris_answers_the_retry())

    # 09:00: Anna (the older item) and Boris each go to a free agent at once; 103 is paused.
    (anna_leg,) = await wait_until(lambda: legs_to(world, ANNA), LEAD + 15, "the call to Anna")
    first_staff = min(world.incoming, key=lambda leg: leg.invited_at)
    assert first_staff.invited_at >= auto_service.spawned + LEAD          # not before the clock said 09:00
    await asyncio.wait_for(anna_leg.answered.wait(), 10)
    started = (await auto_service.get(f"/api/missed/{anna['id']}"))["events"]
    (begun,) = [e for e in started if e["kind"] == "callback_started"]
    assert (begun["by"], begun["data"]["rule"], begun["data"]["attempt"]) == ("auto", "morning", 1)
    assert begun["data"]["staff"] in ("101", "102")
    (staff_leg,) = legs_to(world, begun["data"]["staff"])
    assert staff_leg.answered_at < anna_leg.invited_at                     # the staff phone first
    assert anna_leg.via == "default"                                        # out through the carrier
    # Bridged: each hears the other's words (before, the staff member heard ringback).
    spoke = time.monotonic()
    await world.ari.play(staff_leg.channel_id, ["sound:hello-world"], world.new_id("pb"))
    await asyncio.wait_for(anna_leg.ended.wait(), 15)
    closed = await item_of(auto_service, ANNA, status="closed")
    assert (closed["close_reason"], closed["closed_by"]) == ("auto_called_back", staff_leg.target)
    for listener, t in ((staff_leg, anna_leg.answered_at - staff_leg.answered_at),
                        (anna_leg, spoke - anna_leg.answered_at)):
        heard = await world.wait_recording(listener)
        assert sound_in(heard, t + 0.3, t + 1.0) > 0.6, listener.target
        assert tone_fraction(heard, RINGBACK_HZ, t + 0.3, t + 1.0) < 0.1, listener.target

    # Boris was busy: the attempt is logged and the item stays open; he answers the retry 4 s
    # later and is reached.
    busy_leg = await asyncio.wait_for(boris_busy, 10)
    assert abs(busy_leg.invited_at - anna_leg.invited_at) < 2.0            # both at the same time
    reached = await wait_until(lambda: legs_to(world, BORIS)[1:], 15, "the retry to Boris")
    assert reached[0].invited_at - busy_leg.ended_at >= 3.5                 # retry_seconds: 4
    closed = await item_of(auto_service, BORIS, status="closed")
    assert closed["close_reason"] == "auto_called_back"
    assert [e["data"]["result"] for e in closed["events"] if e["kind"] == "callback"] == ["busy"]
    assert [e["data"]["attempt"] for e in closed["events"] if e["kind"] == "callback_started"] == [1, 2]
    closed_at = [e["at"] for e in closed["events"] if e["kind"] == "closed"]
    busy_at = [e["at"] for e in closed["events"] if e["kind"] == "callback"]
    assert busy_at < closed_at                                              # open after the busy try

    assert not legs_to(world, "103"), "the paused agent is never offered a call-back"
    for customer in (ANNA, BORIS):                                          # never two at once
        legs = sorted(legs_to(world, customer), key=lambda leg: leg.invited_at)
        assert all(b.invited_at >= a.ended_at for a, b in zip(legs, legs[1:]))
