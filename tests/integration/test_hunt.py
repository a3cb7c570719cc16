"""Hunt groups on real SIP: strategies, follow-me through the trunk, confirm mode, limits, and the
ringback the caller hears, checked from the world's side (INVITEs, recordings) and in the record.

The plan is tests/integration/plans/hunt.yaml (one ring = 1 s; each node has its own number). The
service runs it with its own database, since a database's active plan version wins over the file.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from conftest import heard, plan_text
from waits import wait_bridged
from ivr.testing.audio import has_tone, silences, tone_fraction, tone_segments
from ivr.testing.world import Behaviour, Leg, World

ROTATE, REMEMBER, OVERLAP, FOLLOW, CONFIRM, NOBODY, CONTINUOUS, LIMITED = (
    f"+7495111010{i}" for i in range(8))
MOBILE, CONFIRM_MOBILE = "+79161234567", "+79161234568"
RINGBACK_HZ = 425.0
# The ru cadence: 1 s of tone, then 4 s of pause.
CADENCE, PAUSE = 5.0, 4.0


@pytest.fixture
async def hunt(service_process, stack_dir):
    """The service on the hunt plan (restarted only when it runs something else)."""
    plan = stack_dir / "hunt.yaml"
    plan.write_text(plan_text("hunt.yaml"), encoding="utf-8")
    wanted = {"IVR_PLAN_FILE": str(plan),
              "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{stack_dir}/hunt.db"}
    if service_process.proc is None or service_process.proc.poll() is not None \
            or service_process.current != wanted:
        service_process.stop()
        service_process.start(**wanted)
        await service_process.wait_ready()
    return service_process


def hunt_steps(record: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(kind, member or target, reason) of the record's ringing steps, in order."""
    return [(s["kind"], s["data"].get("target", s["data"].get("member")), s["data"].get("reason"))
            for s in record["steps"] if s["kind"] in ("ring", "ring_end", "answered", "skipped", "confirm")]


def step_data(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s["data"] for s in record["steps"] if s["kind"] == kind]


def sound_in(path, start: float, end: float) -> float:
    """Fraction of [start, end) seconds of a recording that is not silence."""
    quiet = sum(max(0.0, min(b, end) - max(a, start)) for a, b in silences(path, min_seconds=0.1))
    return 1.0 - quiet / (end - start)


async def call(world: World, number: str, caller: str) -> Leg:
    leg = await world.call(number, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    return leg


async def wait_incoming(world: World, count: int, timeout: float = 15) -> list[Leg]:
    async def enough() -> None:
        while len(world.incoming) < count:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(enough(), timeout)
    return world.incoming[:count]


async def test_roundrobin_starts_after_the_previous_start(hunt, world):
    firsts = []
    for caller in ("+79162000001", "+79162000002", "+79162000003"):
        world.reset()
        for phone in ("101", "102", "103"):
            world.behaviours[phone] = Behaviour("answer", after=0.2, hangup_after=0.5)
        leg = await call(world, ROTATE, caller)
        await asyncio.wait_for(leg.ended.wait(), 10)
        # Everybody answers at once, so each call rings only the member it starts with.
        assert [p.target for p in world.incoming] == [world.incoming[0].target]
        record = await hunt.call_record(caller)
        assert record["answered_by"] == world.incoming[0].target, record
        firsts.append(world.incoming[0].target)
    order = ["101", "102", "103"]
    start = order.index(firsts[0])
    assert firsts == [order[(start + i) % 3] for i in range(3)], firsts


async def test_memory_starts_with_who_answered_last(hunt, world):
    world.reset()
    world.behaviours["101"] = Behaviour("ignore")
    world.behaviours["102"] = Behaviour("answer", after=0.2, hangup_after=0.5)
    world.behaviours["103"] = Behaviour("ignore")
    leg = await call(world, REMEMBER, "+79162000011")
    await asyncio.wait_for(leg.ended.wait(), 10)
    assert (await hunt.call_record("+79162000011"))["answered_by"] == "102"

    world.reset()
    world.behaviours["102"] = Behaviour("ignore")
    world.behaviours["103"] = Behaviour("answer", after=0.2, hangup_after=0.5)
    leg = await call(world, REMEMBER, "+79162000012")
    await asyncio.wait_for(leg.ended.wait(), 10)
    # The second call starts with 102 (who answered the first), then goes on round the list.
    assert [p.target for p in world.incoming] == ["102", "103"]
    record = await hunt.call_record("+79162000012")
    assert record["answered_by"] == "103"
    assert hunt_steps(record) == [("ring", "102", None), ("ring_end", "102", "no_answer"),
                                  ("ring", "103", None), ("answered", "103", None)]


async def test_overlap_next_member_rings_before_the_previous_stops(hunt, world):
    world.reset()                                      # nobody answers
    caller = "+79162000021"
    leg = await call(world, OVERLAP, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)       # all_busy, goodbye, hang-up

    phones = {p.target: p for p in world.incoming}
    assert [p.target for p in world.incoming] == ["101", "102", "103"]
    for a, b in (("101", "102"), ("102", "103")):
        # b starts one ring (1 s) into a's 2 s: both INVITEs are alive for about a second.
        assert phones[b].invited_at < phones[a].ended_at - 0.5, (a, b)
        assert abs(phones[b].invited_at - phones[a].invited_at - 1.0) <= 0.4, (a, b)
    for p in phones.values():
        assert p.answered_at is None and abs(p.ring_seconds - 2.0) <= 0.4, (p.target, p.ring_seconds)
    record = await hunt.call_record(caller)
    assert record["outcome"] != "answered" and record["answered_by"] is None
    assert [s["node"] for s in record["steps"] if s["kind"] == "enter"] == ["overlapping", "all_busy",
                                                                            "goodbye"]


async def test_follow_me_reaches_the_mobile_through_the_trunk(hunt, world, pbx):
    world.reset()
    world.behaviours["101"] = Behaviour("ignore")
    world.behaviours[MOBILE] = Behaviour("answer", after=0.3, hangup_after=4)
    caller = "+79162000031"
    leg = await call(world, FOLLOW, caller)
    await wait_incoming(world, 2)
    desk, mobile = world.incoming
    await asyncio.wait_for(mobile.answered.wait(), 5)
    await wait_bridged(pbx)                            # caller and mobile talk
    # Both speak 0.5 s after the answer: the audio checks below measure from it.
    await asyncio.sleep(max(0.0, mobile.answered_at + 0.5 - time.monotonic()))
    for speaker in (leg, mobile):
        await world.ari.play(speaker.channel_id, ["sound:hello-world"], world.new_id("pb"))
    await asyncio.wait_for(leg.ended.wait(), 15)

    assert (desk.target, mobile.target) == ("101", MOBILE)
    assert desk.via == "" and mobile.via == "default"  # the mobile was reached at the carrier
    assert abs(desk.ring_seconds - 1.0) <= 0.4 and mobile.invited_at - desk.ended_at < 0.5
    record = await hunt.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "101", record
    assert hunt_steps(record) == [("ring", "101", None), ("ring_end", "101", "no_answer"),
                                  ("ring", MOBILE, None), ("answered", MOBILE, None)]
    answered = step_data(record, "answered")[0]
    assert answered["member"] == "101" and abs(answered["after_seconds"] - 0.3) <= 0.4, answered
    # Audio both ways: the caller hears the mobile's voice (not ringback), the mobile the caller's.
    caller_heard = await world.wait_recording(leg)
    t = mobile.answered_at - leg.invited_at
    assert tone_fraction(caller_heard, RINGBACK_HZ, 0, t) > 0.1
    assert sound_in(caller_heard, t + 0.8, t + 1.8) > 0.6
    assert tone_fraction(caller_heard, RINGBACK_HZ, t + 0.3, t + 1.8) < 0.1
    mobile_heard = await world.wait_recording(mobile)
    assert sound_in(mobile_heard, 0.0, 0.4) < 0.5 and sound_in(mobile_heard, 0.8, 1.8) > 0.6


async def test_confirm_mobile_presses_1_and_is_bridged(hunt, world, prompts):
    world.reset()
    world.behaviours[CONFIRM_MOBILE] = Behaviour("answer", after=0.3, press="1", press_after=6.0,
                                                 hangup_after=2.0)
    caller = "+79162000041"
    leg = await call(world, CONFIRM, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)

    assert [p.target for p in world.incoming] == [CONFIRM_MOBILE]
    mobile = world.incoming[0]
    assert "ru/confirm-call" in heard(await world.wait_recording(mobile), prompts)
    record = await hunt.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == CONFIRM_MOBILE, record
    assert hunt_steps(record) == [("ring", CONFIRM_MOBILE, None), ("confirm", CONFIRM_MOBILE, None),
                                  ("answered", CONFIRM_MOBILE, None)]
    answered = step_data(record, "answered")[0]
    assert answered["confirmed"] is True and answered["waited_seconds"] >= 6.0, answered
    # While the mobile listened to the question, the caller kept hearing ringback (the burst 5 s in).
    caller_heard = await world.wait_recording(leg)
    t = mobile.answered_at - leg.invited_at
    assert has_tone(caller_heard, RINGBACK_HZ, t + 0.5, t + 5.8, min_seconds=0.5)
    assert "ru/confirm-call" not in heard(caller_heard, prompts)


async def test_confirm_no_digit_goes_on_to_the_next_member(hunt, world, prompts):
    world.reset()
    world.behaviours[CONFIRM_MOBILE] = Behaviour("answer", after=0.3)    # a voicemail box: never presses
    world.behaviours["102"] = Behaviour("answer", after=0.3, hangup_after=1.0)
    caller = "+79162000042"
    leg = await call(world, CONFIRM, caller)
    await asyncio.wait_for(leg.ended.wait(), 25)

    mobile, desk = world.incoming
    assert (mobile.target, desk.target) == (CONFIRM_MOBILE, "102")
    assert mobile.ended_at is not None and desk.invited_at >= mobile.ended_at - 0.3
    record = await hunt.call_record(caller)
    assert record["answered_by"] == "102", record
    assert hunt_steps(record) == [("ring", CONFIRM_MOBILE, None), ("confirm", CONFIRM_MOBILE, None),
                                  ("ring_end", CONFIRM_MOBILE, "not_confirmed"), ("ring", "102", None),
                                  ("answered", "102", None)]
    # The question, then 5 s for the digit (the prompt is about 3.5 s long).
    ended = step_data(record, "ring_end")[0]
    assert 7.5 <= ended["seconds"] <= 11.0, ended
    assert "ru/confirm-call" in heard(await world.wait_recording(mobile), prompts)


async def test_nobody_answers_goes_to_the_then_node(hunt, world, prompts):
    world.reset()
    world.behaviours["102"] = Behaviour("busy")
    caller = "+79162000051"
    leg = await call(world, NOBODY, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)

    record = await hunt.call_record(caller)
    assert record["answered_by"] is None
    assert hunt_steps(record) == [("ring", "101", None), ("ring_end", "101", "no_answer"),
                                  ("ring", "102", None), ("ring_end", "102", "busy")]
    assert [s["node"] for s in record["steps"] if s["kind"] == "enter"] == ["nobody", "all_busy", "goodbye"]
    names = heard(await world.wait_recording(leg), prompts)
    assert names == ["ru/all-busy", "ru/goodbye"], names


async def test_ringback_continues_across_members(hunt, world):
    world.reset()
    world.behaviours["101"] = Behaviour("ignore")
    world.behaviours["102"] = Behaviour("busy")
    world.behaviours["103"] = Behaviour("answer", after=4.0, hangup_after=1.0)
    caller = "+79162000061"
    leg = await call(world, CONTINUOUS, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)

    phone = {p.target: p for p in world.incoming}
    assert phone["103"].answered_at is not None
    # Recording time: the caller's recording began when the call was placed.
    begin, end = leg.answered_at - leg.invited_at, phone["103"].answered_at - leg.invited_at
    assert end - begin > 6.5                           # 3 s of 101, 102 busy, 4 s of 103
    bursts = [s for s in tone_segments(await world.wait_recording(leg), RINGBACK_HZ) if s[0] < end]
    # One ringback from the first member to the last: a burst every 5 s, no pause longer than the
    # cadence's own (4 s) by more than 1.5 s, and none around the switches between members.
    assert len(bursts) >= 2, bursts
    starts = [s for s, _ in bursts]
    assert all(abs(b - a - CADENCE) <= 0.4 for a, b in zip(starts, starts[1:])), bursts
    gaps = [b[0] - a[1] for a, b in zip(bursts, bursts[1:])]
    assert max(gaps) <= PAUSE + 1.5, bursts
    assert starts[0] - begin < 1.0 and end - bursts[-1][1] <= PAUSE + 1.5, (bursts, begin, end)
    record = await hunt.call_record(caller)
    assert record["answered_by"] == "103"
    assert [d["reason"] for d in step_data(record, "ring_end")] == ["no_answer", "busy"]


async def test_group_limit_and_music_instead_of_ringback(hunt, world, prompts):
    world.reset()                                      # nobody answers
    caller = "+79162000071"
    leg = await call(world, LIMITED, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)

    # 3 s for the group: 101 rings its 2 s, 102 is cut after about 1 s, 103 is never rung.
    phones = {p.target: p for p in world.incoming}
    assert sorted(phones) == ["101", "102"]
    assert abs(phones["101"].ring_seconds - 2.0) <= 0.4
    assert abs(phones["102"].ring_seconds - 1.0) <= 0.4, phones["102"].ring_seconds
    record = await hunt.call_record(caller)
    nobody = step_data(record, "nobody_answered")[0]
    assert abs(nobody["seconds"] - 3.0) <= 0.4, nobody
    path = await world.wait_recording(leg)
    # Music, not the ringing tone, while the group rang; then the then-node's prompts.
    begin = leg.answered_at - leg.invited_at
    assert tone_fraction(path, RINGBACK_HZ, begin, begin + 3) < 0.05
    assert sound_in(path, begin + 0.5, begin + 2.5) > 0.6
    assert heard(path, prompts)[-2:] == ["ru/all-busy", "ru/goodbye"]
