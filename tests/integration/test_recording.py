"""Call recording on real SIP: Asterisk records the customer's channel (MixMonitor) from the consent
prompt to the hang-up, one file per call in the day's directory, stereo (customer left, staff right).
Each party plays its own tone, so the file shows whose audio is on which side; a blind transfer and a
service killed mid-call still leave one file with everybody in it. Also: the disk-space guard (no
recording, an alert, the call goes on), the retention purge on the service's clock, and who may
listen (a dispatcher only to the calls of their own extension, every fetch audited).

The plan is tests/integration/plans/recording.yaml (one ring = 1 s, retention 30 days).
"""
from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from conftest import heard, plan_text
from waits import wait_bridged
from ivr.testing.audio import tone_fraction
from ivr.testing.world import Behaviour, Leg, World
from test_campaign import outbound_record, run_campaign
from test_security import ivr

RECORDED, RECORDED_NODE, PLAIN = "+74951110200", "+74951110201", "+74951110203"
CALLER_HZ, DESK_HZ, TARGET_HZ = 697.0, 1209.0, 941.0      # one tone per party, far from ringback (425)


@pytest.fixture
async def recording_plan(service_process, stack_dir):
    """The service on the recording plan (restarted only when it runs something else)."""
    plan = stack_dir / "recording.yaml"
    plan.write_text(plan_text("recording.yaml"), encoding="utf-8")
    wanted = {"IVR_PLAN_FILE": str(plan), "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{stack_dir}/recording.db"}
    await _run(service_process, wanted)
    return service_process


async def _run(service, wanted: dict[str, str]) -> None:
    if service.proc is None or service.proc.poll() is not None or service.current != wanted:
        service.stop()
        service.start(**wanted)
        await service.wait_ready()


def recordings(stack_dir: Path) -> Path:
    return stack_dir / "var" / "recordings"


async def incoming(world: World, target: str, nth: int = 1, timeout: float = 15) -> Leg:
    async def arrived() -> Leg:
        while len(legs := [p for p in world.incoming if p.target == target]) < nth:
            await asyncio.sleep(0.05)
        return legs[nth - 1]
    return await asyncio.wait_for(arrived(), timeout)


async def speak(world: World, leg: Leg, hz: float) -> str:
    """The party on `leg` holds a steady tone from now on (its voice in these tests); the playback id."""
    playback = world.new_id("tone")
    await world.ari.play(leg.channel_id, [f"tone:{int(hz)}"], playback)
    return playback


async def finished_file(stack_dir: Path, record: dict, timeout: float = 15) -> Path:
    """The call's compressed recording, once Asterisk's ffmpeg has written it."""
    path = recordings(stack_dir) / record["recording"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and not path.with_suffix(".raw").exists():
            return path
        await asyncio.sleep(0.2)
    raise AssertionError(f"no finished recording at {path}")


def sides(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) samples at 8 kHz of a stereo recording."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-f", "s16le",
                          "-ar", "8000", "-ac", "2", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype="<i2").reshape(-1, 2).astype(np.float64)
    return samples[:, 0], samples[:, 1]


def channels_of(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=channels", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def steps(record: dict, kind: str) -> list[dict]:
    return [s["data"] for s in record["steps"] if s["kind"] == kind]


async def talk_to_102(world: World, caller: str, seconds: float = 3.0) -> tuple[Leg, Leg, str]:
    """A recorded call answered by 102; both talk (tones) for `seconds`. The desk's playback id."""
    world.behaviours["102"] = Behaviour("answer", after=0.3)
    caller_leg = await world.call(RECORDED, caller)
    desk = await incoming(world, "102")
    await asyncio.wait_for(desk.answered.wait(), 15)
    voice = await speak(world, desk, DESK_HZ)
    await speak(world, caller_leg, CALLER_HZ)
    await asyncio.sleep(seconds)
    return caller_leg, desk, voice


async def test_recorded_call_holds_each_party_on_its_own_side(recording_plan, world, stack_dir, prompts):
    world.reset()
    caller = "+79164000001"
    caller_leg, _, _ = await talk_to_102(world, caller)
    await world.hangup(caller_leg)
    await asyncio.wait_for(caller_leg.ended.wait(), 10)

    # The caller heard the consent prompt before the phone rang.
    assert "ru/call-recorded" in heard(await world.wait_recording(caller_leg), prompts)
    record = await recording_plan.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "102", record
    [step] = steps(record, "recording")
    assert step["why"] == "number" and step["stereo"] is True and record["recording"] == step["file"]
    # Stored by the call's day (the service's clock: 2026-11-25 in Moscow), compressed, stereo.
    assert record["recording"].startswith("2026/11/25/") and record["recording"].endswith(".ogg")
    path = await finished_file(stack_dir, record)
    assert channels_of(path) == 2
    left, right = sides(path)
    talk = len(left) / 8000.0
    # The last 3 s: both talking. The customer's tone on the left only, the desk's on the right only.
    assert tone_fraction(left, CALLER_HZ, talk - 2.5, talk - 0.3) > 0.8
    assert tone_fraction(right, DESK_HZ, talk - 2.5, talk - 0.3) > 0.8
    assert tone_fraction(left, DESK_HZ, talk - 2.5, talk - 0.3) < 0.1
    assert tone_fraction(right, CALLER_HZ, talk - 2.5, talk - 0.3) < 0.1


async def test_transferred_call_is_one_recording_with_everybody(recording_plan, world, stack_dir, pbx):
    world.reset()
    caller = "+79164000002"
    world.behaviours["101"] = Behaviour("answer", after=1.0)
    caller_leg, desk, voice = await talk_to_102(world, caller, seconds=2.0)
    await world.ari.stop_playback(voice)            # a playing channel would not leave for the transfer
    await world.transfer(desk, "101")
    target = await incoming(world, "101")
    await asyncio.wait_for(target.answered.wait(), 15)
    await wait_bridged(pbx, "PJSIP/101-")
    await asyncio.sleep(1.0)                        # 101 listens first
    await speak(world, target, TARGET_HZ)
    await asyncio.sleep(3.0)
    await world.hangup(caller_leg)
    await asyncio.wait_for(caller_leg.ended.wait(), 10)

    # The conversation after the transfer: 101 heard the caller. (The world hears what a party hears
    # only while that party is silent: a channel playing a tone reads no audio.)
    assert tone_fraction(await world.wait_recording(target), CALLER_HZ, 0.3, 1.0) > 0.8
    record = await recording_plan.call_record(caller)
    assert record["answered_by"] == "101" and len(steps(record, "transfer")) == 1, record
    assert len(steps(record, "recording")) == 1, record
    path = await finished_file(stack_dir, record)
    channel = record["channel_id"]
    assert [p.name for p in path.parent.iterdir() if channel in p.name] == [path.name]
    left, right = sides(path)
    talk = len(left) / 8000.0
    # Before the transfer the desk on the staff side, the caller on the customer's side.
    assert tone_fraction(right, DESK_HZ, 1.0, 2.2) > 0.8 and tone_fraction(left, CALLER_HZ, 1.0, 2.2) > 0.8
    assert tone_fraction(left, TARGET_HZ, 0, talk) < 0.05 and tone_fraction(left, DESK_HZ, 0, talk) < 0.05
    # After it the target on the staff side, and still the caller on the customer's side, to the end:
    # the recorded call's bridge is softmix (ivr.ari.client.RECORDED_BRIDGE); in a simple_bridge the
    # file lost the staff side, or ended, at the transfer in about half the runs.
    [started] = [s["at"] for s in record["steps"] if s["kind"] == "recording"]
    recorded = (datetime.fromisoformat(record["ended_at"]) - datetime.fromisoformat(started)).total_seconds()
    assert talk > recorded - 1.5, (talk, recorded)
    after = (talk - 2.5, talk - 0.3)
    assert tone_fraction(left, CALLER_HZ, *after) > 0.8 and tone_fraction(right, TARGET_HZ, *after) > 0.8


async def test_attended_transfer_keeps_one_recording_with_the_consulted_phone(recording_plan, world, stack_dir,
                                                                            pbx):
    """102 holds the recorded caller, calls 101 itself, then presses Transfer (a REFER with Replaces):
    101 joins the caller's recorded bridge, and the call's one file goes on with 101 on the staff side."""
    world.reset()
    caller = "+79164000009"
    world.behaviours["101"] = Behaviour("answer", after=0.5)
    caller_leg, desk, voice = await talk_to_102(world, caller, seconds=2.0)
    await world.ari.stop_playback(voice)
    consultation = await world.dial_from_phone("102", "101")
    target = await incoming(world, "101")
    await asyncio.wait_for(consultation.answered.wait(), 10)
    await wait_bridged(pbx, "PJSIP/102-", "PJSIP/101-")
    await world.attended_transfer(desk, consultation, "101")
    await asyncio.wait_for(asyncio.gather(desk.ended.wait(), consultation.ended.wait()), 10)
    await wait_bridged(pbx, "PJSIP/101-")           # now with the caller: 102's calls are over
    joined = time.monotonic() - target.answered_at  # where that is in what 101 hears
    await asyncio.sleep(1.0)                        # 101 listens first
    await speak(world, target, TARGET_HZ)
    await asyncio.sleep(3.0)
    await world.hangup(caller_leg)
    await asyncio.wait_for(caller_leg.ended.wait(), 10)

    await asyncio.wait_for(target.ended.wait(), 10)     # 101 stayed to the end, then the call was over
    assert target.ended_at > caller_leg.ended_at - 0.5
    assert tone_fraction(await world.wait_recording(target), CALLER_HZ, joined + 0.2, joined + 0.9) > 0.8
    record = await recording_plan.call_record(caller)
    assert record["answered_by"] == "101", record
    assert steps(record, "transfer") == [{"by": "102", "to": "101", "mode": "attended"}], record
    assert len(steps(record, "recording")) == 1, record
    path = await finished_file(stack_dir, record)
    assert [p.name for p in path.parent.iterdir() if record["channel_id"] in p.name] == [path.name]
    left, right = sides(path)
    talk = len(left) / 8000.0
    assert tone_fraction(right, DESK_HZ, 1.0, 1.8) > 0.8 and tone_fraction(left, CALLER_HZ, 1.0, 1.8) > 0.8
    # To the end: the caller on the customer's side, 101 on the staff side, neither on the other's.
    after = (talk - 2.5, talk - 0.3)
    assert tone_fraction(left, CALLER_HZ, *after) > 0.8 and tone_fraction(right, TARGET_HZ, *after) > 0.8
    assert tone_fraction(left, TARGET_HZ, 0, talk) < 0.05


async def test_recording_goes_on_when_the_service_dies_mid_call(recording_plan, world, stack_dir):
    world.reset()
    caller = "+79164000003"
    caller_leg, _, _ = await talk_to_102(world, caller, seconds=1.5)
    # While it talks, its raw file is the only one (finished calls are compressed).
    first = sorted(recordings(stack_dir).glob("2026/11/25/*.raw"))
    assert len(first) == 1, first
    recording_plan.stop(signal.SIGKILL)
    recording_plan.start(**recording_plan.current)
    await recording_plan.wait_ready()
    # Picked up again: the plan walks from the entry and 102 rings again; the caller never left.
    again = await incoming(world, "102", nth=2, timeout=20)
    await asyncio.wait_for(again.answered.wait(), 15)
    await asyncio.sleep(2.0)
    await world.hangup(caller_leg)
    await asyncio.wait_for(caller_leg.ended.wait(), 10)

    record = await recording_plan.call_record(caller)
    [step] = steps(record, "recording")
    assert step.get("resumed") is True, record
    path = await finished_file(stack_dir, record)
    assert [p.with_suffix(".ogg") for p in first] == [path], (first, path)
    left, right = sides(path)
    talk = len(left) / 8000.0
    assert talk > 5.0 and tone_fraction(left, CALLER_HZ, 0, talk) * talk > 4.0


async def test_disk_guard_skips_recording_and_alerts(recording_plan, world, stack_dir):
    notifications = stack_dir / "notifications.yaml"
    notifications.write_text("mail: {host: 127.0.0.1, port: 9}\nalerts: [ops@example.com]\n", encoding="utf-8")
    try:
        # A floor far above any disk's free space: no recording may start.
        await _run(recording_plan, {**recording_plan.current, "IVR_RECORDING_MIN_FREE_MB": str(10**9)})
        world.reset()
        caller = "+79164000004"
        caller_leg, _, _ = await talk_to_102(world, caller, seconds=1.0)
        await world.hangup(caller_leg)
        record = await recording_plan.call_record(caller)
        assert record["outcome"] == "answered" and record["answered_by"] == "102", record
        assert record["recording"] is None and steps(record, "recording_skipped")[0]["reason"] == "disk_low"
        messages = (await recording_plan.get("/api/notifications/outbox"))["messages"]
        assert any(m["key"].startswith("alert:recording-disk:") and m["target"] == "ops@example.com"
                   for m in messages), messages
    finally:
        notifications.unlink(missing_ok=True)
        await _run(recording_plan, {k: v for k, v in recording_plan.current.items()
                                    if k != "IVR_RECORDING_MIN_FREE_MB"})


async def test_retention_purge_deletes_old_days(recording_plan, stack_dir):
    old = recordings(stack_dir) / "2026/09/20"          # 66 days before the service's 2026-11-25
    kept = recordings(stack_dir) / "2026/10/30"         # 26 days: within retention_days 30
    for day in (old, kept):
        day.mkdir(parents=True, exist_ok=True)
        (day / "110000-test.ogg").write_bytes(b"OggS")
    recording_plan.stop()                               # the purge runs when the service starts
    recording_plan.start(**recording_plan.current)
    await recording_plan.wait_ready()
    deadline = time.monotonic() + 10
    while old.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert not old.exists() and not old.parent.exists()
    assert (kept / "110000-test.ogg").exists()
    (kept / "110000-test.ogg").unlink()


async def test_a_staff_phones_outside_call_is_recorded(recording_plan, world, stack_dir):
    world.reset()
    customer = "+79165550011"
    world.behaviours[customer] = Behaviour("answer", after=0.3)
    phone = await world.dial_from_phone("103", "89165550011")
    [callee] = [await incoming(world, customer)]
    await asyncio.wait_for(callee.answered.wait(), 15)
    await asyncio.wait_for(phone.answered.wait(), 5)    # the PBX answers the phone just after the callee
    await speak(world, callee, CALLER_HZ)
    await speak(world, phone, DESK_HZ)
    await asyncio.sleep(3.0)
    await world.hangup(phone)
    await asyncio.wait_for(callee.ended.wait(), 10)

    record = await outbound_record(recording_plan, customer)
    assert record["answered_by"] == "103" and steps(record, "recording")[0]["why"] == "staff", record
    path = await finished_file(stack_dir, record)
    left, right = sides(path)
    talk = len(left) / 8000.0
    # The customer on the left, as in inbound calls; the staff phone on the right.
    assert tone_fraction(left, CALLER_HZ, talk - 2.5, talk - 0.3) > 0.8
    assert tone_fraction(right, DESK_HZ, talk - 2.5, talk - 0.3) > 0.8
    assert tone_fraction(left, DESK_HZ, 0, talk) < 0.05


RECORDED_PROFILE = """\
profiles:
  recorded:
    flow: notice
    digits: {"1": understood}
    hours: {daily: "00:00-24:00"}
    deadline_hours: 1
    prompts: {intro: [], question: [invalid-choice], thanks: {understood: [goodbye]}}
    record: yes
"""


async def test_a_campaign_profile_records_its_answered_calls(recording_plan, world, stack_dir, prompts):
    profiles_file = stack_dir / "campaigns.yaml"            # beside the plan; other modules bring their own
    before = profiles_file.read_text(encoding="utf-8") if profiles_file.exists() else None
    profiles_file.write_text(RECORDED_PROFILE, encoding="utf-8")
    try:
        world.reset()
        passenger = "+79165550022"
        world.behaviours[passenger] = Behaviour("answer", after=0.3)
        task = asyncio.create_task(run_campaign(recording_plan, "recorded", [passenger]))
        leg = await incoming(world, passenger)
        await asyncio.wait_for(leg.answered.wait(), 15)
        voice = await speak(world, leg, CALLER_HZ)
        await asyncio.sleep(3.5)                         # the consent prompt, then the question
        await world.ari.stop_playback(voice)             # a playing channel sends no DTMF
        await world.press(leg, "1")
        await task
        record = await outbound_record(recording_plan, passenger)
        assert steps(record, "recording")[0]["why"] == "campaign", record
        path = await finished_file(stack_dir, record)
        left, _ = sides(path)                            # the passenger on the left
        assert tone_fraction(left, CALLER_HZ, 0, len(left) / 8000.0) * len(left) / 8000.0 > 0.8
    finally:
        if before is None:
            profiles_file.unlink()
        else:
            profiles_file.write_text(before, encoding="utf-8")


async def log_in(url: str, username: str, password: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(url + "/login", data={"username": username, "password": password},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return http


async def test_only_managers_and_the_staff_who_took_the_call_may_listen(recording_plan, world, stack_dir,
                                                                        base_env):
    world.reset()
    caller = "+79164000005"
    world.behaviours["103"] = Behaviour("answer", after=0.3, play=(f"tone:{int(DESK_HZ)}",), hangup_after=2.0)
    caller_leg = await world.call(RECORDED_NODE, caller)
    await asyncio.wait_for(caller_leg.ended.wait(), 20)
    record = await recording_plan.call_record(caller)
    assert steps(record, "recording")[0]["why"] == "recorded_hunt", record
    await finished_file(stack_dir, record)
    env = {**base_env, **recording_plan.current}
    for name, extension in (("rec-other", "102"), ("rec-own", "103")):
        ivr(env, "users", "add", name, "--role", "dispatcher", "--extension", extension,
            "--password", f"{name}-pass-1")
    ivr(env, "users", "add", "rec-viewer", "--role", "viewer", "--password", "rec-viewer-pass-1")
    url, call_id = recording_plan.url, record["id"]

    for name, play, page_has_player in (("rec-other", 403, False), ("rec-own", 200, True),
                                        ("rec-viewer", 403, False)):
        http = await log_in(url, name, f"{name}-pass-1")
        async with http:
            async with http.get(f"{url}/calls/{call_id}") as r:
                assert r.status == 200 and ('<audio' in await r.text()) is page_has_player, name
            async with http.get(f"{url}/calls/{call_id}/recording") as r:
                assert r.status == play, (name, r.status)
                if play == 200:
                    assert r.headers["Content-Type"] == "audio/ogg" and (await r.read())[:4] == b"OggS"
    status, body = await recording_plan.request("GET", f"/api/calls/{call_id}/recording", raw=True)
    assert status == 200 and body[:4] == b"OggS"
    audit = ivr(env, "audit", "--action", "recording.play")
    assert "rec-own" in audit and "rec-other" not in audit, audit
    assert f"/api/calls/{call_id}/recording" in ivr(env, "audit", "--action", "recording.download")

