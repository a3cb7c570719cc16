"""`make demo`'s scripted callers against the test stack: in office hours and at night, never a
traceback, and every caller's call is in the call log."""
from __future__ import annotations

import importlib.util

import pytest

from ivr.config import ROOT

NIGHT = "2026-11-29T23:10:00+03:00"      # a Sunday night: the office is closed


def demo_module():
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def built_in_profiles(stack_dir):
    """The demo's campaign uses the built-in `confirm` profile, as a fresh `make run` has it: other
    modules leave their own campaigns.yaml beside the stack's plan, so it is set aside meanwhile."""
    path = stack_dir / "campaigns.yaml"
    kept = path.read_bytes() if path.exists() else None
    path.unlink(missing_ok=True)
    yield
    if kept is not None:
        path.write_bytes(kept)


async def run_demo(service, world, plan) -> tuple[list[str], list[str]]:
    world.reset()
    said: list[str] = []
    demo = demo_module()
    # The demo's own API client, with the admin token the harness uses (the demo reads var/cli-token)
    callers = await demo.Demo(world, demo.Api(service.url, service.headers), plan, said.append).run()
    print("\n".join(said))
    return callers, said


async def in_call_log(service, callers: list[str]) -> None:
    logged = {c["caller"] for c in (await service.get("/api/calls?limit=500"))["calls"]}
    assert set(callers) <= logged, set(callers) - logged


async def test_demo_in_office_hours(service, world, plan):
    callers, said = await run_demo(service, world, plan)
    text = "\n".join(said)
    assert "the office is open" in said[0], text
    assert "answered by 101" in text, text                 # the menu's hunt
    assert "missed-call list: item #" in text, text
    assert "campaign #" in text and "trunk default" in text, text
    assert "another branch" not in text, text
    await in_call_log(service, callers)


async def test_demo_at_night_goes_on_through_the_closed_branch(service_process, world, plan):
    service_process.stop()
    service_process.start(IVR_CLOCK=NIGHT)
    await service_process.wait_ready()
    try:
        callers, said = await run_demo(service_process, world, plan)
        await in_call_log(service_process, callers)
    finally:
        service_process.stop()        # the next test's `service` starts it again on the usual clock
    text = "\n".join(said)
    assert "the office is closed" in said[0], text
    assert "make stop && make demo" in text, text


def test_demo_clock_is_a_working_day(plan):
    from datetime import datetime
    demo = demo_module()
    sunday = datetime.fromisoformat(NIGHT)
    clock = demo.demo_clock(plan, "+74951110000", sunday)
    assert clock.isoformat() == "2026-11-28T11:00:00+03:00"   # Saturday 10:00-15:00 is open
