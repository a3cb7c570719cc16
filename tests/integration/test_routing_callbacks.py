"""Call-backs on the carrier routing: the customer's leg of a missed-call call-back leaves on the
router's trunk, fails over to the next trunk within the same call-back when the trunk answers 503,
never when the customer is busy, and the trunk report counts every attempt (the refused one too).

Runs on the routing plan and service of test_routing.py (its fixtures, imported). A missed call is
made by calling the mobile hunt line and hanging up while it rings.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from urllib.parse import quote


from ivr.testing.world import Behaviour, World
from test_missed import item_of
from test_routing import routing, trunk_row, var_dir, wait_incoming  # noqa: F401  (fixtures)
from waits import wait_until

HUNT_LINE = "+74951110001"      # rings a driver's mobile: the customer hangs up meanwhile
STAFF = "101"


async def missed_item(service, world: World, customer: str) -> dict:
    """An open missed-call item of `customer`: a call to the hunt line abandoned while ringing."""
    caller = await world.call(HUNT_LINE, customer)
    await asyncio.wait_for(caller.answered.wait(), 10)
    await asyncio.sleep(3.5)                     # longer than the plan's short_call_seconds
    await world.hangup(caller)
    await asyncio.wait_for(caller.ended.wait(), 10)
    item = await item_of(service, customer, status="open")
    world.incoming.clear()                       # from here on: the call-back's legs only
    return item


async def call_back(service, item: dict) -> None:
    status, answer = await service.post(f"/api/missed/{item['id']}/callback", {"staff": STAFF})
    assert status == 202, answer


async def callback_events(service, item: dict) -> list[dict]:
    events = (await service.get(f"/api/missed/{item['id']}"))["events"]
    return [e for e in events if e["kind"] == "callback"]


async def test_a_callback_reaches_the_customer_over_the_next_trunk_and_the_report_counts_both(routing, world):
    customer = "+79261234591"                    # MegaFon's: megafon first, then tele2
    item = await missed_item(routing, world, customer)
    world.behaviours[STAFF] = Behaviour("answer", after=0.3)
    world.behaviours[f"{customer}@megafon"] = Behaviour("reject")          # the gateway: 503
    world.behaviours[customer] = Behaviour("answer", after=0.3, hangup_after=10.5)
    since = datetime.now(timezone.utc).replace(microsecond=0)
    await call_back(routing, item)

    staff, *legs = await wait_incoming(world, 3)
    assert staff.target == STAFF
    assert [(leg.target, leg.via) for leg in legs] == [(customer, "megafon"), (customer, "tele2")]
    await asyncio.wait_for(legs[1].answered.wait(), 10)
    closed = await item_of(routing, customer, status="closed")       # within the same call-back
    assert (closed["close_reason"], closed["closed_by"]) == ("called_back", STAFF)
    assert len(world.incoming) == 3
    assert [e["kind"] for e in closed["events"]].count("callback_started") == 1       # one call-back

    async def counted() -> dict | None:
        report = await routing.get(f"/api/reports/trunks?since={quote(since.isoformat())}")
        return report if trunk_row(report, "tele2")["answered"] else None
    report = await wait_until(counted, 10, "the call-back in the trunk report")
    megafon, tele2 = trunk_row(report, "megafon"), trunk_row(report, "tele2")
    assert (megafon["calls"], megafon["answered"], megafon["minutes"]) == (1, 0, 0.0)      # the 503
    assert (tele2["calls"], tele2["answered"]) == (1, 1) and tele2["minutes"] >= 9.5 / 60
    assert [r["trunk"] for r in report["trunks"]] == ["megafon", "tele2"]


async def test_a_busy_customer_is_not_called_again_on_another_trunk(routing, world):
    customer = "+79261234592"
    item = await missed_item(routing, world, customer)
    world.behaviours[STAFF] = Behaviour("answer", after=0.3)
    world.behaviours[customer] = Behaviour("busy", after=0.2)
    await call_back(routing, item)

    (attempt,) = await wait_until(lambda: callback_events(routing, item), 20, "the busy call-back on the item")
    assert attempt["data"]["result"] == "busy"
    await asyncio.sleep(1.0)                     # a wrong failover would show up here
    assert [(leg.target, leg.via) for leg in world.incoming[1:]] == [(customer, "megafon")]
    assert (await routing.get(f"/api/missed/{item['id']}"))["status"] == "open"
