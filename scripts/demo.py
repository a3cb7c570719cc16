#!/usr/bin/env python3
"""`make demo`: with `make run` going, simulated callers call the sample plan's numbers.

It starts the world simulator (a second Asterisk on 127.0.0.2 whose phones register as the plan's
staff phones and whose demo carrier sends calls in on the default trunk), places a few calls with
scripted key presses, and prints the call log. `--stop` stops the world simulator.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from ivr.asterisk.process import Instance  # noqa: E402
from ivr.asterisk.render import WorldLayout, render_world  # noqa: E402
from ivr.config import load_settings  # noqa: E402
from ivr.plan.loader import load_plan  # noqa: E402
from ivr.testing.world import Behaviour, World, wait_registered  # noqa: E402

WORLD_IP = "127.0.0.2"


async def demo() -> int:
    settings = load_settings()
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(settings.public_url + "/status") as r:
                if r.status != 200:
                    raise aiohttp.ClientError()
        except aiohttp.ClientError:
            print("the service is not running: start it with `make run` in another terminal first")
            return 1
    instance = Instance("world", settings.var / "asterisk" / "world", Path(settings.asterisk_rootfs))
    layout = WorldLayout(WORLD_IP, 8088, settings.sip_address, settings.sip_port)
    render_world(settings, plan, layout, instance)
    (instance.spool / "recording").mkdir(parents=True, exist_ok=True)
    instance.start()
    carriers = {t.host.split(":")[0]: name for name, t in plan.trunks.items()}
    world = World(layout.ari_url, layout.ari_user, layout.ari_password, instance.spool, carriers=carriers)
    await world.start()
    try:
        await wait_registered(instance, list(plan.staff))
    except AssertionError as e:
        print(f"warning: {e}")
    number, ads = list(plan.numbers)[:2]
    world.behaviours["101"] = Behaviour("answer", after=1.0, hangup_after=3)
    world.behaviours["102"] = Behaviour("busy")
    scenarios = [
        ("+79161110001", number, "presses 1 and talks to the first phone that answers", "1", 0),
        ("+79262220002", ads, "from the ad number, presses nothing", "", 0),
        ("+79033330003", number, "hangs up during the greeting (a misdial)", "", 2),
        ("+79054445566", ads, "listens to the menu, then hangs up", "", 8),
        ("+79504440004", number, "presses 9 for English, then 0", "9", 0),
    ]
    for caller, did, what, digits, hang_after in scenarios:
        print(f"calling {did} from {caller}: {what}")
        leg = await world.call(did, caller)
        try:
            await asyncio.wait_for(leg.answered.wait(), 10)
            if hang_after:
                await asyncio.sleep(hang_after)
                await world.hangup(leg)
            elif digits:
                await asyncio.sleep(5)
                await world.press(leg, digits)
                if digits == "9":
                    await asyncio.sleep(8)
                    await world.press(leg, "0")
            await asyncio.wait_for(leg.ended.wait(), 45)
        except asyncio.TimeoutError:
            await world.hangup(leg)
    await world.stop()
    await asyncio.sleep(1)
    subprocess.run([sys.executable, "-m", "ivr.cli", "calls", "--limit", str(len(scenarios))])
    print(f"\nthe same log: {settings.public_url}/api/calls   details: ivr calls --id N")
    return 0


def stop() -> int:
    settings = load_settings()
    Instance("world", settings.var / "asterisk" / "world", Path(settings.asterisk_rootfs)).stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop", action="store_true", help="stop the world simulator")
    args = parser.parse_args()
    sys.exit(stop() if args.stop else asyncio.run(demo()))
