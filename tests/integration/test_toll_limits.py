"""The toll-fraud guard on real SIP: the plan's daily campaign limit lets exactly the allowed calls
out, pauses the campaign at 100 %, queues the alert mails and writes the audit log."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from test_campaign import service_now
from test_security import ivr
from ivr.campaigns.limits import day_start, usage_since
from ivr.campaigns.model import Passenger
from ivr.campaigns.service import create_campaign
from ivr.testing.world import Behaviour

BOSS = "boss@test.example"


async def apply_plan(service, base_env, path) -> None:
    before = (await service.get("/status"))["plan_version"]
    ivr(base_env, "plan", "apply", str(path))
    deadline = time.monotonic() + 15
    while (await service.get("/status"))["plan_version"] == before:
        assert time.monotonic() < deadline, "the service never took the new plan"
        await asyncio.sleep(0.3)


async def test_the_daily_limit_stops_a_campaign(service, world, campaigns, plan, stack_dir, base_env):
    store, profiles = campaigns
    world.reset()
    numbers = [f"+7916100020{i}" for i in range(1, 5)]
    for number in numbers:
        world.behaviours[number] = Behaviour("answer", after=0.3, press="1", press_after=1.0)
    # Earlier tests of this session called today too: the limit leaves room for two more calls.
    used = await usage_since(store.db, day_start(service_now(), plan.timezone))
    limited = stack_dir / "limited.yaml"
    limited.write_text((stack_dir / "ivr.yaml").read_text(encoding="utf-8")
                       + f"limits: {{campaigns: {{calls_per_day: {used.calls + 2}}}, alert_to: [{BOSS}]}}\n",
                       encoding="utf-8")
    await apply_plan(service, base_env, limited)
    try:
        departure = service_now() + timedelta(hours=5)
        people = [Passenger(name=f"P{i}", phone=n, trip_id="T9", departure=departure, seat=str(i))
                  for i, n in enumerate(numbers)]
        campaign, _ = await create_campaign(store, "limited", profiles["confirm"], plan, people, service_now())
        await store.change(campaign.id, "start", service_now())
        deadline = time.monotonic() + 60
        while (await store.get(campaign.id)).status != "paused":
            assert time.monotonic() < deadline, await store.counts(campaign.id)
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)                                   # nothing more goes out
        attempts = await store.attempts(campaign.id)
        assert len(attempts) == 2 and len({leg.target for leg in world.incoming}) == 2
        assert sorted(r.status for r in await store.rows(campaign.id)).count("ready") == 2
        outbox = (await service.get("/api/notifications/outbox"))["messages"]
        keys = {m["key"] for m in outbox if m["target"] == BOSS}
        day = day_start(service_now(), plan.timezone).date().isoformat()
        assert {f"limit:{day}:alert:{BOSS}", f"limit:{day}:stop:{BOSS}"} <= keys, keys
        assert "limit.stop" in ivr(base_env, "audit", "--action", "limit.stop")
    finally:
        await apply_plan(service, base_env, stack_dir / "ivr.yaml")
        await store.change(campaign.id, "cancel", service_now())
