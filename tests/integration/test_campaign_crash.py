"""Campaigns on their bad days, on real SIP: the service SIGKILLed at random moments, the PBX's
Asterisk crashing mid-campaign, and a carrier trunk that answers 503. Checked from the world side:
every INVITE belongs to an attempt of its own, one call per passenger at a time, and every answer a
world phone gave while the service could hear it is stored."""
from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from conftest import PLANS, wait_registered
from ivr.campaigns.config import load_profiles
from ivr.campaigns.model import Profile
from ivr.testing.world import Behaviour, Leg
from test_campaign import campaigns, passengers, service_now, start_campaign, wait_done  # noqa: F401  (campaigns: a fixture)
from test_routing import routing, var_dir  # noqa: F401  (the service on the routing plan)

pytestmark = pytest.mark.usefixtures("var_dir")

SEED = 20261125
PASSENGERS = 30
# Short rings and retries: a campaign of 30 runs in well under a minute between the disruptions.
PROFILE = """
  crash:
    flow: confirm
    hours: {daily: "00:00-24:00"}
    deadline_hours: 1
    ring_seconds: 4
    answer_timeout: 1
    max_attempts: 3
    retry:
      busy: {after: 2s, retries: 1}
      no_answer: {after: 2s, retries: 1}
      no_input: {after: 2s, retries: 0}
      congestion: {after: 2s, retries: 1}
      lost: {after: 1s, retries: 2}
      interrupted: {after: 1s, retries: 2}
    pacing: {max_concurrent: 8, reserve_inbound: 0, calls_per_second: 10}
    digits: {"1": confirm, "2": cancel, "0": repeat}
    prompts:
      intro: []
      question: [invalid-choice]
      thanks: {confirm: [campaign-understood], cancel: [campaign-understood]}
      no_input: [no-input]
      call_again: [campaign-call-again]
"""
# A digit counts as given when the service was up and listening around it: from this long before a
# disruption (the digit may be on its way to the database) until this long after it was back.
BEFORE_DOWN, AFTER_UP = 1.0, 0.5


def scripts(numbers: list[str]) -> dict[str, Behaviour]:
    """Passengers who press 1 or 2 (some after a long ring, longer than a restart takes), are busy,
    never answer, say nothing, or hang up at once."""
    kinds = [Behaviour("answer", after=0.5, press="1", press_after=0.7)] * 3 + \
        [Behaviour("answer", after=0.5, press="2", press_after=0.7),
         Behaviour("answer", after=3.0, press="1", press_after=0.7),
         Behaviour("answer", after=3.0, press="2", press_after=0.7),
         Behaviour("busy", after=0.2), Behaviour("ignore"), Behaviour("answer", after=0.5),
         Behaviour("answer", after=0.5, hangup_after=0.6)]
    return {n: kinds[i % len(kinds)] for i, n in enumerate(numbers)}


@pytest.fixture
def crash_profile(campaigns, stack_dir, plan) -> Profile:
    """The `crash` profile, in the service's campaigns.yaml too (its limits are checked here)."""
    path = stack_dir / "campaigns.yaml"
    path.write_text((PLANS / "campaign.yaml").read_text(encoding="utf-8") + PROFILE, encoding="utf-8")
    return load_profiles(path, plan)["crash"]


def pressed_at(leg: Leg, b: Behaviour) -> float | None:
    """When the world phone sent its digit (it presses `press_after` seconds after answering)."""
    if not b.press or leg.answered_at is None:
        return None
    at = leg.answered_at + b.press_after
    return at if leg.ended_at is None or leg.ended_at > at + 0.5 else None


def heard_by_service(at: float, outages: list[tuple[float, float]]) -> bool:
    return not any(down - BEFORE_DOWN <= at <= up + AFTER_UP for down, up in outages)


async def campaign_with_outages(service, profile: Profile, world, prefix: str,
                                disrupt: Callable[[], Awaitable[None]], kills: int, seed: int
                                ) -> tuple[int, list[tuple[float, float]]]:
    """Call PASSENGERS scripted world phones (numbers `prefix` + 4 digits) and call `disrupt`
    (returns once the service is back) `kills` times, each after a random number of INVITEs plus
    a random fraction of a second; check what the world saw against what was stored. Returns the
    campaign id and the outages (from, to)."""
    rng = random.Random(seed)
    world.reset()
    numbers = [f"{prefix}{i:04d}" for i in range(PASSENGERS)]
    behaviours = scripts(numbers)
    world.behaviours.update(behaviours)
    # no seat, and the passengers press while the departure is said: the calls are short
    departure = (service_now() + timedelta(hours=5)).isoformat()
    cid = await start_campaign(service, profile.name, [{"key": n, "name": n, "phone": n, "trip_id": "T30",
                                                        "departure": departure} for n in numbers], "crash")
    marks = sorted(rng.sample(range(3, len(numbers)), kills))
    outages: list[tuple[float, float]] = []
    deadline = time.monotonic() + 150

    async def done() -> bool:
        shown = await service.get(f"/api/campaigns/{cid}")
        assert time.monotonic() < deadline, (outages, shown["counts"])
        return shown["campaign"]["status"] == "done"

    for mark in marks:
        while len(world.incoming) < mark and not await done():
            await asyncio.sleep(0.05)
        await asyncio.sleep(rng.uniform(0.0, 1.5))
        if await done():
            break
        down = time.monotonic()
        await disrupt()
        outages.append((down, time.monotonic()))
    while not await done():
        await asyncio.sleep(0.3)
    assert len(outages) == kills, f"the campaign ended before every disruption (seed {seed})"
    await check_never_twice_and_answers_kept(service, cid, profile, world, behaviours, outages)
    return cid, outages


async def check_never_twice_and_answers_kept(service, cid: int, profile: Profile, world,
                                             behaviours: dict[str, Behaviour],
                                             outages: list[tuple[float, float]]) -> None:
    legs = {n: [leg for leg in world.incoming if leg.target == n] for n in behaviours}
    ending = time.monotonic() + 10
    while any(leg.ended_at is None for v in legs.values() for leg in v) and time.monotonic() < ending:
        await asyncio.sleep(0.2)
    shown = await service.get(f"/api/campaigns/{cid}")
    rows = {r["phone"]: r for r in shown["rows"]}
    attempts = shown["attempts"]
    per_row = Counter(a["row_id"] for a in attempts)
    answers = {a["number"]: a for a in attempts if a["answer"]}
    context = (outages, {n: (r["result"], r["attempts"], len(legs[n])) for n, r in rows.items()})
    assert all(a["ended_at"] is not None for a in attempts), context
    # each disruption hit calls in flight
    every = [leg for v in legs.values() for leg in v]
    assert all(any(leg.invited_at < down < (leg.ended_at or down) for leg in every) for down, _ in outages), context
    given_total = 0
    for n, b in behaviours.items():
        row = rows[n]
        assert row["status"] == "done", (n, context)
        # every INVITE the world saw belongs to an attempt of its own, within the profile's limit
        assert len(legs[n]) <= row["attempts"] == per_row[row["id"]] <= profile.max_attempts, (n, context)
        # one call at a time: each INVITE after the passenger's previous call ended
        for first, second in zip(legs[n], legs[n][1:]):
            assert first.ended_at is not None and second.invited_at >= first.ended_at, (n, context)
        given = [leg for leg in legs[n] if (at := pressed_at(leg, b)) is not None and heard_by_service(at, outages)]
        given_total += len(given)
        if given:
            assert n in answers and answers[n]["digit"] == b.press, (n, context)
            # an answered passenger is not called again
            assert legs[n][-1] is given[0], (n, context)
        if n in answers:
            assert answers[n]["digit"] == b.press and row["result"] == answers[n]["answer"], (n, context)
    assert given_total > 0, context


async def test_sigkill_at_random_moments_never_calls_twice_and_keeps_answers(service, world, crash_profile):
    async def kill_and_restart() -> None:
        service.stop(signal.SIGKILL)
        service.start()
        await service.wait_ready()

    await campaign_with_outages(service, crash_profile, world, "+7916300", kill_and_restart, kills=3, seed=SEED)


async def test_asterisk_crash_mid_campaign_never_calls_twice_and_keeps_answers(service, world, pbx,
                                                                             crash_profile, plan):
    async def crash_asterisk() -> None:
        await asyncio.to_thread(pbx.kill)
        # the carriers notice: their side of every call the PBX had ends
        for leg in list(world.legs.values()):
            if not leg.ended.is_set():
                await world.hangup(leg)
        await asyncio.to_thread(pbx.start)
        await service.wait_ready(30)               # 200 once ARI is connected again

    cid, _ = await campaign_with_outages(service, crash_profile, world, "+7916400", crash_asterisk, kills=1,
                                         seed=SEED + 1)
    # the crash cut calls in flight: "lost", and each of those passengers was called again
    attempts = (await service.get(f"/api/campaigns/{cid}"))["attempts"]
    lost = [a for a in attempts if a["outcome"] == "lost"]
    assert lost, "the crash hit no call in flight"
    assert all(any(b["row_id"] == a["row_id"] and b["id"] > a["id"] for b in attempts) for a in lost), lost
    await wait_registered(world.instance, list(plan.staff))


FAILOVER_PROFILE = """
profiles:
  failover:
    flow: confirm
    hours: {daily: "00:00-24:00"}
    deadline_hours: 1
    ring_seconds: 4
    answer_timeout: 2
    max_attempts: 1
    pacing: {max_concurrent: 1, reserve_inbound: 0, calls_per_second: 10}
    digits: {"1": confirm, "2": cancel}
    prompts:
      intro: []
      question: [invalid-choice]
      thanks: {confirm: [goodbye], cancel: [goodbye]}
"""


async def test_a_leg_refused_with_503_reaches_the_passenger_over_the_next_trunk(routing, world, stack_dir):
    (stack_dir / "campaigns.yaml").write_text(FAILOVER_PROFILE, encoding="utf-8")
    # MegaFon numbers: their own trunk first (routing.yaml), then tele2, mts, beeline, default
    through, busy, nowhere = "+79261234573", "+79261234574", "+79261234575"
    world.behaviours[f"{through}@megafon"] = Behaviour("reject")        # the gateway: 503
    world.behaviours[through] = Behaviour("answer", after=0.3, press="1", press_after=1.0)
    world.behaviours[busy] = Behaviour("busy", after=0.2)                # the callee's own answer
    world.behaviours[nowhere] = Behaviour("reject")                      # every trunk: 503
    cid = await start_campaign(routing, "failover", passengers([through, busy, nowhere], "T8"), "failover")
    shown = await wait_done(routing, cid, 40)
    rows = {r["phone"]: r for r in shown["rows"]}
    attempts = {a["number"]: a for a in shown["attempts"]}
    legs = {n: [leg.via for leg in world.incoming if leg.target == n] for n in (through, busy, nowhere)}
    # one attempt each; the 503 sent the same attempt on to tele2, where the passenger answered
    assert legs[through] == ["megafon", "tele2"], legs
    assert (attempts[through]["trunk"], attempts[through]["tried"], attempts[through]["answer"]) == (
        "tele2", ["megafon"], "confirm")
    assert (rows[through]["result"], rows[through]["attempts"]) == ("confirm", 1)
    # busy is the callee's: never sent again on another trunk
    assert legs[busy] == ["megafon"] and (rows[busy]["result"], attempts[busy]["tried"]) == ("busy", [])
    # every candidate refused: each tried once, in the router's order, then "congestion"
    assert legs[nowhere] == [*attempts[nowhere]["tried"], attempts[nowhere]["trunk"]], legs
    assert legs[nowhere] == ["megafon", "tele2", "mts", "beeline", "default"], legs
    assert (rows[nowhere]["result"], rows[nowhere]["attempts"]) == ("congestion", 1)
