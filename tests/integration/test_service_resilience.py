"""The service's bad days on real SIP: it is stopped, Asterisk restarts under it, a broken plan is applied."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path


from conftest import heard, plan_text, wait_registered
from ivr.config import ROOT
from ivr.store.db import open_database
from ivr.store.plans import PlanStore
from ivr.testing.world import Behaviour
from test_inbound_ivr import MENU_STARTED, answered_call, path

MAIN = "+74951110000"


class LogTail:
    """The service log from the moment the test started; waits for a line instead of sleeping."""

    def __init__(self, log_path: Path):
        self.path = log_path
        self.offset = log_path.stat().st_size if log_path.exists() else 0

    def text(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace")

    async def wait_for(self, pattern: str, timeout: float = 20) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if m := re.search(pattern, self.text()):
                return m
            await asyncio.sleep(0.2)
        raise AssertionError(f"no log line matching {pattern!r}:\n{self.text()[-3000:]}")


def ivr_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # `python -m` from ROOT: this checkout's ivr, whatever tree the venv's `ivr` script points at.
    return subprocess.run([sys.executable, "-m", "ivr.cli", *args], env={**os.environ, **env},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def active_version(env: dict[str, str]) -> tuple[int, int]:
    """(active version, number of stored versions) as `ivr plan versions` shows them."""
    result = ivr_cli(env, "plan", "versions")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.strip()]
    active = [int(line.split()[1]) for line in rows if line.startswith("*")]
    assert len(active) == 1, result.stdout
    return active[0], len(rows)


def pbx_state(pbx, world, leg) -> str:
    """What the PBX and the world showed when a fallback call went wrong (it failed once in CI)."""
    said = f"caller leg: answered={leg.answered.is_set()} ended={leg.ended.is_set()} cause={leg.cause}" if leg else ""
    return "\n".join([said, f"world incoming: {[(p.target, p.answered_at) for p in world.incoming]}",
                      pbx.cli("ari show apps"), pbx.cli("pjsip show contacts"),
                      pbx.cli("core show channels concise"), world.instance.cli("core show channels concise"),
                      subprocess.run(["ss", "-tnp"], capture_output=True, text=True).stdout])


async def test_fallback_phones_ring_when_the_service_is_down(service, world, pbx):
    # `service` first: it renders the default plan's dialplan (another module may have loaded its own).
    service.stop()                                    # the next test's `service` fixture restarts it
    # The two conditions of the fallback, waited for rather than assumed: no ARI app left on the PBX
    # (so Stasis() fails at once), and both fallback phones registered.
    deadline = time.monotonic() + 10
    while "ivr" in pbx.cli("ari show apps").split():
        assert time.monotonic() < deadline, pbx_state(pbx, world, None)
        await asyncio.sleep(0.2)
    await wait_registered(world.instance, ["101", "102"])
    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=1.0)
    world.behaviours["102"] = Behaviour("ignore")
    leg = await world.call(MAIN, "+79161000101")
    try:
        await asyncio.wait_for(leg.answered.wait(), 10)
        await asyncio.wait_for(leg.ended.wait(), 10)  # 101 hangs up after 1 s
    except TimeoutError:
        raise AssertionError(pbx_state(pbx, world, leg)) from None

    phones = {p.target: p for p in world.incoming}
    assert sorted(phones) == ["101", "102"], [p.target for p in world.incoming]
    assert phones["101"].answered_at is not None and phones["102"].answered_at is None
    # The dialplan rang both at once, and the caller was connected when 101 answered.
    assert abs(phones["101"].invited_at - phones["102"].invited_at) < 0.5
    assert abs(leg.answered_at - phones["101"].answered_at) < 0.5
    assert phones["102"].ended.is_set()


async def test_reconnects_after_asterisk_restart(service, world, pbx, prompts):
    log = LogTail(service.log_path)
    await asyncio.to_thread(pbx.stop)
    await log.wait_for(r"ari (connection closed|unreachable)", 10)
    await asyncio.to_thread(pbx.start)
    await wait_registered(world.instance, ["101", "102", "103"])
    await service.wait_ready(30)                     # /status answers 200 only when ARI is connected
    await log.wait_for(r"ari connected", 1)

    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=1.0)
    caller = "+79161000102"
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "1")
    await asyncio.wait_for(leg.ended.wait(), 15)
    record = await service.call_record(caller)
    assert record["outcome"] == "answered" and record["answered_by"] == "101", record
    names = heard(await world.wait_recording(leg), prompts)
    assert names[:2] == ["ru/welcome", "ru/main-menu"], names


async def press_0(world, caller: str):
    """A call that presses 0 in the main menu; returns the caller's leg once it ended."""
    leg = await answered_call(world, caller)
    await asyncio.sleep(MENU_STARTED)
    await world.press(leg, "0")
    await asyncio.wait_for(leg.ended.wait(), 15)
    return leg


async def test_plan_apply_refuses_a_broken_plan_and_keeps_the_live_one(service, world, prompts, base_env,
                                                                      settings, tmp_path):
    original, _ = active_version(base_env)
    text = plan_text()
    assert '"0": goodbye' in text and '"1": booking' in text
    # A valid change first, so "kept" means the version applied last, not merely the first one.
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace('"0": goodbye', '"0": all_busy'), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace('"0": goodbye', '"0": all_busy').replace('"1": booking', '"1": bookng'),
                      encoding="utf-8")
    log = LogTail(service.log_path)
    try:
        result = ivr_cli(base_env, "plan", "apply", str(changed))
        assert result.returncode == 0, result.stderr
        live, count = active_version(base_env)
        assert live > original
        await log.wait_for(rf"plan live version={live}\b")

        result = ivr_cli(base_env, "plan", "apply", str(broken))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert re.search(rf"^{re.escape(str(broken))}:\d+:\d+: .*bookng", result.stderr, re.M), result.stderr
        assert "refused" in result.stderr
        assert active_version(base_env) == (live, count)      # nothing stored

        world.reset()
        caller = "+79161000103"
        leg = await press_0(world, caller)
        names = heard(await world.wait_recording(leg), prompts)
        assert names == ["ru/welcome", "ru/main-menu", "ru/all-busy", "ru/goodbye"], names
        record = await service.call_record(caller)
        assert record["plan_version"] == live
        assert path(record) == ["main", "greeting", "main_menu", "all_busy", "goodbye"]
    finally:
        await restore_plan(settings, service, original)


async def test_service_keeps_its_plan_when_the_stored_version_is_broken(service, world, base_env,
                                                                       settings):
    """The service's own guard: a broken version that reached the database (by hand, an old
    tool) is refused on SIGHUP and the running plan stays."""
    original, _ = active_version(base_env)
    text = plan_text().replace('"1": booking', '"1": bookng')
    log = LogTail(service.log_path)
    db = await open_database(settings.database_url, settings)
    try:
        broken = await PlanStore(db).save(text, "broken.yaml", "broken-by-test", "test")
        service.proc.send_signal(signal.SIGHUP)
        await log.wait_for(rf"plan reload refused, keeping version {original}\b")
        assert service.proc.poll() is None

        world.reset()
        world.behaviours["101"] = Behaviour("answer", after=0.3, hangup_after=1.0)
        caller = "+79161000104"
        leg = await answered_call(world, caller)
        await asyncio.sleep(MENU_STARTED)
        await world.press(leg, "1")
        await asyncio.wait_for(leg.ended.wait(), 15)
        record = await service.call_record(caller)
        assert record["plan_version"] == original != broken
        assert record["answered_by"] == "101", record
    finally:
        await db.close()
        await restore_plan(settings, service, original)


async def restore_plan(settings, service, version: int) -> None:
    """Later tests (and service restarts) need the test plan active again."""
    db = await open_database(settings.database_url, settings)
    try:
        await PlanStore(db).activate(version)
    finally:
        await db.close()
    if service.proc is not None:
        log = LogTail(service.log_path)
        service.proc.send_signal(signal.SIGHUP)
        await log.wait_for(rf"plan live version={version}\b")


async def test_call_in_progress_is_picked_up_after_the_service_died(service, world, prompts):
    """Killed mid-greeting (no clean shutdown): the caller's channel stays in Stasis, and the next
    run of the service picks the call up instead of leaving the caller in silence."""
    world.reset()
    caller = "+79161000105"
    leg = await answered_call(world, caller)
    await asyncio.sleep(1.0)
    log = LogTail(service.log_path)
    service.stop(signal.SIGKILL)
    service.start()
    await service.wait_ready()
    await log.wait_for(r"picking up a call left by an earlier run", 5)
    # The picked-up call starts again from its entry: greeting, then the menu.
    await asyncio.sleep(MENU_STARTED + 3)
    assert not leg.ended.is_set()
    assert "call failed" not in log.text(), log.text()[-3000:]
    await world.press(leg, "0")
    await asyncio.wait_for(leg.ended.wait(), 15)

    names = heard(await world.wait_recording(leg), prompts)
    # The picked-up call started again from its entry: the greeting and the menu were heard. (The
    # recording's last second can be cut when the PBX hangs up, so the record shows the end.)
    assert "ru/welcome" in names and "ru/main-menu" in names[names.index("ru/welcome"):], names
    record = await service.call_record(caller)
    assert record["outcome"] == "ended_by_plan", record
    after_pickup = [s for s in record["steps"]][[s["kind"] for s in record["steps"]].index("picked_up_after_restart"):]
    walked = [(s["node"], s["kind"]) for s in after_pickup]
    assert ("main_menu", "digit") in walked and ("goodbye", "enter") in walked, walked
