"""Blind transfer from a staff phone in a call the hunt bridged, on real SIP: the phone sends a REFER
(the world Asterisk's Transfer(), like a desk phone's Transfer key), the customer is passed on and
never dropped: ringback while the target rings, the target's voice after, recall of the transferring
phone when the target does not answer, a missed-call item when nobody does. No channel or bridge is
left on the PBX (the no_leaks fixture).

The plan is tests/integration/plans/staff.yaml (one ring = 1 s, a transfer target rings 2 s).
"""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from conftest import NET, PBX_IP, PLANS, plan_text
from waits import wait_bridged
from ivr.config import ROOT
from ivr.testing.audio import has_tone, silences
from ivr.testing.softphone import Softphone
from ivr.testing.world import Behaviour, Leg, World

DESK, SOFT, QUEUE, FORWARD = "+74951110200", "+74951110202", "+74951110203", "+74951110204"
SOFTPHONE_IP = f"{NET}.5"
RINGBACK_HZ = 425.0
VOICE = ("sound:hello-world",)


@pytest.fixture
async def staff_plan(service_process, stack_dir):
    """The service on the office plan (restarted only when it runs something else)."""
    plan = stack_dir / "staff.yaml"
    plan.write_text(plan_text("staff.yaml"), encoding="utf-8")
    wanted = {"IVR_PLAN_FILE": str(plan),
              "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{stack_dir}/staff.db"}
    if service_process.proc is None or service_process.proc.poll() is not None \
            or service_process.current != wanted:
        service_process.stop()
        service_process.start(**wanted)
        await service_process.wait_ready()
    return service_process


async def incoming(world: World, target: str, nth: int = 1, timeout: float = 15) -> Leg:
    """The nth INVITE the PBX sent to `target`."""
    async def arrived() -> Leg:
        while True:
            legs = [p for p in world.incoming if p.target == target]
            if len(legs) >= nth:
                return legs[nth - 1]
            await asyncio.sleep(0.05)
    return await asyncio.wait_for(arrived(), timeout)


def steps(record: dict[str, Any], *kinds: str) -> list[tuple[str, dict[str, Any]]]:
    return [(s["kind"], s["data"]) for s in record["steps"] if s["kind"] in kinds]


async def speaks_then_hangs_up(world: World, pbx, party: Leg, caller_leg: Leg) -> float:
    """`party` (now talking to the caller) says something and hangs up, which ends the call; how
    much of it the caller heard (share of sound in what it said)."""
    await wait_bridged(pbx, f"PJSIP/{party.target}-")      # in the caller's bridge by now
    spoke = time.monotonic()
    await world.ari.play(party.channel_id, list(VOICE), world.new_id("pb"))
    await asyncio.sleep(1.5)                                # what it says, then it hangs up
    await world.hangup(party)
    await asyncio.wait_for(caller_leg.ended.wait(), 10)
    heard = await world.wait_recording(caller_leg)
    start = spoke - caller_leg.invited_at
    return sound_in(heard, start + 0.3, start + 1.0)


async def target_heard(world: World, caller_leg: Leg, target: Leg) -> float:
    """How much of what the target said from 0.5 s after answering the caller heard (share of sound)."""
    answered = target.answered_at - caller_leg.invited_at
    return sound_in(await world.wait_recording(caller_leg), answered + 0.5, answered + 1.3)


def sound_in(path, start: float, end: float) -> float:
    quiet = sum(max(0.0, min(b, end) - max(a, start)) for a, b in silences(path, min_seconds=0.1))
    return 1.0 - quiet / (end - start)


async def answered_by_102(world: World, pbx, caller: str) -> tuple[Leg, Leg]:
    caller_leg = await world.call(DESK, caller)
    desk = await incoming(world, "102")
    await asyncio.wait_for(desk.answered.wait(), 10)
    await wait_bridged(pbx, "PJSIP/102-")          # 102 and the caller talk
    return caller_leg, desk


async def test_blind_transfer_passes_the_caller_to_the_target(staff_plan, world, pbx):
    world.reset()
    caller = "+79163000001"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["101"] = Behaviour("answer", after=1.5, play=VOICE, play_after=0.3, hangup_after=3.0)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    await world.transfer(desk, "101")
    target = await incoming(world, "101")
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    # The target's phone showed the original caller, and the caller was never dropped: the call
    # ended when the target hung up.
    assert target.caller_number == caller, target
    assert target.answered_at is not None and caller_leg.ended_at >= target.answered_at + 2.5
    # The caller heard ringback while 101 rang, then 101's voice.
    heard = await world.wait_recording(caller_leg)
    rang_from, answered = target.invited_at - caller_leg.invited_at, target.answered_at - caller_leg.invited_at
    assert has_tone(heard, RINGBACK_HZ, rang_from, answered + 0.2, min_seconds=0.5)
    assert sound_in(heard, answered + 0.5, answered + 1.3) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "101", record
    assert steps(record, "transfer") == [("transfer", {"by": "102", "to": "101", "mode": "blind"})]
    assert [(k, d.get("member")) for k, d in steps(record, "answered")] == [("answered", "102"),
                                                                            ("answered", "101")]


async def test_a_queue_agent_transfers_the_caller(staff_plan, world, pbx):
    world.reset()
    caller = "+79163000006"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["103"] = Behaviour("answer", after=0.5, play=VOICE, play_after=0.3, hangup_after=2.0)
    caller_leg = await world.call(QUEUE, caller)
    agent = await incoming(world, "102")
    await asyncio.wait_for(agent.answered.wait(), 10)
    await wait_bridged(pbx, "PJSIP/102-")
    await world.transfer(agent, "103")
    target = await incoming(world, "103")
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    assert target.caller_number == caller and target.answered_at is not None
    assert await target_heard(world, caller_leg, target) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == "103", record
    assert steps(record, "transfer") == [("transfer", {"by": "102", "to": "103", "mode": "blind"})]


async def test_target_not_answering_rings_the_transferring_phone_back(staff_plan, world, pbx):
    world.reset()
    caller = "+79163000002"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["103"] = Behaviour("ignore")
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    world.behaviours["102"] = Behaviour("answer", after=0.5, hangup_after=1.5)     # the recall
    await world.transfer(desk, "103")
    target = await incoming(world, "103")
    recall = await incoming(world, "102", nth=2)
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    assert abs(target.ring_seconds - 2.0) <= 0.5 and recall.invited_at >= target.ended_at - 0.3
    assert recall.caller_number == caller and recall.answered_at is not None
    record = await staff_plan.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "102", record
    ringing = [(k, d.get("member"), d.get("reason")) for k, d in steps(record, "ring", "ring_end", "answered")]
    assert ringing[-4:] == [("ring", "103", None), ("ring_end", "103", "no_answer"),
                            ("ring", "102", None), ("answered", "102", None)], ringing


async def test_transferred_call_nobody_answers_is_a_missed_call(staff_plan, world, pbx):
    world.reset()
    caller = "+79163000003"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    world.behaviours["102"] = Behaviour("ignore")
    await world.transfer(desk, "103")
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    # The target, the transferring phone again, then the plan's other fallback phone: 2 s each.
    rung = [p.target for p in world.incoming]
    assert rung == ["102", "103", "102", "101"], rung
    record = await staff_plan.call_record(caller)
    assert record["outcome"] == "transfer_no_answer", record
    items = await staff_plan.missed_items(caller)
    assert [i["reason"] for i in items] == ["transfer_no_answer"], items


async def test_transfer_to_an_unknown_extension_keeps_the_call(staff_plan, world, pbx):
    world.reset()
    caller = "+79163000004"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    await world.transfer(desk, "999")
    # Refused: the phone's leg stays up (the world's Transfer() got a failure and hung up its side,
    # which ends the call as any hang-up of the member does), and nobody else was rung.
    await asyncio.wait_for(caller_leg.ended.wait(), 10)
    assert [p.target for p in world.incoming] == ["102"]
    record = await staff_plan.call_record(caller)
    assert steps(record, "transfer") == [("transfer", {"by": "102", "to": "999", "mode": "blind",
                                                       "refused": "unknown_extension"})]
    assert record["answered_by"] == "102"


async def pbx_contact(pbx, extension: str, address: str, timeout: float = 20) -> None:
    """Wait until the PBX has `extension` registered from `address`."""
    async def registered() -> None:
        # baresip's contact user carries a suffix of its own ("103-abc@..."): match the address.
        while not any(line.strip().startswith(f"Contact:  {extension}/sip:") and f"@{address}:" in line
                      for line in pbx.cli("pjsip show contacts").splitlines()):
            await asyncio.sleep(0.3)
    await asyncio.wait_for(registered(), timeout)


@pytest.fixture
async def softphone(pbx, world, stack_dir, settings):
    """baresip registered as 103 in place of the world's phone; the world's 103 registers again after."""
    assert Softphone.available(), "baresip is missing: `make system-deps` installs baresip-core"
    voice = settings.path(settings.sounds_dir) / "generated" / "ru" / "welcome.wav"
    phone = Softphone(stack_dir / "baresip", SOFTPHONE_IP, "103", "test-103-secret", PBX_IP, voice)
    phone.start()
    try:
        await pbx_contact(pbx, "103", SOFTPHONE_IP)
        yield phone
    finally:
        phone.stop()
        world.instance.cli("pjsip send register reg-103")
        await pbx_contact(pbx, "103", f"{NET}.2")


async def test_a_real_softphone_transfers_the_caller(staff_plan, world, softphone, pbx):
    world.reset()
    caller = "+79163000005"
    world.behaviours["101"] = Behaviour("answer", after=1.0, play=VOICE, play_after=0.3, hangup_after=3.0)
    caller_leg = await world.call(SOFT, caller)
    await wait_bridged(pbx, "PJSIP/103-")         # baresip answered by itself and talks
    answer = await softphone.command("transfer", "101")
    assert answer.get("ok"), (answer, softphone.log()[-2000:])
    target = await incoming(world, "101")
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    assert target.caller_number == caller and target.answered_at is not None
    heard = await world.wait_recording(caller_leg)
    answered = target.answered_at - caller_leg.invited_at
    assert sound_in(heard, answered + 0.5, answered + 1.3) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == "101", record
    assert steps(record, "transfer") == [("transfer", {"by": "103", "to": "101", "mode": "blind"})]
    # baresip heard the caller's side while it talked, and its call is over
    assert softphone.heard(), softphone.log()[-2000:]


async def test_attended_transfer_hands_the_caller_to_the_consulted_phone(staff_plan, world, pbx):
    """102 holds the caller, calls 101 itself (an internal call the dialplan bridges), then presses
    Transfer: a REFER with Replaces. The caller ends up talking to 101 in the service's bridge."""
    world.reset()
    caller = "+79163000007"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["101"] = Behaviour("answer", after=0.5)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    consultation = await world.dial_from_phone("102", "101")
    target = await incoming(world, "101")
    await asyncio.wait_for(consultation.answered.wait(), 10)
    await wait_bridged(pbx, "PJSIP/102-", "PJSIP/101-")     # 102 talks to 101
    await world.attended_transfer(desk, consultation, "101")
    # The PBX hangs up both of 102's calls; 101 stays, now with the caller.
    await asyncio.wait_for(asyncio.gather(desk.ended.wait(), consultation.ended.wait()), 10)
    assert target.ended_at is None, "the consulted phone was dropped"
    heard = await speaks_then_hangs_up(world, pbx, target, caller_leg)
    assert heard > 0.6
    record = await staff_plan.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "101", record
    assert steps(record, "transfer") == [("transfer", {"by": "102", "to": "101", "mode": "attended"})]
    assert [d.get("member") for _, d in steps(record, "answered")] == ["102", "101"]


async def test_blind_transfer_code_passes_the_caller_on(staff_plan, world, pbx):
    """A phone without a Transfer key: ## 103 # during the call."""
    world.reset()
    caller = "+79163000008"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["103"] = Behaviour("answer", after=1.0, play=VOICE, play_after=0.3, hangup_after=2.5)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    await world.press(desk, "##103#")
    target = await incoming(world, "103")
    await asyncio.wait_for(desk.ended.wait(), 10)          # the service let 102 go
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    assert target.caller_number == caller and target.answered_at is not None
    heard = await world.wait_recording(caller_leg)
    rang_from, answered = target.invited_at - caller_leg.invited_at, target.answered_at - caller_leg.invited_at
    assert has_tone(heard, RINGBACK_HZ, rang_from, answered + 0.2, min_seconds=0.5)
    assert sound_in(heard, answered + 0.5, answered + 1.3) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == "103", record
    assert steps(record, "transfer_code", "transfer") == [
        ("transfer_code", {"by": "102", "mode": "blind", "to": "103"}),
        ("transfer", {"by": "102", "to": "103", "mode": "blind"})]


async def test_a_forwarded_mobile_passes_the_caller_to_a_desk_phone(staff_plan, world, pbx):
    """A forward to an outside number (the on-duty manager's mobile, on a carrier trunk): the mobile
    cannot REFER through our PBX, but it can key ## 101 # like a desk phone without a Transfer key;
    the caller ends up talking to 101."""
    world.reset()
    caller, mobile = "+79163000010", "+79165550404"
    world.behaviours[mobile] = Behaviour("answer", after=0.3)
    world.behaviours["101"] = Behaviour("answer", after=1.0, play=VOICE, play_after=0.3, hangup_after=2.5)
    caller_leg = await world.call(FORWARD, caller)
    manager = await incoming(world, mobile)
    await asyncio.wait_for(manager.answered.wait(), 10)
    await wait_bridged(pbx)                        # the mobile and the caller talk
    await world.press(manager, "##101#")
    target = await incoming(world, "101")
    await asyncio.wait_for(manager.ended.wait(), 10)       # the service let the mobile go
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    assert target.caller_number == caller and target.answered_at is not None
    assert await target_heard(world, caller_leg, target) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "101", record
    assert steps(record, "transfer_code", "transfer") == [
        ("transfer_code", {"by": mobile, "mode": "blind", "to": "101"}),
        ("transfer", {"by": mobile, "to": "101", "mode": "blind"})]


async def test_attended_transfer_code_consults_then_hands_over(staff_plan, world, pbx):
    """*2 101: the caller hears music while 102 talks to 101; * hands the caller to 101."""
    world.reset()
    caller = "+79163000009"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["101"] = Behaviour("answer", after=1.0)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    keyed = time.monotonic()
    await world.press(desk, "*2101")
    target = await incoming(world, "101")
    await asyncio.wait_for(target.answered.wait(), 10)
    # 102 and 101 talk a second: the caller's music on hold is measured over this time.
    await asyncio.sleep(1.0)
    assert desk.ended_at is None and caller_leg.ended_at is None
    completed = time.monotonic()
    await world.press(desk, "*")
    await asyncio.wait_for(desk.ended.wait(), 10)
    heard = await speaks_then_hangs_up(world, pbx, target, caller_leg)
    recording = await world.wait_recording(caller_leg)
    # Music on hold from the code's end (1 s after the last digit) until the hand-over: no silence
    # but a music file's own quiet start (up to 1.1 s in the stock tracks).
    held_from, held_to = keyed - caller_leg.invited_at + 3.2, completed - caller_leg.invited_at
    assert sound_in(recording, held_from, held_to) > 0.6, (held_from, held_to)
    assert heard > 0.6
    record = await staff_plan.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "101", record
    assert steps(record, "transfer_code", "transfer") == [
        ("transfer_code", {"by": "102", "mode": "attended", "to": "101"}),
        ("transfer", {"by": "102", "to": "101", "mode": "attended"})]


async def test_attended_transfer_code_cancelled_goes_back_to_the_caller(staff_plan, world, pbx):
    """*2 101, then #: 101 is let go and 102 talks to the caller again."""
    world.reset()
    caller = "+79163000010"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["101"] = Behaviour("answer", after=0.5)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    await world.press(desk, "*2101")
    target = await incoming(world, "101")
    await asyncio.wait_for(target.answered.wait(), 10)
    await wait_bridged(pbx, "PJSIP/102-", "PJSIP/101-")     # the consultation
    await world.press(desk, "#")
    await asyncio.wait_for(target.ended.wait(), 10)
    heard = await speaks_then_hangs_up(world, pbx, desk, caller_leg)
    assert heard > 0.6
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == "102", record
    assert steps(record, "consult_end", "transfer") == [
        ("consult_end", {"by": "102", "to": "101", "reason": "cancelled"})]


def ivr_command(service, *args: str) -> None:
    """An `ivr` command against the service's own database."""
    done = subprocess.run([sys.executable, "-m", "ivr.cli", *args], env={**os.environ, **service.env, **service.current},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


class Console:
    """A console user's browser session (cookies, the form token)."""

    def __init__(self, service, user: str, password: str):
        self.service, self.user, self.password = service, user, password
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))   # unsafe: an IP host
        self.csrf = ""

    async def __aenter__(self) -> "Console":
        async with self.http.post(self.service.url + "/login", data={"username": self.user, "password": self.password},
                                  allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        async with self.http.get(self.service.url + "/calls") as r:
            self.csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()

    async def api_transfer(self, call_id: int, to: str) -> tuple[int, dict]:
        async with self.http.post(self.service.url + f"/api/calls/{call_id}/transfer", json={"to": to},
                                  headers={"Origin": self.service.url, "X-CSRF-Token": self.csrf}) as r:
            return r.status, await r.json()

    async def panel(self) -> str:
        async with self.http.get(self.service.url + "/call-cards") as r:
            return await r.text()

    async def press_transfer(self, call_id: int, to: str) -> int:
        """The "Transfer to…" form of the call-cards panel."""
        async with self.http.post(self.service.url + f"/calls/{call_id}/transfer", data={"csrf": self.csrf, "to": to},
                                  headers={"Origin": self.service.url, "Referer": self.service.url + "/calls"},
                                  allow_redirects=False) as r:
            return r.status


async def test_console_transfer_of_the_users_own_call(staff_plan, world, pbx):
    """A dispatcher passes on the call their own extension (102) talks in; another extension's
    dispatcher may not, nor may a token without an extension."""
    world.reset()
    caller = "+79163000011"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["103"] = Behaviour("answer", after=1.0)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    calls = (await staff_plan.get("/api/calls?limit=50"))["calls"]
    call_id = next(c["id"] for c in calls if c["caller"] == caller)
    ivr_command(staff_plan, "users", "add", "anna", "--role", "dispatcher", "--extension", "102",
                "--password", "anna-pass-1")
    ivr_command(staff_plan, "users", "add", "oleg", "--role", "dispatcher", "--extension", "101",
                "--password", "oleg-pass-1")

    async with Console(staff_plan, "oleg", "oleg-pass-1") as oleg:
        status, answer = await oleg.api_transfer(call_id, "103")
        assert (status, answer["error"]) == (403, "forbidden"), answer
        assert "/transfer" not in await oleg.panel()
    async with Console(staff_plan, "anna", "anna-pass-1") as anna:
        status, answer = await anna.api_transfer(call_id, "999")
        assert status == 400 and "unknown_extension" in answer["message"], answer
        panel = await anna.panel()
        assert f'action="/calls/{call_id}/transfer"' in panel and '<option value="everyone">' in panel, panel
        assert await anna.press_transfer(call_id, "103") == 303
    target = await incoming(world, "103")
    await asyncio.wait_for(desk.ended.wait(), 10)            # the service let 102 go
    await asyncio.wait_for(target.answered.wait(), 10)
    assert target.caller_number == caller
    assert await speaks_then_hangs_up(world, pbx, target, caller_leg) > 0.6
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == "103", record
    assert steps(record, "transfer_asked", "transfer") == [
        ("transfer_asked", {"by": "102", "to": "103", "user": "anna"}),
        ("transfer", {"by": "102", "to": "103", "mode": "blind"})]
    # Over: nothing to pass on any more.
    status, _ = await staff_plan.request("POST", f"/api/calls/{call_id}/transfer", {"to": "101"})
    assert status == 404


async def test_console_sends_the_caller_to_a_hunt_group(staff_plan, world, pbx):
    """An administrator passes a call on to a node of the plan: the call goes on there."""
    world.reset()
    caller = "+79163000012"
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    world.behaviours["103"] = Behaviour("answer", after=0.5, hangup_after=1.5)
    caller_leg, desk = await answered_by_102(world, pbx, caller)
    calls = (await staff_plan.get("/api/calls?limit=50"))["calls"]
    call_id = next(c["id"] for c in calls if c["caller"] == caller)
    status, answer = await staff_plan.request("POST", f"/api/calls/{call_id}/transfer", {"to": "goodbye"})
    assert status == 400 and "not a hunt group or a queue" in answer["message"], answer
    status, answer = await staff_plan.request("POST", f"/api/calls/{call_id}/transfer", {"to": "softphone"})
    assert (status, answer) == (202, {"call": call_id, "from": "102", "to": "softphone"})
    await asyncio.wait_for(caller_leg.ended.wait(), 20)

    assert [p.target for p in world.incoming] == ["102", "103"]
    record = await staff_plan.call_record(caller)
    assert record["answered_by"] == "103", record
    assert steps(record, "transfer") == [("transfer", {"by": "102", "to": "softphone", "mode": "node"})]
    assert [s["node"] for s in record["steps"] if s["kind"] == "enter"] == ["desk", "softphone"]
