"""Carrier-aware outbound routing on real SIP: staff phones of the world dial out through the PBX's
[from-staff] AGI, and the world tells which operator's network (which address) each INVITE reached.

The plan is tests/integration/plans/routing.yaml: a trunk per mobile carrier on its own address
(megafon .12, mts .13, beeline .14, tele2 .15) plus the default trunk (.11). The service runs it with
its own database and var dir, where the shipped sample registry is imported (it knows MTS's 916,
which phonenumbers does not).
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from conftest import NET, PBX_IP, PLANS, WORLD_IP, plan_text
from ivr.asterisk.render import WorldLayout, render_world
from ivr.config import ROOT
from ivr.plan.loader import load_plan
from ivr.testing.world import Behaviour, Leg, World

MEGAFON, MTS, BEELINE, TELE2 = "+79261234567", "+79161234567", "+79031234567", "+79501234567"
LANDLINE = "+74957654321"
ABROAD = "+493012345678"


def national(e164: str) -> str:
    """As a person dials it: 8 and ten digits."""
    return "8" + e164[2:]


def ivr_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ivr.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.fixture(scope="session")
def var_dir(stack_dir):
    # The service writes var/admin-password on a fresh database before it makes var/.
    (stack_dir / "var").mkdir(exist_ok=True)


@pytest.fixture
async def routing(var_dir, service_process, base_env, world, pbx, settings, stack_dir):
    """The service on the routing plan, the world playing each carrier's network on its address."""
    plan_path = stack_dir / "routing.yaml"
    plan_path.write_text(plan_text("routing.yaml"), encoding="utf-8")
    plan = load_plan(plan_path, secrets_path=PLANS / "secrets.yaml")
    if render_world(settings, plan, WorldLayout(WORLD_IP, 8088, PBX_IP, 5060), world.instance):
        world.instance.cli("module reload res_pjsip.so")
    world.carriers.update({t.host.split(":")[0]: name for name, t in plan.trunks.items()})
    var = stack_dir / "var-routing"
    wanted = {"IVR_PLAN_FILE": str(plan_path), "IVR_VAR_DIR": str(var),
              "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{stack_dir}/routing.db"}
    if service_process.proc is None or service_process.proc.poll() is not None \
            or service_process.current != wanted:
        var.mkdir(exist_ok=True)
        env = {**base_env, **wanted}
        imported = ivr_cli(env, "numbering", "import", str(ROOT / "config/numbering/sample-DEF-9xx.csv"))
        assert imported.returncode == 0, imported.stderr
        service_process.stop()
        service_process.start(**wanted)
        await service_process.wait_ready()
        # The service rendered the PBX's trunks and dialplan before ARI was up: load them now.
        for command in ("module reload res_pjsip.so", "dialplan reload", "module reload cdr_csv.so"):
            pbx.cli(command)
    service_process.env_routing = {**base_env, **wanted}
    world.reset()
    await asyncio.sleep(1.0)      # the previous test's reservations on the router run out
    return service_process


async def dial_from_phone(world: World, phone: str, dialled: str) -> Leg:
    """Staff phone `phone` dials `dialled` (as typed) through the PBX."""
    return await world.dial_from_phone(phone, dialled)


async def wait_incoming(world: World, count: int, timeout: float = 15) -> list[Leg]:
    async def enough() -> None:
        while len(world.incoming) < count:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(enough(), timeout)
    return world.incoming[:count]


async def finish(world: World, *legs: Leg) -> None:
    for leg in legs:
        await world.hangup(leg)
        await asyncio.wait_for(leg.ended.wait(), 10)


@pytest.mark.parametrize("number,carrier", [(MEGAFON, "megafon"), (MTS, "mts"), (BEELINE, "beeline"),
                                            (TELE2, "tele2"), (LANDLINE, "default")])
async def test_a_number_leaves_on_its_carriers_trunk(routing, world, number, carrier):
    world.behaviours[number] = Behaviour("answer", after=0.2, hangup_after=0.5)
    phone = await dial_from_phone(world, "101", national(number))
    [leg] = await wait_incoming(world, 1)
    assert (leg.target, leg.via) == (number, carrier)
    await asyncio.wait_for(phone.ended.wait(), 10)
    assert leg.answered_at is not None


async def test_world_tells_every_carrier_by_its_address(routing, world):
    assert sorted(world.carriers.values()) == ["beeline", "default", "megafon", "mts", "tele2"]
    assert set(world.carriers) == {f"{NET}.{n}" for n in range(11, 16)}


async def test_route_api_answers_with_the_issue_keys(routing):
    body = await routing.get(f"/api/route?number={national(TELE2)}")
    assert list(body) == ["number", "carrier", "carrier_source", "operator", "region", "timezone",
                          "candidates", "trunk"]
    assert (body["number"], body["carrier"], body["trunk"]) == (TELE2, "tele2", "tele2")
    assert [c["trunk"] for c in body["candidates"]] == ["tele2", "megafon", "mts", "beeline", "default"]


async def test_a_ported_number_follows_its_override(routing, world):
    ported = "+79261234599"                      # MegaFon's range, now an MTS subscriber
    done = ivr_cli(routing.env_routing, "numbering", "port", ported, "mts")
    assert done.returncode == 0, done.stderr
    world.behaviours[ported] = Behaviour("answer", after=0.2, hangup_after=0.5)
    phone = await dial_from_phone(world, "101", national(ported))
    [leg] = await wait_incoming(world, 1)
    assert (leg.target, leg.via) == (ported, "mts")
    await asyncio.wait_for(phone.ended.wait(), 10)


async def test_a_full_trunk_sends_the_next_call_to_the_next_cheapest(routing, world):
    second = "+79161234568"
    world.behaviours[MTS] = Behaviour("answer", after=0.2)          # holds the mts trunk's one channel
    world.behaviours[second] = Behaviour("answer", after=0.2, hangup_after=0.5)
    held = await dial_from_phone(world, "101", national(MTS))
    [first] = await wait_incoming(world, 1)
    await asyncio.wait_for(first.answered.wait(), 10)
    # `ivr route` asks the running service, so it sees the held channel too.
    shown = ivr_cli(routing.env_routing, "route", national(second), "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"trunk": "tele2"' in shown.stdout, shown.stdout
    phone = await dial_from_phone(world, "102", national(second))
    [_, leg] = await wait_incoming(world, 2)
    assert (first.via, leg.via) == ("mts", "tele2")              # tele2 1.80 < megafon 1.90 < default 2.40
    await asyncio.wait_for(phone.ended.wait(), 10)
    await finish(world, held)


async def test_a_trunk_answering_503_is_skipped_within_the_call(routing, world):
    number = "+79261234570"
    world.behaviours[f"{number}@megafon"] = Behaviour("reject")     # the gateway: all circuits busy
    world.behaviours[number] = Behaviour("answer", after=0.2, hangup_after=0.5)
    phone = await dial_from_phone(world, "101", national(number))
    legs = await wait_incoming(world, 2)
    assert [(leg.via, leg.target) for leg in legs] == [("megafon", number), ("tele2", number)]
    await asyncio.wait_for(legs[1].answered.wait(), 10)
    await asyncio.wait_for(phone.ended.wait(), 10)
    assert phone.answered_at is not None


async def test_a_hunt_member_behind_a_503_trunk_is_reached_via_the_next(routing, world):
    number = "+79261234580"
    world.behaviours[f"{number}@megafon"] = Behaviour("reject")     # the gateway: all circuits busy
    world.behaviours[number] = Behaviour("answer", after=0.2, hangup_after=0.5)
    before = await routing.get("/api/reports/trunks")
    caller = await world.call("+74951110001", "+79031112233")
    legs = await wait_incoming(world, 2)
    assert [(leg.via, leg.target) for leg in legs] == [("megafon", number), ("tele2", number)]
    await asyncio.wait_for(legs[1].answered.wait(), 10)
    await asyncio.wait_for(caller.ended.wait(), 15)
    assert len(world.incoming) == 2
    # the trunk report counts the service's own legs too (Asterisk writes no record of the refused one)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = await routing.get("/api/reports/trunks")
        if trunk_row(after, "tele2")["calls"] > trunk_row(before, "tele2")["calls"]:
            break
        await asyncio.sleep(0.3)
    assert trunk_row(after, "tele2")["calls"] == trunk_row(before, "tele2")["calls"] + 1
    assert trunk_row(after, "tele2")["answered"] == trunk_row(before, "tele2")["answered"] + 1
    assert trunk_row(after, "default")["calls"] == trunk_row(before, "default")["calls"]   # inbound: not one


def trunk_row(report: dict, trunk: str) -> dict:
    return next((r for r in report["trunks"] if r["trunk"] == trunk), {"calls": 0, "answered": 0, "minutes": 0.0})


async def test_a_busy_callee_is_reported_busy_and_not_sent_again(routing, world):
    number = "+79031234571"
    world.behaviours[number] = Behaviour("busy", after=0.2)
    phone = await dial_from_phone(world, "101", national(number))
    await asyncio.wait_for(phone.ended.wait(), 10)
    await asyncio.sleep(1.0)                     # a wrong failover would show up here
    assert [(leg.via, leg.target) for leg in world.incoming] == [("beeline", number)]
    assert phone.answered_at is None


async def test_international_needs_the_right(routing, world):
    world.behaviours[ABROAD] = Behaviour("answer", after=0.2, hangup_after=0.5)
    refused = await dial_from_phone(world, "101", ABROAD)
    await asyncio.wait_for(refused.ended.wait(), 15)
    assert world.incoming == [] and refused.answered_at is None
    allowed = await dial_from_phone(world, "102", ABROAD)
    [leg] = await wait_incoming(world, 1)
    assert (leg.target, leg.via) == (ABROAD, "default")
    await asyncio.wait_for(allowed.ended.wait(), 10)


@pytest.mark.parametrize("dialled", ["8916123&4567", "8916,1234567", "8916ABC4567"])
async def test_a_number_with_odd_characters_is_refused(routing, world, dialled):
    phone = await dial_from_phone(world, "101", dialled)
    await asyncio.wait_for(phone.ended.wait(), 15)
    assert world.incoming == [] and phone.answered_at is None


async def test_phone_rate_limit(routing, world):
    world.behaviours[TELE2] = Behaviour("busy")
    for _ in range(3):                           # 103 may place 3 outside calls an hour
        phone = await dial_from_phone(world, "103", national(TELE2))
        await asyncio.wait_for(phone.ended.wait(), 10)
    assert len(world.incoming) == 3
    phone = await dial_from_phone(world, "103", national(TELE2))
    await asyncio.wait_for(phone.ended.wait(), 10)
    assert len(world.incoming) == 3


async def test_report_counts_calls_per_trunk(routing, world):
    world.behaviours[MEGAFON] = Behaviour("answer", after=0.2, hangup_after=2.0)
    before = await routing.get("/api/reports/trunks")
    phone = await dial_from_phone(world, "101", national(MEGAFON))
    await asyncio.wait_for(phone.ended.wait(), 10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = await routing.get("/api/reports/trunks")
        if after != before:
            break
        await asyncio.sleep(0.3)

    def megafon(report: dict) -> dict:
        return next((r for r in report["trunks"] if r["trunk"] == "megafon"),
                    {"calls": 0, "answered": 0, "minutes": 0.0})
    assert megafon(after)["calls"] == megafon(before)["calls"] + 1
    assert megafon(after)["minutes"] >= megafon(before)["minutes"] + 1.5 / 60
    assert after["saving"] > before["saving"]             # on-net 0.00 instead of the default's 2.40
