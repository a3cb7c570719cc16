"""On-duty rosters on real SIP: the office plan's night hunt names `roster:night`, whose duty
person changes at midnight. The service's clock starts seconds before midnight (IVR_CLOCK), so the
switch happens during the test: the call before it rings 101, the one after 103. A change for a
day from the CLI (`ivr roster set`) rings that person instead; the API puts it back.
The plan is tests/integration/plans/office.yaml."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from conftest import ROOT
from ivr.testing.world import Behaviour, World
from test_missed import mailbox  # noqa: F401 (a fixture: the office service mails voicemail)
from test_voicemail import office_service

NIGHT = "+74951110210"
BEFORE_MIDNIGHT = 30.0            # seconds of Wednesday left when the service starts
WEDNESDAY_NIGHT = datetime.fromisoformat("2026-11-25T23:59:00+03:00") + timedelta(seconds=60 - BEFORE_MIDNIGHT)


@pytest.fixture
async def night_service(service_process, stack_dir, mailbox):  # noqa: F811 (the imported fixture)
    service = await office_service(service_process, stack_dir, mailbox, IVR_CLOCK=WEDNESDAY_NIGHT.isoformat())
    now = datetime.fromisoformat((await service.get("/status"))["now"])
    left = (datetime.fromisoformat("2026-11-26T00:00:00+03:00") - now).total_seconds()
    assert left > 4, f"the service took too long to start: {left:.1f} s of Wednesday left"
    service.midnight = time.monotonic() + left              # the service's midnight, on our clock
    return service


async def rung_for(world: World, caller: str) -> list[str]:
    """Who the night line rang for one call (each answers, then hangs up)."""
    world.reset()
    for ext in ("101", "102", "103"):
        world.behaviours[ext] = Behaviour("answer", after=0.3, hangup_after=0.5)
    leg = await world.call(NIGHT, caller)
    await asyncio.wait_for(leg.ended.wait(), 15)
    return [p.target for p in world.incoming]


async def ivr(service, *args: str) -> str:
    """`ivr ARGS` against the service's database, on the service's clock."""
    now = (await service.get("/status"))["now"]
    env = {**os.environ, **service.env, **service.current, "PYTHONPATH": str(ROOT), "IVR_CLOCK": now}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "ivr.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_night_duty_changes_at_midnight_and_by_hand(night_service, world):
    assert await rung_for(world, "+79163000601") == ["101"]             # Wednesday: 101's night
    record = await night_service.call_record("+79163000601")
    on_duty = [s["data"] for s in record["steps"] if s["kind"] == "on_duty"]
    assert on_duty == [{"roster": "night", "person": "101", "why": "rotation"}], record["steps"]

    await asyncio.sleep(max(0.0, night_service.midnight + 1.0 - time.monotonic()))
    assert await rung_for(world, "+79163000602") == ["103"]             # past midnight: Thursday, 103
    status = (await night_service.get("/api/rosters"))["rosters"]
    assert status[0]["now"] == {"roster": "night", "day": "2026-11-26", "extension": "103", "why": "rotation",
                                "name": "Manager", "changed_by": ""}, status

    # 103 is ill: the CLI puts 102 on tonight's duty; the next call rings 102.
    out = await ivr(night_service, "roster", "set", "night", "2026-11-26", "102")
    assert "102 Administrator" in out and "override" in out, out
    assert await rung_for(world, "+79163000603") == ["102"]
    assert "night: on duty now 102 Administrator (override" in await ivr(night_service, "roster")

    # The API puts the day back to the plan; a bad extension is refused with its name.
    status, duty = await night_service.post("/api/rosters/night/2026-11-26", {"extension": ""})
    assert status == 200 and (duty["extension"], duty["why"]) == ("103", "rotation"), duty
    status, error = await night_service.post("/api/rosters/night/2026-11-26", {"extension": "999"})
    assert status == 400 and "999" in error["message"], error
    status, error = await night_service.post("/api/rosters/nights/2026-11-26", {"extension": "101"})
    assert status == 404 and "nights" in error["message"], error
    assert await rung_for(world, "+79163000604") == ["103"]
    status, page = await night_service.request("GET", "/rosters")
    assert status == 200 and 'data-roster="night"' in page, page[:500]
    assert "Сейчас дежурит:" in page and "103 Manager" in page and "очерёдность" in page
