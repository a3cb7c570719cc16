#!/usr/bin/env python3
"""`make demo`: simulated callers call the plan's numbers, so a newcomer sees filled console pages.

It starts the service if it is not running (on a working-hours clock, so the menu, the hunt and the
queue can be shown at any hour), starts the world simulator (a second Asterisk whose phones register as
the plan's staff phones and whose carrier sends calls in), then plays scripted callers: the menu and a
hunt, a queue with a call-back, a missed call (the list and the demo mailbox), a small campaign with its
results, and the carrier chosen for outbound calls. What callers do is read from the plan: a caller who
meets another branch than expected says so and the demo goes on. `--stop` stops the world simulator.
When `make cluster` runs, the same callers go through its Kamailio edge and the API of a serving
instance (the cluster runs the real clock: at night the closed branch is shown).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from ivr.ari.client import AriError  # noqa: E402
from ivr.asterisk.process import Instance  # noqa: E402
from ivr.asterisk.render import WorldLayout, render_world  # noqa: E402
from ivr.cluster.layout import load_layout  # noqa: E402
from ivr.cluster.run import instance_pid  # noqa: E402
from ivr.config import ROOT, Settings, load_settings  # noqa: E402
from ivr.plan.loader import load_plan  # noqa: E402
from ivr.plan.model import (CallbackNode, GotoNode, HuntNode, LanguageNode, MenuNode, Plan,  # noqa: E402
                            PlayNode, QueueNode, ScheduleNode)
from ivr.plan.schedule import schedule_state  # noqa: E402
from ivr.security.local import local_headers, local_url  # noqa: E402
from ivr.testing.world import Behaviour, Leg, World, wait_registered  # noqa: E402

DEMO_HOUR = 11          # the demo's service clock: the latest working day at 11:00, plan time


class Api:
    """The service's HTTP API with the token the service gives local `ivr` commands (var/cli-token)."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.url, self.headers = url, headers

    async def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        async with aiohttp.ClientSession(headers=self.headers) as http:
            async with http.request(method, self.url + path, json=body) as r:
                return await r.json(content_type=None)     # an error is {"error", "message"}

    async def get(self, path: str) -> dict:
        return await self._request("GET", path)

    async def post(self, path: str, body: dict | None = None) -> dict:
        return await self._request("POST", path, body)


# ----- what the plan does with a call -----

def _follow(plan: Plan, node_id: str | None, state: str) -> object:
    """The first node past schedules, plays, gotos and language switches (a caller waits there)."""
    seen = set()
    while node_id and node_id not in seen:
        seen.add(node_id)
        node = plan.nodes[node_id]
        if isinstance(node, ScheduleNode):
            node_id = {"open": node.open, "closed": node.closed, "holiday": node.holiday}[state]
        elif isinstance(node, (PlayNode, GotoNode, LanguageNode)):
            node_id = node.next
        else:
            return node
    return None


def entry_schedule(plan: Plan, number: str) -> ScheduleNode | None:
    node_id: str | None = plan.numbers[number].entry
    while node_id:
        node = plan.nodes[node_id]
        if isinstance(node, ScheduleNode):
            return node
        node_id = node.next if isinstance(node, (PlayNode, GotoNode, LanguageNode)) else None
    return None


def branch_at(plan: Plan, number: str, now: datetime) -> str:
    node = entry_schedule(plan, number)
    if node is None:
        return "open"
    return schedule_state(plan.schedules[node.schedule], now, ZoneInfo(plan.timezone))


def demo_clock(plan: Plan, number: str, now: datetime) -> datetime:
    """The latest day up to today whose DEMO_HOUR is within the entry schedule's opening hours."""
    tz = ZoneInfo(plan.timezone)
    day = now.astimezone(tz).date()
    for back in range(30):
        moment = datetime(day.year, day.month, day.day, DEMO_HOUR, tzinfo=tz) - timedelta(days=back)
        if branch_at(plan, number, moment) == "open":
            return moment
    return now


def menu_digits(plan: Plan, menu: MenuNode) -> dict[str, str]:
    """What each kind of destination is reached with: {"hunt": "1", "queue": "2", ...}."""
    found: dict[str, str] = {}
    for digit, target in menu.choices.items():
        node = _follow(plan, target, "open")
        kind = {HuntNode: "hunt", QueueNode: "queue", CallbackNode: "callback"}.get(type(node))
        if kind and kind not in found:
            found[kind] = digit
    return found


# ----- the scripted callers -----

class Demo:
    def __init__(self, world: World, api, plan: Plan, say: Callable[[str], None] = print):
        self.world, self.api, self.plan, self.say = world, api, plan, say
        self.callers: list[str] = []          # every number that called in, for the call log
        self.last_call_id = 0                 # the call log's id of the latest scripted call

    async def now(self) -> datetime:
        return datetime.fromisoformat((await self.api.get("/status"))["now"])

    async def _wait_end(self, leg: Leg, seconds: float) -> bool:
        try:
            await asyncio.wait_for(leg.ended.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False

    async def call(self, did: str, caller: str, what: str, presses: tuple[tuple[float, str], ...] = (),
                   hang_up_after: float = 0, wait_end: float = 45) -> Leg | None:
        """One caller: dial, press keys at the given delays, hang up or wait for the PBX to; a call
        that ends earlier than the script expected is reported, never raised."""
        self.say(f"- {caller} calls {did}: {what}")
        self.callers.append(caller)
        before = await self.latest_call_id()
        leg = await self.world.call(did, caller)
        if not await self._answered(leg):
            self.say("  nobody answered within 10 s; going on")
            await self.world.hangup(leg)
            return None
        for delay, digits in presses:
            if await self._wait_end(leg, delay):
                self.say(f"  the call ended before the caller could press {digits}: the plan took another "
                         "branch than this script expected; going on")
                break
            try:
                await self.world.press(leg, digits)
            except AriError:
                self.say(f"  the call was gone when pressing {digits}; going on")
                break
        if hang_up_after and not await self._wait_end(leg, hang_up_after):
            await self.world.hangup(leg)
        if not await self._wait_end(leg, wait_end):
            self.say(f"  still connected after {wait_end:.0f} s; hanging up")
            await self.world.hangup(leg)
        await self.show_outcome(caller, before)
        return leg

    async def _answered(self, leg: Leg) -> bool:
        try:
            await asyncio.wait_for(leg.answered.wait(), 10)
            return True
        except asyncio.TimeoutError:
            return False

    async def latest_call_id(self) -> int:
        calls = (await self.api.get("/api/calls?limit=200"))["calls"]
        return max((c["id"] for c in calls), default=0)

    async def show_outcome(self, caller: str, after_id: int) -> None:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            calls = (await self.api.get("/api/calls?limit=50"))["calls"]
            mine = [c for c in calls if c["caller"] == caller and c["direction"] == "inbound" and c["ended_at"]
                    and c["id"] > after_id]
            if mine:
                c = mine[0]
                self.last_call_id = c["id"]
                by = f", answered by {c['answered_by']}" if c.get("answered_by") else ""
                self.say(f"  call log #{c['id']}: {c['outcome']}{by} ({c['source']})")
                return
            await asyncio.sleep(0.5)
        self.say("  (no finished call record yet)")

    async def run(self) -> list[str]:
        plan, world = self.plan, self.world
        numbers = list(plan.numbers)
        main = numbers[0]
        ads = next((n for n in numbers[1:] if plan.numbers[n].entry == plan.numbers[main].entry), None)
        now = await self.now()
        state = branch_at(plan, main, now)
        local = now.astimezone(ZoneInfo(plan.timezone))
        self.say(f"The service's clock: {local:%a %d %b %Y %H:%M} ({plan.timezone}); the office is {state}.")
        menu = _follow(plan, plan.numbers[main].entry, state)
        digits = menu_digits(plan, menu) if isinstance(menu, MenuNode) else {}
        staff = list(plan.staff)
        if state != "open":
            self.say("Outside opening hours callers hear the closed message; `make stop && make demo` runs "
                     "the demo on a working-hours clock to show the menu, the hunt and the queue.")
        for ext in staff:
            world.behaviours[ext] = Behaviour("answer", after=1.0, hangup_after=4)

        if "hunt" in digits:
            await self.call(main, "+79161110001", f"presses {digits['hunt']} in the menu: a hunt rings the staff "
                            "phones in turn, the first that answers talks", ((5, digits["hunt"]),))
        else:
            self.say("- the menu has no hunt group: skipped")
        if ads:
            await self.call(ads, "+79262220002", f"calls the advert's number ({plan.numbers[ads].source}) and "
                            "talks to whoever answers", ((5, digits.get("hunt", "0")),))
        await self.queue_with_callback(main, menu, digits)
        await self.call(main, "+79033330003", "listens to the menu and hangs up: a missed call",
                        hang_up_after=7)
        await self.missed_and_mailbox("+79033330003")
        await self.campaign(now)
        await self.outbound_routes()
        return self.callers

    async def queue_with_callback(self, main: str, menu, digits: dict[str, str]) -> None:
        if "queue" not in digits:
            self.say("- the plan's menu has no queue: skipped")
            return
        queue = _follow(self.plan, menu.choices[digits["queue"]], "open")
        if not queue.callback_after:
            self.say(f"- queue {queue.id} offers no call-back: skipped")
            return
        customer = "+79175550005"
        for ext in queue.agents:                # every agent is on a call for a while: the caller waits
            self.world.behaviours[ext] = Behaviour("answer", after=0.5, hangup_after=queue.callback_after + 40)
        self.world.behaviours[customer] = Behaviour("answer", after=1.0)
        busy = [await self.world.call(main, f"+7916777000{i}") for i, _ in enumerate(queue.agents)]
        for i, leg in enumerate(busy):
            self.callers.append(f"+7916777000{i}")
            await self._answered(leg)
            await asyncio.sleep(4)
            await self.world.press(leg, digits["queue"])
        await asyncio.sleep(3)
        leg = await self.call(main, customer, f"presses {digits['queue']}: every agent of queue {queue.id} is "
                              f"busy; after {queue.callback_after:.0f} s the caller presses 1 to be called back",
                              ((4, digits["queue"]), (queue.callback_after + 8, "1")), wait_end=20)
        for ext in queue.agents:
            self.world.behaviours[ext] = Behaviour("answer", after=1.0, hangup_after=5)
        for other in busy:
            await self._wait_end(other, 60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            mine = [c for c in (await self.api.get("/api/queues/callbacks"))["callbacks"] if c["number"] == customer]
            if mine and mine[0]["status"] in ("done", "failed"):
                self.say(f"  call-back {mine[0]['status']}: agent {mine[0]['agent']} called the customer back")
                return
            await asyncio.sleep(1)
        if leg is not None:
            self.say("  the call-back has not happened within a minute; going on")

    async def missed_and_mailbox(self, caller: str) -> None:
        deadline = time.monotonic() + 15            # the review follows the call's record by a moment
        while not (items := (await self.api.get(f"/api/missed?customer={caller.replace('+', '%2B')}"))["items"]) \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if items:
            self.say(f"  missed-call list: item #{items[0]['id']} ({items[0]['reason']}), open for a call-back")
        else:
            self.say("  (the missed-call item has not appeared)")
        key = f"call{self.last_call_id}:"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sent = [m for m in (await self.api.get("/api/notifications/outbox")).get("messages", []) if key in m["key"]]
            if sent:
                self.say(f"  mailed to {', '.join(m['target'] for m in sent)} (the console's Mailbox page shows what "
                         "the demo mail server received)")
                return
            await asyncio.sleep(1)
        self.say("  no mail about it (no rule in notifications.yaml matched it)")

    async def campaign(self, now: datetime) -> None:
        people = {"+79161230001": Behaviour("answer", after=1.0, press="1", press_after=2.0),
                  "+79161230002": Behaviour("answer", after=1.0, press="2", press_after=2.0),
                  "+79161230003": Behaviour("busy")}
        self.world.behaviours.update(people)
        departure = (now + timedelta(hours=6)).astimezone(ZoneInfo(self.plan.timezone))
        rows = [{"key": f"demo-{int(time.time())}-{i}", "name": f"Passenger {i + 1}", "phone": phone,
                 "trip_id": "DEMO-1", "route": "Moscow - Tver", "departure": f"{departure:%Y-%m-%d %H:%M}",
                 "seat": str(i + 1)} for i, phone in enumerate(people)]
        self.say("- a campaign asks 3 passengers to confirm their seats (1 confirms, 2 cancels, 3 is busy)")
        created = await self.api.post("/api/campaigns", {"name": "Demo trip", "profile": "confirm", "rows": rows})
        started = await self.api.post(f"/api/campaigns/{created['campaign']['id']}/start") \
            if "campaign" in created else created
        if "error" in started:
            self.say(f"  the campaign could not start ({started['message']}); going on")
            return
        cid = created["campaign"]["id"]
        deadline = time.monotonic() + 45
        counts: dict = {}
        while time.monotonic() < deadline:
            shown = await self.api.get(f"/api/campaigns/{cid}")
            counts = shown["counts"]
            answered = [r for r in shown["rows"] if r.get("answer")]
            if len(answered) >= 2:
                break
            await asyncio.sleep(1)
        self.say(f"  campaign #{cid}: {counts}; the busy number is tried again later")
        await self.api.post(f"/api/campaigns/{cid}/pause")

    async def outbound_routes(self) -> None:
        self.say("- outbound calls: which trunk each number leaves on")
        for number in ("+79161234567", "+79031234567", "+74957777777"):
            route = await self.api.get(f"/api/route?number={number.replace('+', '%2B')}")
            if "error" in route:
                self.say(f"  {number}: {route['message']}")
                continue
            self.say(f"  {number}: carrier {route['carrier'] or 'unknown'} ({route['carrier_source']}) -> "
                     f"trunk {route['trunk']}")


# ----- make demo -----

async def service_up(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/status") as r:
                return r.status == 200
    except aiohttp.ClientError:
        return False


async def start_service(settings: Settings, plan: Plan) -> bool:
    """`make run` in the background on the demo clock; `make stop` stops it."""
    clock = demo_clock(plan, list(plan.numbers)[0], datetime.now().astimezone())
    print(f"starting the service on the demo clock {clock.isoformat()} (log: var/demo-service.log)")
    settings.var.mkdir(parents=True, exist_ok=True)
    log = open(settings.var / "demo-service.log", "ab")
    subprocess.Popen([str(ROOT / "scripts" / "run.sh")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                     env={**os.environ, "IVR_CLOCK": clock.isoformat()}, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if await service_up(settings.public_url):
            return True
        await asyncio.sleep(1)
    return False


async def cluster_target(settings: Settings) -> tuple[Api, str, str, int] | None:
    """When `make cluster` runs (its cluster file and a serving instance): that instance's API with
    the token it writes for local commands, its console, and the edge the world's phones and carrier
    talk to. None: the single service of `make run`."""
    if not settings.path(settings.cluster_file).exists():
        return None
    layout = load_layout(settings)
    for instance in layout.instances:
        if instance_pid(layout, instance) and await service_up(instance.url):
            token = (layout.root / instance.name / "cli-token").read_text().strip()
            return (Api(instance.url, {"Authorization": f"Bearer {token}"}), instance.url,
                    layout.edge_address, layout.edge_port)
    return None


async def demo(settings: Settings) -> int:
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    cluster = await cluster_target(settings)
    if cluster is not None:
        api, console, sip_address, sip_port = cluster
        print(f"the cluster runs: calls go through its edge {sip_address}:{sip_port}, the API of {console}")
    else:
        if not await service_up(settings.public_url) and not await start_service(settings, plan):
            print("the service did not start: see var/demo-service.log")
            return 1
        api, console = Api(local_url(settings), local_headers(settings)), settings.public_url
        sip_address, sip_port = settings.sip_address, settings.sip_port
    world_ip = os.environ.get("IVR_DEMO_WORLD_IP", "127.0.0.2")
    instance = Instance("world", settings.var / "asterisk" / "world", Path(settings.asterisk_rootfs))
    layout = WorldLayout(world_ip, 8088, sip_address, sip_port)
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
    try:
        callers = await Demo(world, api, plan).run()
    finally:
        await world.stop()
    await asyncio.sleep(1)
    if cluster is None:
        subprocess.run([sys.executable, "-m", "ivr.cli", "calls", "--limit", str(len(callers))])
        print(f"\nopen the console: {console}/ (user admin, password in var/admin-password)")
    else:
        print(f"\nopen the console: {console}/ (user admin, password in the first instance's "
              f"directory: admin-password)")
    return 0


def stop() -> int:
    settings = load_settings()
    Instance("world", settings.var / "asterisk" / "world", Path(settings.asterisk_rootfs)).stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop", action="store_true", help="stop the world simulator")
    args = parser.parse_args()
    sys.exit(stop() if args.stop else asyncio.run(demo(load_settings())))
