"""Queues on real SIP: callers wait with music, hear their place, are served in order by the
agents the queue offers them; VIPs first; max wait; paused agents; wrap-up; call-back.

The service runs tests/integration/plans/queue.yaml on its own database (queue.db), so agent
states and queue statistics start empty. Timings are compressed (see the plan's comments).
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from conftest import heard, plan_text
from waits import wait_until
from ivr.config import ROOT
from ivr.testing.world import Behaviour, Leg, World

LINE, SHORT, TEAM, CALLBACK, LEAVE = "+74951110000", "+74951110001", "+74951110002", "+74951110003", \
    "+74951110004"
VIP = "+79169990000"


def queue_env(stack_dir) -> dict[str, str]:
    return {"IVR_PLAN_FILE": str(stack_dir / "queue.yaml"),
            "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{stack_dir}/queue.db"}


@pytest.fixture(scope="session", autouse=True)
def var_dir(stack_dir):
    # The service writes its first admin password under var/ at start.
    (stack_dir / "var").mkdir(exist_ok=True)


@pytest.fixture
async def queue_service(service_process, stack_dir):
    """The service on the queue plan (restarted onto it when another test changed it)."""
    env = queue_env(stack_dir)
    if service_process.proc is None or service_process.proc.poll() is not None \
            or service_process.current != env:
        (stack_dir / "queue.yaml").write_text(plan_text("queue.yaml"), encoding="utf-8")
        service_process.stop()
        service_process.start(**env)
        await service_process.wait_ready()
    return service_process


CLI = "import sys; from ivr import cli; sys.exit(cli.main())"


def ivr_cli(service, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **service.env, **service.current}
    return subprocess.run([sys.executable, "-c", CLI, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def steps(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s["data"] for s in record["steps"] if s["kind"] == kind]


def path(record: dict[str, Any]) -> list[str]:
    return [s["node"] for s in record["steps"] if s["kind"] == "enter"]


async def answered_call(world: World, number: str, caller: str) -> Leg:
    leg = await world.call(number, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    return leg


async def waiting(service) -> list[str]:
    """The callers waiting in any queue's line now (GET /api/queues)."""
    return [w["caller"] for q in (await service.get("/api/queues"))["queues"] for w in q["waiting"]]


async def in_line(service, caller: str) -> None:
    async def joined() -> bool:
        return caller in await waiting(service)
    await wait_until(joined, 10, f"{caller} in the line")


def agent_legs(world: World, ext: str) -> list[Leg]:
    return [leg for leg in world.incoming if leg.target == ext]


async def test_three_callers_one_agent_served_in_order_with_wrapup(queue_service, world, prompts):
    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=2.0)
    callers = ["+79161200001", "+79161200002", "+79161200003"]
    legs = [await answered_call(world, LINE, callers[0])]

    async def first_served() -> bool:
        answered = agent_legs(world, "101") and agent_legs(world, "101")[0].answered_at
        return bool(answered) and callers[0] not in await waiting(queue_service)
    await wait_until(first_served, 10, "the agent to take the first caller")
    for caller in callers[1:]:
        legs.append(await answered_call(world, LINE, caller))
        await in_line(queue_service, caller)                  # the next one comes after it
    for leg in legs:
        await asyncio.wait_for(leg.ended.wait(), 40)

    records = [await queue_service.call_record(c) for c in callers]
    assert [r["outcome"] for r in records] == ["answered"] * 3, [r["outcome"] for r in records]
    assert [r["answered_by"] for r in records] == ["101"] * 3
    answered_at = [r["answered_at"] for r in records]
    assert answered_at == sorted(answered_at), answered_at        # first come, first served
    # Seen from the agent's phone: three calls, each after the 2 s wrap-up of the one before.
    rings = agent_legs(world, "101")
    assert len(rings) == 3, [leg.target for leg in world.incoming]
    for before, after in zip(rings, rings[1:]):
        assert after.invited_at - before.ended_at >= 2.0 - 0.2, (before.ended_at, after.invited_at)
        assert after.invited_at - before.ended_at < 2.0 + 1.5
    # The second and third callers heard their place in line; position 2 on entry for the third.
    announced = steps(records[2], "announce")
    assert announced and announced[0]["position"] == 2, announced
    for leg in legs[1:]:
        assert "ru/queue-position" in heard(await world.wait_recording(leg), prompts)
    assert [d["position"] for d in steps(records[0], "queued")] == [1]


async def test_vip_caller_goes_ahead_of_the_line(queue_service, world):
    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=3.0)
    first = await answered_call(world, LINE, "+79161200011")       # the agent takes this one
    await wait_until(lambda: agent_legs(world, "101") and agent_legs(world, "101")[0].answered_at, 10,
                     "the agent to answer the first caller")
    plain = await answered_call(world, LINE, "+79161200012")
    await in_line(queue_service, "+79161200012")
    vip = await answered_call(world, LINE, VIP)
    for leg in (first, plain, vip):
        await asyncio.wait_for(leg.ended.wait(), 40)

    plain_record = await queue_service.call_record("+79161200012")
    vip_record = await queue_service.call_record(VIP)
    assert vip_record["outcome"] == "answered" and plain_record["outcome"] == "answered"
    assert vip_record["answered_at"] < plain_record["answered_at"]
    assert steps(vip_record, "queued") == [{"position": 1, "vip": True}]
    assert steps(plain_record, "queued") == [{"position": 1, "vip": False}]


async def test_max_wait_moves_the_caller_on(queue_service, world, prompts):
    world.reset()
    world.behaviours["103"] = Behaviour("busy")                     # the only agent cannot answer
    caller = "+79161200021"
    leg = await answered_call(world, SHORT, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)

    record = await queue_service.call_record(caller)
    assert path(record) == ["short_wait", "all_busy", "goodbye"], path(record)
    left = steps(record, "left_queue")
    assert [d["reason"] for d in left] == ["timeout"]
    assert 3.0 - 0.2 <= left[0]["waited_seconds"] <= 3.0 + 1.0, left
    # 103 was tried once, then skipped (30 s): not rung again during the wait.
    assert len(agent_legs(world, "103")) == 1
    names = heard(await world.wait_recording(leg), prompts)
    assert names[-2:] == ["ru/all-busy", "ru/goodbye"], names


async def test_leave_digit_takes_the_caller_out_of_the_line(queue_service, world, prompts):
    world.reset()
    world.behaviours["103"] = Behaviour("busy")
    caller = "+79161200071"
    leg = await answered_call(world, LEAVE, caller)
    await asyncio.sleep(1.5)                        # waits in the line a while (its waited_seconds)
    await world.press(leg, "0")
    await asyncio.wait_for(leg.ended.wait(), 15)
    record = await queue_service.call_record(caller)
    assert path(record) == ["leave_line", "all_busy", "goodbye"], path(record)
    assert [d["reason"] for d in steps(record, "left_queue")] == ["left"]
    assert 1.0 <= steps(record, "left_queue")[0]["waited_seconds"] <= 3.0
    names = heard(await world.wait_recording(leg), prompts)
    assert names[-2:] == ["ru/all-busy", "ru/goodbye"], names


async def test_paused_agent_is_not_offered_and_the_pause_survives_a_restart(queue_service, world):
    queue_service.stop()
    result = ivr_cli(queue_service, "queues", "agent", "pause", "102", "--reason", "lunch")
    assert result.returncode == 0, result.stderr
    assert "agent 102: paused" in result.stdout and "service not running" in result.stdout
    queue_service.start(**queue_service.current)
    await queue_service.wait_ready()
    try:
        world.reset()
        world.behaviours["103"] = Behaviour("answer", after=0.5, hangup_after=1.0)
        world.behaviours["102"] = Behaviour("answer", after=0.2, hangup_after=1.0)
        caller = "+79161200031"
        leg = await answered_call(world, TEAM, caller)
        await asyncio.wait_for(leg.ended.wait(), 20)
        record = await queue_service.call_record(caller)
        assert record["answered_by"] == "103", record
        assert [p.target for p in world.incoming] == ["103"]          # ring-all, but 102 is paused
    finally:
        result = ivr_cli(queue_service, "queues", "agent", "unpause", "102")
        assert result.returncode == 0, result.stderr


async def test_api_and_cli_show_agents_and_statistics(queue_service, world):
    world.reset()
    world.behaviours["102"] = Behaviour("answer", after=0.3, hangup_after=1.5)
    world.behaviours["103"] = Behaviour("ignore")
    result = ivr_cli(queue_service, "queues", "agent", "pause", "103")
    assert result.returncode == 0 and "agent 103: paused" in result.stdout, result.stderr + result.stdout
    caller = "+79161200041"
    leg = await answered_call(world, TEAM, caller)
    await asyncio.wait_for(leg.ended.wait(), 20)
    await queue_service.call_record(caller)
    snapshot = await queue_service.get("/api/queues")
    team = next(q for q in snapshot["queues"] if q["id"] == "team")
    agents = {a["extension"]: a for a in team["agents"]}
    assert agents["103"]["status"] == "paused" and agents["102"]["logged_in"]
    assert team["stats"]["answered"] >= 1 and team["stats"]["agents"]["102"]["calls"] >= 1
    assert team["stats"]["agents"]["102"]["talk_seconds"] >= 1.0
    assert [p.target for p in world.incoming] == ["102"]
    result = ivr_cli(queue_service, "queues", "agent", "unpause", "103")
    assert result.returncode == 0, result.stderr
    result = ivr_cli(queue_service, "queues")
    assert result.returncode == 0, result.stderr
    assert "queue team (ringall)" in result.stdout and "agent    102" in result.stdout, result.stdout


async def test_no_agent_logged_in_sends_callers_to_then(queue_service, world):
    result = ivr_cli(queue_service, "queues", "agent", "logout", "103")
    assert result.returncode == 0, result.stderr
    try:
        world.reset()
        caller = "+79161200051"
        leg = await answered_call(world, SHORT, caller)
        await asyncio.wait_for(leg.ended.wait(), 20)
        record = await queue_service.call_record(caller)
        assert steps(record, "queue_refused") == [{"reason": "no_agents"}]
        assert path(record) == ["short_wait", "all_busy", "goodbye"]
        assert not world.incoming
    finally:
        ivr_cli(queue_service, "queues", "agent", "login", "103")


async def test_callback_keeps_the_place_and_bridges_agent_and_customer(queue_service, world, prompts):
    world.reset()
    customer = "+79161200061"
    # 101 first talks 12 s with another caller; the customer is busy at the first call-back attempt.
    world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=12.0)
    world.behaviours[customer] = Behaviour("busy")
    other = await answered_call(world, CALLBACK, "+79161200060")
    await wait_until(lambda: agent_legs(world, "101") and agent_legs(world, "101")[0].answered_at, 10,
                     "the agent to take the first caller")
    leg = await answered_call(world, CALLBACK, customer)
    await asyncio.sleep(2.0 + 3.5)                  # callback_after, then the offer prompt
    await world.press(leg, "1")
    await asyncio.wait_for(leg.ended.wait(), 15)    # confirmation, then the PBX hangs up
    names = heard(await world.wait_recording(leg), prompts)
    assert "ru/queue-callback-offer" in names and names[-1] == "ru/queue-callback-confirmed", names

    await asyncio.wait_for(other.ended.wait(), 15)
    # Busy at the first try; 2 s later the agent is rung again and the customer answers.
    await wait_until(lambda: len([p for p in world.incoming if p.target == customer]) >= 1, 20,
                     "the first call-back attempt")
    world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=7.0)
    world.behaviours[customer] = Behaviour("answer", after=0.5)
    await wait_until(lambda: len([p for p in world.incoming if p.target == customer]) >= 2, 20,
                     "the second call-back attempt")
    back = [p for p in world.incoming if p.target == customer][1]
    await asyncio.wait_for(back.answered.wait(), 10)
    assert back.via == "default"                      # over the default trunk's carrier
    await asyncio.wait_for(back.ended.wait(), 15)     # the agent hangs up, the customer is hung up

    record = await queue_service.call_record(customer)
    assert record["outcome"] == "queue_callback", record
    kinds = [s["kind"] for s in record["steps"] if s["kind"].startswith("callback")]
    assert kinds == ["callback_offered", "callback_requested", "callback_agent_answered", "callback_dial",
                     "callback_result", "callback_agent_answered", "callback_dial", "callback_connected",
                     "callback_ended"], kinds
    assert steps(record, "callback_result") == [{"result": "busy", "attempt": 1}]
    names = heard(await world.wait_recording(back), prompts)
    assert "ru/queue-callback-greeting" in names, names
    callbacks = (await queue_service.get("/api/queues/callbacks"))["callbacks"]
    mine = [c for c in callbacks if c["number"] == customer]
    assert mine and mine[0]["status"] == "done" and mine[0]["attempts"] == 2 and mine[0]["agent"] == "101"


async def test_feature_code_call_pauses_the_agent_and_says_so(queue_service, world, settings, prompts):
    """What the dialplan does for *47 (Stasis(ivr,feature,toggle,EXT)), placed here through the PBX's
    ARI: the phone rings, is answered, hears the new state; the agent is paused, then unpaused."""
    world.reset()
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    headers = {"Authorization": aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)}
    for expected, prompt in (("paused", "ru/agent-paused"), ("idle", "ru/agent-unpaused")):
        count = len(world.incoming)
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.post(f"{settings.ari_url}/ari/channels",
                                 params={"endpoint": "PJSIP/102", "app": settings.ari_app,
                                         "appArgs": "feature,toggle,102"}) as r:
                assert r.status == 200, await r.text()
        await wait_until(lambda: len(world.incoming) > count, 10, "the phone to ring")
        phone = world.incoming[-1]
        await asyncio.wait_for(phone.ended.wait(), 15)          # the service hangs up after speaking
        assert heard(await world.wait_recording(phone), prompts) == [prompt]
        team = next(q for q in (await queue_service.get("/api/queues"))["queues"] if q["id"] == "team")
        assert {a["extension"]: a["status"] for a in team["agents"]}["102"] == expected


async def test_an_agent_passes_a_called_back_customer_on(queue_service, world, prompts):
    """The agent who took a queue call-back transfers the customer (REFER) to 102: the customer
    stays, hears 102, and the call's record shows the transfer."""
    world.reset()
    customer = "+79161200071"
    world.behaviours["101"] = Behaviour("ignore")            # no agent takes the call now
    leg = await answered_call(world, CALLBACK, customer)
    await asyncio.sleep(2.0 + 3.5)                  # callback_after, then the offer prompt
    await world.press(leg, "1")
    await asyncio.wait_for(leg.ended.wait(), 15)
    world.behaviours["101"] = Behaviour("answer", after=0.3)
    world.behaviours[customer] = Behaviour("answer", after=0.5)
    world.behaviours["102"] = Behaviour("answer", after=1.0, play=("sound:hello-world",), play_after=0.3,
                                        hangup_after=3.0)
    await wait_until(lambda: any(p.target == customer and p.answered_at for p in world.incoming), 30,
                     "the customer called back")
    back = next(p for p in world.incoming if p.target == customer)
    agent = next(p for p in reversed(world.incoming) if p.target == "101" and p.answered_at)
    await asyncio.sleep(4.5)                        # the greeting (3.1 s), then agent and customer talk
    await world.transfer(agent, "102")
    await wait_until(lambda: any(p.target == "102" and p.answered_at for p in world.incoming), 20, "102's answer")
    target = next(p for p in world.incoming if p.target == "102")
    await asyncio.wait_for(back.ended.wait(), 20)

    assert back.ended_at >= target.answered_at + 2.5 and target.caller_number == customer
    names = heard(await world.wait_recording(back), prompts)
    assert "ru/queue-callback-greeting" in names, names
    record = await queue_service.call_record(customer)
    assert steps(record, "transfer") == [{"by": "101", "to": "102", "mode": "blind"}], record["steps"]
    assert [s["kind"] for s in record["steps"]][-1] == "callback_ended"
