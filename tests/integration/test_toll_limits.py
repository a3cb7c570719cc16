"""The toll-fraud guard on real SIP: the plan's daily campaign limit lets exactly the allowed calls
out, pauses the campaign at 100 %, queues the alert mails and writes the audit log; a staff phone's
daily limit lets its allowed outside calls through the world carrier and refuses the next."""
from __future__ import annotations

import asyncio
import time

from test_campaign import campaigns, passengers, service_now, var_dir  # noqa: F401 - fixtures used here
from test_security import ivr
from ivr.campaigns.limits import day_start, usage_since
from ivr.clock import utc_now
from ivr.store import open_database
from ivr.routing.report import cdr_path, read_day_use
from ivr.testing.world import Behaviour

BOSS = "boss@test.example"
GUARD = "guard@test.example"


async def apply_plan(service, base_env, path) -> None:
    before = (await service.get("/status"))["plan_version"]
    ivr(base_env, "plan", "apply", str(path))
    deadline = time.monotonic() + 15
    while (await service.get("/status"))["plan_version"] == before:
        assert time.monotonic() < deadline, "the service never took the new plan"
        await asyncio.sleep(0.3)


async def wait_status(service, campaign_id: int, status: str) -> dict:
    deadline = time.monotonic() + 60
    while (shown := await service.get(f"/api/campaigns/{campaign_id}"))["campaign"]["status"] != status:
        assert time.monotonic() < deadline, shown["counts"]
        await asyncio.sleep(0.5)
    return shown


async def draft(service, name: str, numbers: list[str]) -> int:
    answer = await service.post_ok("/api/campaigns", {"name": name, "profile": "confirm",
                                                      "rows": passengers(numbers, "T9")})
    return answer["campaign"]["id"]


async def test_the_daily_limit_alerts_at_80_and_stops_a_campaign_at_100(service, world, campaigns, plan,
                                                                      stack_dir, base_env):
    world.reset()
    first, second = [f"+7916100020{i}" for i in range(1, 5)], ["+79161000211", "+79161000212"]
    for number in first + second:
        world.behaviours[number] = Behaviour("answer", after=0.3, press="1", press_after=1.0)
    # Earlier tests of this session called today too: the limit leaves room for five more calls.
    db = await open_database(base_env["IVR_DATABASE_URL"])      # read only: what the day used so far
    try:
        used = await usage_since(db, day_start(service_now(), plan.timezone))
    finally:
        await db.close()
    limited = stack_dir / "limited.yaml"
    limited.write_text((stack_dir / "ivr.yaml").read_text(encoding="utf-8")
                       + f"limits: {{campaigns: {{calls_per_day: {used.calls + 5}}}, alert_to: [{BOSS}]}}\n",
                       encoding="utf-8")
    day = day_start(service_now(), plan.timezone).date().isoformat()
    a, b = await draft(service, "limited-a", first), await draft(service, "limited-b", second)
    await apply_plan(service, base_env, limited)
    try:
        # Four calls: 80 % of the day's limit, an alert; the campaign ends normally.
        await service.post_ok(f"/api/campaigns/{a}/start")
        await wait_status(service, a, "done")
        assert await mail_keys(service) == {f"limit:{day}:alert:{BOSS}"}
        # The fifth call is the last: the next campaign makes one and is paused.
        await service.post_ok(f"/api/campaigns/{b}/start")
        await wait_status(service, b, "paused")
        await asyncio.sleep(3)                                   # nothing more goes out
        shown = await service.get(f"/api/campaigns/{b}")
        assert len(shown["attempts"]) == 1 and len(world.incoming) == 5
        assert [r["status"] for r in shown["rows"]].count("ready") == 1
        assert await mail_keys(service) == {f"limit:{day}:alert:{BOSS}", f"limit:{day}:stop:{BOSS}"}
        assert "limit.stop" in ivr(base_env, "audit", "--action", "limit.stop")
    finally:
        await apply_plan(service, base_env, stack_dir / "ivr.yaml")
        await service.post_ok(f"/api/campaigns/{b}/cancel")


async def mail_keys(service, to: str = BOSS) -> set[str]:
    return {m["key"] for m in (await service.get("/api/notifications/outbox"))["messages"] if m["target"] == to}


async def phone_calls_today(pbx, plan, phone: str, at_least: int = 0) -> int:
    """Phone's outside calls today in Asterisk's call records (written as each call ends)."""
    deadline = time.monotonic() + 10
    while True:
        use = read_day_use(cdr_path(pbx), day_start(utc_now(), plan.timezone)).phones.get(phone)
        calls = use.calls if use else 0
        if calls >= at_least or time.monotonic() > deadline:
            return calls
        await asyncio.sleep(0.3)


async def test_a_phone_over_its_daily_limit_is_refused(service, world, plan, pbx, stack_dir, base_env):
    world.reset()
    callee = "+79161000301"
    world.behaviours[callee] = Behaviour("answer", after=0.3, hangup_after=1.0)
    # Earlier tests of this session may have called out from 103 today: two calls are left.
    used = await phone_calls_today(pbx, plan, "103")
    limited = stack_dir / "phone-limited.yaml"
    limited.write_text((stack_dir / "ivr.yaml").read_text(encoding="utf-8")
                       + f'limits: {{phones: {{extensions: {{"103": {{calls_per_day: {used + 2}}}}}}}, '
                         f"alert_to: [{GUARD}]}}\n", encoding="utf-8")
    day = day_start(utc_now(), plan.timezone).date().isoformat()
    await apply_plan(service, base_env, limited)
    try:
        for n in (1, 2):
            phone = await world.dial_from_phone("103", "8" + callee[2:])
            await asyncio.wait_for(phone.ended.wait(), 20)
            assert phone.answered_at is not None and len(world.incoming) == n
            assert await phone_calls_today(pbx, plan, "103", used + n) == used + n
        refused = await world.dial_from_phone("103", "8" + callee[2:])
        await asyncio.wait_for(refused.ended.wait(), 20)
        assert len(world.incoming) == 2 and refused.answered_at is None
        # The phone heard the refusal prompt (ss-noservice, about 4 s), for the reason the service gave.
        assert refused.ended_at - refused.invited_at > 2.0
        assert "phone 103 reached its daily limit" in (pbx.root / "log" / "console.log").read_text(errors="replace")
        assert f"limit:{day}:phone:103:stop:{GUARD}" in await mail_keys(service, GUARD)
        assert "phone 103" in ivr(base_env, "audit", "--action", "limit.stop")
    finally:
        await apply_plan(service, base_env, stack_dir / "ivr.yaml")
