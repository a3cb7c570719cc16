"""Do-not-disturb on real SIP: *78 and *79 from a staff phone, the API, and hunts that skip a DND
phone at once (no INVITE, no ring time). The plan is tests/integration/plans/staff.yaml."""
from __future__ import annotations

import asyncio

from conftest import heard
from ivr.testing.world import Behaviour, World
from test_transfer import incoming, staff_plan, steps  # noqa: F401 (staff_plan is a fixture)

EVERYONE = "+74951110201"


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
