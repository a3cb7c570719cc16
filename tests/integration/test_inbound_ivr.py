"""Inbound IVR on real SIP: what the caller hears (matched on the caller's side) and what is stored.

Timings come from tests/integration/plans/ivr.yaml (one ring = 1 s, 2 s menu timeout, one retry)
and the generated prompts (ru/welcome is 3.2 s, ru/main-menu 5.8 s, en/welcome 2.7 s).
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conftest import heard
from ivr.testing.world import Behaviour, Leg, World

MAIN = "+74951110000"
# From the PBX's answer: the greeting has ended and the menu prompt has begun.
MENU_STARTED = 4.5
# From a language switch: en/welcome has ended and en/main-menu has begun.
EN_MENU_STARTED = 4.0
HOLIDAY = "2026-11-04T12:00:00+03:00"      # Unity Day in the test plan, a Wednesday
SUNDAY = "2026-11-29T12:00:00+03:00"


def steps(record: dict[str, Any], kind: str, node: str | None = None) -> list[dict[str, Any]]:
    """The data of the record's steps of one kind (and node), in order."""
    return [s["data"] for s in record["steps"] if s["kind"] == kind and (node is None or s["node"] == node)]


def path(record: dict[str, Any]) -> list[str]:
    """The nodes the call entered, in order."""
    return [s["node"] for s in record["steps"] if s["kind"] == "enter"]


async def answered_call(world: World, caller: str, number: str = MAIN) -> Leg:
    leg = await world.call(number, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    return leg


async def wait_incoming(world: World, count: int, timeout: float = 10) -> list[Leg]:
    """The first `count` INVITEs the PBX sent to the world (phones, subscribers)."""
    async def enough() -> None:
        while len(world.incoming) < count:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(enough(), timeout)
    return world.incoming[:count]


async def test_greeting_menu_digit_reaches_hunt_member(service, world, prompts):
    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=1.5)
    caller = "+79161000001"
    leg = await world.call(MAIN, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "1")
    await asyncio.wait_for(leg.ended.wait(), 20)
    record = await service.call_record(caller)
    assert record["outcome"] == "answered"
    assert record["answered_by"] == "101"
    assert record["source"] == "main-line"
    kinds = [(s["node"], s["kind"]) for s in record["steps"]]
    assert ("main_menu", "digit") in kinds and ("booking", "enter") in kinds
    names = heard(await world.wait_recording(leg), prompts)
    assert names[:2] == ["ru/welcome", "ru/main-menu"], names


async def test_digit_2_rings_dispatch_all_at_once(service, world, prompts):
    world.reset()
    world.behaviours["102"] = Behaviour("ignore")
    world.behaviours["103"] = Behaviour("answer", after=0.5, hangup_after=1.0)
    caller = "+79161000002"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "2")
    await asyncio.wait_for(leg.ended.wait(), 15)

    phones = {p.target: p for p in world.incoming}
    assert sorted(phones) == ["102", "103"], [p.target for p in world.incoming]
    # Ring-all: both INVITEs leave together, not one after the other's ring time.
    assert abs(phones["102"].invited_at - phones["103"].invited_at) < 0.5
    assert phones["102"].answered_at is None and phones["102"].ended.is_set()
    record = await service.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "103", record
    assert path(record) == ["main", "greeting", "main_menu", "dispatch"]
    assert steps(record, "digit", "main_menu")[0]["digits"] == "2"
    assert sorted(d["member"] for d in steps(record, "ring", "dispatch")) == ["102", "103"]
    assert [(d["member"], d["reason"]) for d in steps(record, "ring_end", "dispatch")] \
        == [("102", "answered_elsewhere")]
    names = heard(await world.wait_recording(leg), prompts)
    assert names[:2] == ["ru/welcome", "ru/main-menu"], names


async def test_digit_0_says_goodbye_and_hangs_up(service, world, prompts):
    world.reset()
    caller = "+79161000003"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "0")
    await asyncio.wait_for(leg.ended.wait(), 10)     # the PBX hangs up after the goodbye

    names = heard(await world.wait_recording(leg), prompts)
    assert names == ["ru/welcome", "ru/main-menu", "ru/goodbye"], names
    record = await service.call_record(caller)
    assert record["outcome"] == "ended_by_plan", record
    assert record["answered_by"] is None and not world.incoming
    assert path(record) == ["main", "greeting", "main_menu", "goodbye"]


async def test_digit_9_switches_to_english(service, world, prompts):
    world.reset()
    caller = "+79161000004"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "9")
    await asyncio.sleep(EN_MENU_STARTED)
    await world.press(leg, "0")                       # the English menu answers too
    await asyncio.wait_for(leg.ended.wait(), 10)

    names = heard(await world.wait_recording(leg), prompts)
    assert names == ["ru/welcome", "ru/main-menu", "en/welcome", "en/main-menu", "en/goodbye"], names
    record = await service.call_record(caller)
    assert record["language"] == "en", record
    assert steps(record, "language", "english") == [{"language": "en"}]
    assert path(record) == ["main", "greeting", "main_menu", "english", "greeting", "main_menu",
                            "goodbye"]


async def test_no_input_retries_then_default(service, world, prompts):
    world.reset()
    caller = "+79161000005"
    leg = await answered_call(world, caller)
    # welcome, menu, 2 s, no-input + menu, 2 s, all-busy, goodbye: about 25 s, then the PBX hangs up.
    await asyncio.wait_for(leg.ended.wait(), 40)

    names = heard(await world.wait_recording(leg), prompts)
    assert names == ["ru/welcome", "ru/main-menu", "ru/no-input", "ru/main-menu", "ru/all-busy",
                     "ru/goodbye"], names
    record = await service.call_record(caller)
    assert [d["attempt"] for d in steps(record, "no_input", "main_menu")] == [1, 2]
    assert steps(record, "retries_exhausted", "main_menu") == [{"default": "all_busy"}]
    assert path(record) == ["main", "greeting", "main_menu", "all_busy", "goodbye"]
    assert record["outcome"] == "ended_by_plan"


async def test_invalid_digit_is_refused_and_menu_repeats(service, world, prompts):
    world.reset()
    caller = "+79161000006"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "7")
    await asyncio.sleep(1.7 + 1.5)                   # invalid-choice, then into the menu again
    await world.press(leg, "0")
    await asyncio.wait_for(leg.ended.wait(), 10)

    names = heard(await world.wait_recording(leg), prompts)
    assert names == ["ru/welcome", "ru/main-menu", "ru/invalid-choice", "ru/main-menu", "ru/goodbye"], \
        names
    record = await service.call_record(caller)
    assert [(d["digits"], d["status"]) for d in steps(record, "digit", "main_menu")] \
        == [("7", "invalid"), ("0", "ok")]
    assert path(record) == ["main", "greeting", "main_menu", "goodbye"]


async def test_hangup_during_greeting(service, world, prompts):
    world.reset()
    caller = "+79161000007"
    leg = await answered_call(world, caller)
    await asyncio.sleep(1.2)
    await world.hangup(leg)
    await asyncio.wait_for(leg.ended.wait(), 5)

    record = await service.call_record(caller)
    assert record["outcome"] == "hung_up_in_greeting", record
    assert path(record) == ["main", "greeting"]
    assert steps(record, "caller_hung_up") == [{}]
    assert record["answered_by"] is None and not world.incoming
    names = heard(await world.wait_recording(leg), prompts)
    assert names == ["ru/welcome"], names             # a part of it, and nothing after


@pytest.mark.parametrize("clock, state, prompt, caller", [
    (SUNDAY, "closed", "ru/closed", "+79161000008"),
    (HOLIDAY, "holiday", "ru/holiday", "+79161000009"),
])
async def test_schedule_branches(service_process, world, prompts, clock, state, prompt, caller):
    service_process.stop()
    service_process.start(IVR_CLOCK=clock)           # the `service` fixture restores the open clock
    await service_process.wait_ready()
    world.reset()
    leg = await answered_call(world, caller)
    await asyncio.wait_for(leg.ended.wait(), 15)

    names = heard(await world.wait_recording(leg), prompts)
    assert names == [prompt, "ru/goodbye"], names
    record = await service_process.call_record(caller)
    assert steps(record, "schedule", "main") == [{"schedule": "office", "state": state}]
    assert path(record) == ["main", "after_hours" if state == "closed" else "holiday", "goodbye"]
    assert record["started_at"].startswith(clock[:10]), record["started_at"]


async def test_hunt_skips_busy_and_unanswered_phones(service, world, prompts):
    world.reset()
    world.behaviours["101"] = Behaviour("ignore")
    world.behaviours["102"] = Behaviour("busy")
    world.behaviours["103"] = Behaviour("answer", after=0.5, hangup_after=1.0)
    caller = "+79161000010"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "1")
    await asyncio.wait_for(leg.ended.wait(), 15)

    # Seen from the phones: 101 rang its two rings (ring_seconds 1 × 2), 102 refused at once.
    phones = {p.target: p for p in world.incoming}
    assert [p.target for p in world.incoming] == ["101", "102", "103"]
    assert phones["101"].answered_at is None and abs(phones["101"].ring_seconds - 2.0) <= 0.4, \
        phones["101"].ring_seconds
    assert phones["102"].answered_at is None and phones["102"].ring_seconds < 0.4, \
        phones["102"].ring_seconds
    assert phones["103"].answered_at is not None and abs(phones["103"].ring_seconds - 0.5) <= 0.4
    # 102 was called as soon as 101 gave up.
    assert phones["102"].invited_at - phones["101"].ended_at < 0.5

    record = await service.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "103", record
    hunt = [(s["kind"], s["data"].get("member"), s["data"].get("reason")) for s in record["steps"]
            if s["node"] == "booking" and s["kind"] in ("ring", "ring_end", "answered")]
    assert hunt == [("ring", "101", None), ("ring_end", "101", "no_answer"),
                    ("ring", "102", None), ("ring_end", "102", "busy"),
                    ("ring", "103", None), ("answered", "103", None)], hunt
    assert abs(steps(record, "ring_end", "booking")[0]["seconds"] - 2.0) <= 0.4


async def test_caller_hangs_up_while_phones_ring(service, world, prompts):
    world.reset()                                     # every phone rings and never answers
    caller = "+79161000011"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "2")                       # ring-all: 102 and 103 ring together
    ringing = await wait_incoming(world, 2)
    await asyncio.sleep(0.5)
    await world.hangup(leg)

    for phone in ringing:
        await asyncio.wait_for(phone.ended.wait(), 3)
        assert phone.answered_at is None
    assert sorted(p.target for p in ringing) == ["102", "103"]
    record = await service.call_record(caller)
    assert record["outcome"] == "abandoned_while_ringing", record
    assert sorted(d["member"] for d in steps(record, "ring", "dispatch")) == ["102", "103"]
    assert record["answered_by"] is None


async def test_callback_offer_puts_the_caller_in_the_missed_list(service, world, prompts):
    """Menu 8 offers a call-back; pressing 1 ends the call as a call-back request, which is an item
    in the one missed-call list until someone reaches the caller."""
    world.reset()
    caller = "+79161000130"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "8")
    await asyncio.sleep(4.0)                         # the offer plays
    await world.press(leg, "1")
    await asyncio.wait_for(leg.ended.wait(), 15)    # confirmation, then the PBX hangs up

    names = heard(await world.wait_recording(leg), prompts)
    assert names[-2:] == ["ru/callback-offer", "ru/callback-confirmed"], names
    record = await service.call_record(caller)
    assert record["outcome"] == "callback_requested"
    assert steps(record, "callback_requested", "call_me_back") == [{"number": caller}]

    async def item():
        items = (await service.get(f"/api/missed?customer={caller.replace('+', '%2B')}"))["items"]
        return items[0] if items else None
    deadline = asyncio.get_running_loop().time() + 15
    found = None
    while found is None and asyncio.get_running_loop().time() < deadline:
        found = await item()
        await asyncio.sleep(0.3)
    assert found is not None, "no missed-call item for the call-back request"
    assert found["reason"] == "callback_requested" and found["status"] == "open"
