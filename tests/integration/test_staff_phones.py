"""Staff phones on real SIP: do-not-disturb (*78 and *79 from a phone, the API; hunts skip a DND
phone at once: no INVITE, no ring time) and call pickup of the legs the service rings (*8 in the
pickup group, **EXT for one phone). The plan is tests/integration/plans/staff.yaml."""
from __future__ import annotations

import asyncio

import pytest

from conftest import heard
from waits import wait_channel
from ivr.testing.world import Behaviour, World
from test_transfer import VOICE, incoming, sound_in, staff_plan, steps  # noqa: F401 (staff_plan is a fixture)

DESK, EVERYONE = "+74951110200", "+74951110201"


async def feature_code(world: World, phone: str, code: str, prompts) -> list[str]:
    """`phone` dials `code`; the prompts it heard before the PBX hung up."""
    leg = await world.dial_from_phone(phone, code, record=True)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.wait_for(leg.ended.wait(), 15)
    return heard(await world.wait_recording(leg), prompts)


async def dnd(service, ext: str) -> dict:
    return next(p for p in (await service.get("/api/staff"))["staff"] if p["extension"] == ext)


async def test_dnd_from_the_phone_skips_it_in_a_ring_all_at_once(staff_plan, world, prompts):
    world.reset()
    assert "ru/dnd-on" in await feature_code(world, "102", "*78", prompts)
    state = await dnd(staff_plan, "102")
    assert state["dnd"] is True and state["changed_by"] == "phone 102", state

    world.reset()
    caller = "+79163000101"
    world.behaviours["101"] = Behaviour("answer", after=1.0, hangup_after=0.5)
    leg = await world.call(EVERYONE, caller)
    await asyncio.wait_for(leg.ended.wait(), 15)
    assert sorted(p.target for p in world.incoming) == ["101", "103"]        # 102 got no INVITE
    record = await staff_plan.call_record(caller)
    assert ("skipped", {"member": "102", "reason": "dnd"}) in steps(record, "skipped"), record
    assert record["answered_by"] == "101"

    world.reset()
    assert "ru/dnd-off" in await feature_code(world, "102", "*79", prompts)
    assert (await dnd(staff_plan, "102"))["dnd"] is False


async def test_dnd_from_the_api(staff_plan, world):
    status, state = await staff_plan.post("/api/staff/103/dnd", {"on": True, "by": "olga"})
    assert status == 200 and state["dnd"] is True and state["changed_by"] == "olga"
    try:
        world.reset()
        caller = "+79163000102"
        world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=0.5)
        leg = await world.call(EVERYONE, caller)
        await asyncio.wait_for(leg.ended.wait(), 15)
        assert sorted(p.target for p in world.incoming) == ["101", "102"]
    finally:
        status, state = await staff_plan.post("/api/staff/103/dnd", {"on": False})
    assert status == 200 and state["dnd"] is False
    status, error = await staff_plan.post("/api/staff/999/dnd", {"on": True})
    assert status == 404 and "999" in error["message"], error
    status, error = await staff_plan.post("/api/staff/101/dnd", {"on": "yes"})
    assert status == 400 and "on" in error["message"], error


@pytest.mark.parametrize("picker_ext, code", [("101", "*8"), ("103", "**102")], ids=["group", "directed"])
async def test_pickup_answers_a_hunt_leg(staff_plan, world, pbx, picker_ext, code):
    """101 shares 102's pickup group (*8); 103 does not, and names the phone (**102)."""
    world.reset()
    caller = f"+7916300020{len(code)}"
    world.behaviours["102"] = Behaviour("ignore")          # the desk phone rings, nobody there
    leg = await world.call(DESK, caller)
    await incoming(world, "102")
    await wait_channel(pbx, "PJSIP/102-", "Ringing")      # what a pickup takes
    picker = await world.dial_from_phone(picker_ext, code, record=True)
    await asyncio.wait_for(picker.answered.wait(), 10)
    await world.ari.play(picker.channel_id, list(VOICE), world.new_id("pb"))
    await asyncio.sleep(2.0)                               # it speaks, then hangs up
    await world.hangup(picker)
    await asyncio.wait_for(leg.ended.wait(), 10)

    # The caller talked with the phone that picked up.
    caller_heard = await world.wait_recording(leg)
    picked = picker.answered_at - leg.invited_at
    assert sound_in(caller_heard, picked + 0.4, picked + 1.2) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == picker_ext, record
    assert steps(record, "picked_up") == [("picked_up", {"member": "102", "by": picker_ext})]
    assert steps(record, "answered")[0][1]["picked_up_by"] == picker_ext


async def test_the_callers_display_name_is_kept_and_shown(staff_plan, world):
    world.reset()
    caller, name = "+79163000301", "Анна <Иванова>"
    leg = await world.call(EVERYONE, caller, name=name)              # nobody answers
    await asyncio.wait_for(leg.ended.wait(), 20)
    assert {p.caller_name for p in world.incoming} == {name}            # on the phones' displays
    record = await staff_plan.call_record(caller)
    assert record["caller_name"] == name and record["contact_name"] == "", record
    items = await staff_plan.missed_items(caller)
    assert [i["contact_name"] for i in items] == [name], items
