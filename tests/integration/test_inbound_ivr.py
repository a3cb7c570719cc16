"""Inbound IVR on real SIP: what the caller hears (matched on the caller's side) and what is stored."""
from __future__ import annotations

import asyncio

from conftest import heard
from ivr.testing.world import Behaviour

MAIN = "+74951110000"


async def test_greeting_menu_digit_reaches_hunt_member(service, world, prompts):
    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=1.5)
    caller = "+79161000001"
    leg = await world.call(MAIN, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.sleep(4.5)          # greeting, then the menu starts
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
