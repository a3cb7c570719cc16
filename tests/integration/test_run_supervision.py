"""`make run` (scripts/run.sh) under a crash: Asterisk stays up, the fallback phones ring while the
service is down, and the service is started again, as the systemd unit's Restart=on-failure does."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta

import aiohttp

from conftest import OPEN, wait_registered
from ivr.config import ROOT
from ivr.testing.world import Behaviour
from test_inbound_ivr import answered_call
from test_service_resilience import LogTail
from waits import wait_until

MAIN = "+74951110000"
RESTART_SECONDS = 6          # long enough to place a call while the service is down


async def wait_serving(service, timeout: float) -> None:
    """run.sh's service answers /status with ARI connected (the harness's own wait needs its process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, answer = await service.request("GET", "/status")
            if status == 200 and answer.get("ari_connected"):
                return
        except (aiohttp.ClientError, ValueError):
            pass
        await asyncio.sleep(0.3)
    raise AssertionError("run.sh's service did not come up")


def service_pid(var) -> int | None:
    try:
        pid = int((var / "ivr.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


async def test_make_run_restarts_a_killed_service_and_asterisk_rings_fallback(service, world, pbx,
                                                                              base_env, stack_dir):
    service.stop()                         # the harness's service gives way to run.sh's
    var = stack_dir / "var"
    (var / "ivr.pid").unlink(missing_ok=True)
    log_path = stack_dir / "run.log"
    log_path.write_bytes(b"")
    log = LogTail(log_path)
    env = {**os.environ, **base_env, "IVR_RESTART_SECONDS": str(RESTART_SECONDS),
           "IVR_CLOCK": (datetime.fromisoformat(OPEN) + timedelta(hours=1)).isoformat()}
    run = subprocess.Popen(["bash", str(ROOT / "scripts" / "run.sh")], env=env, cwd=ROOT,
                           stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)
    try:
        await wait_serving(service, 60)
        first = service_pid(var)
        assert first is not None
        await log.wait_for(r"ari connected", 10)

        os.kill(first, signal.SIGKILL)
        await log.wait_for(r"exited with status 137; restarting", 10)
        assert pbx.running(), "Asterisk went down with the service"

        world.reset()
        world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=1.0)
        world.behaviours["102"] = Behaviour("ignore")
        leg = await world.call(MAIN, "+79161000401")
        await asyncio.wait_for(leg.answered.wait(), 10)
        await asyncio.wait_for(leg.ended.wait(), 10)
        assert sorted(p.target for p in world.incoming) == ["101", "102"]

        await wait_until(lambda: service_pid(var) not in (None, first), 30, "a restarted service")
        await wait_serving(service, 30)
        world.reset()
        leg = await answered_call(world, "+79161000402")   # the IVR answers again, not a phone
        assert not world.incoming
        await world.hangup(leg)
        assert run.poll() is None

        # `make stop`: the service stopped on request is not restarted, and Asterisk goes with it.
        os.kill(service_pid(var), signal.SIGTERM)
        assert await asyncio.to_thread(run.wait, 30) == 0
        assert not pbx.running()
    finally:
        if run.poll() is None:
            run.terminate()
            if (pid := service_pid(var)) is not None:
                os.kill(pid, signal.SIGTERM)
            await asyncio.to_thread(run.wait, 30)
        service.proc = None                 # the next test's `service` fixture starts its own
        if not pbx.running():
            await asyncio.to_thread(pbx.start)
            await wait_registered(world.instance, ["101", "102", "103"])
