"""Campaign calls on real SIP: world subscribers scripted per number; who was called, how often,
at what intervals, and the answers stored. Campaigns are made, started and read through the HTTP
API, as an operator's system would."""
from __future__ import annotations

import asyncio
import json
import shutil
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from conftest import OPEN, PLANS, SESSION_START, heard, webhook_receiver
from waits import wait_bridged
from ivr.notify.webhook import KEY_HEADER, SIGNATURE_HEADER, verify
from ivr.testing.world import Behaviour
from test_missed import call_and_hang_up, item_of
from test_transfer import VOICE, incoming, sound_in

RETRY = 3.0       # seconds, tests/integration/plans/campaign.yaml


def service_now() -> datetime:
    return datetime.fromisoformat(OPEN) + timedelta(seconds=time.monotonic() - SESSION_START)


@pytest.fixture(scope="session", autouse=True)
def var_dir(stack_dir):
    # ari_app.py (being edited) writes var/admin-password before creating var/.
    (stack_dir / "var").mkdir(exist_ok=True)


@pytest.fixture
def campaigns(stack_dir):
    """The test profiles in the stack's campaigns.yaml (the service reads it when it changes)."""
    shutil.copy(PLANS / "campaign.yaml", stack_dir / "campaigns.yaml")


def passengers(numbers: list[str], trip: str = "T1", **same: str) -> list[dict]:
    """API rows, one per number, leaving five hours from now (the service's clock)."""
    departure = (service_now() + timedelta(hours=5)).isoformat()
    return [{"key": n, "name": f"P{i}", "phone": n, "trip_id": trip, "departure": departure, "seat": str(10 + i),
             **same} for i, n in enumerate(numbers)]


async def start_campaign(service, profile: str, rows: list[dict], name: str = "test") -> int:
    answer = await service.post_ok("/api/campaigns", {"name": name, "profile": profile, "rows": rows})
    assert answer["added"] == len(rows), answer
    cid = answer["campaign"]["id"]
    await service.post_ok(f"/api/campaigns/{cid}/start")
    return cid


async def wait_done(service, cid: int, timeout: float = 60) -> dict:
    """GET /api/campaigns/{id} once the campaign is done: the campaign, its rows and attempts."""
    deadline = time.monotonic() + timeout
    while (shown := await service.get(f"/api/campaigns/{cid}"))["campaign"]["status"] != "done":
        assert time.monotonic() < deadline, shown["counts"]
        await asyncio.sleep(0.5)
    return shown


async def run_campaign(service, profile: str, numbers: list[str], timeout: float = 60) -> dict:
    return await wait_done(service, await start_campaign(service, profile, passengers(numbers)), timeout)


async def outbound_record(service, number: str, timeout: float = 15) -> dict:
    """The record of the service's call to `number` (a campaign's or a staff phone's), once stored."""
    async def stored() -> dict:
        while True:
            calls = (await service.get("/api/calls?limit=50"))["calls"]
            if mine := [c for c in calls if c["caller"] == number and c["direction"] == "outbound"]:
                return await service.get(f"/api/calls/{mine[0]['id']}")
            await asyncio.sleep(0.3)
    return await asyncio.wait_for(stored(), timeout)


async def test_answers_busy_no_answer_and_silence(service, world, campaigns):
    world.reset()
    numbers = {"+79161000101": Behaviour("answer", after=0.3, press="1", press_after=1.0),
               "+79161000102": Behaviour("answer", after=0.3, press="2", press_after=1.0),
               "+79161000103": Behaviour("busy"),
               "+79161000104": Behaviour("ignore"),
               "+79161000105": Behaviour("answer", after=0.3)}
    world.behaviours.update(numbers)
    shown = await run_campaign(service, "confirm", list(numbers))
    cid = shown["campaign"]["id"]

    calls: dict[str, list] = {}
    for leg in world.incoming:
        calls.setdefault(leg.target, []).append(leg)
    assert {n: len(legs) for n, legs in calls.items()} == {
        "+79161000101": 1, "+79161000102": 1, "+79161000103": 2, "+79161000104": 2, "+79161000105": 1}
    assert all(leg.via == "default" for leg in world.incoming)
    for number in ("+79161000103", "+79161000104"):
        first, second = calls[number]
        gap = second.invited_at - (first.ended_at or first.invited_at)
        assert gap >= RETRY - 0.5, (number, gap)
    # the passenger who said nothing heard the question twice, then "we will call again"
    silent = calls["+79161000105"][0]
    assert silent.ended_at - silent.answered_at > 2 * 2.0

    rows = {r["phone"]: r for r in shown["rows"]}
    assert {n: (r["status"], r["result"], r["attempts"]) for n, r in rows.items()} == {
        "+79161000101": ("done", "confirm", 1), "+79161000102": ("done", "cancel", 1),
        "+79161000103": ("done", "busy", 2), "+79161000104": ("done", "no_answer", 2),
        "+79161000105": ("done", "no_input", 1)}
    attempts = shown["attempts"]
    digits = {a["number"]: a["digit"] for a in attempts if a["digit"]}
    assert digits == {"+79161000101": "1", "+79161000102": "2"}
    assert all(a["ended_at"] is not None and a["channel_id"].startswith(f"camp-{cid}-") for a in attempts)


async def test_a_passenger_marked_done_while_ringing_is_not_called_again(service, world, campaigns):
    # The passenger called in and confirmed with a dispatcher while the PBX was ringing them.
    world.reset()
    number = "+79161000301"
    world.behaviours[number] = Behaviour("ignore")
    cid = await start_campaign(service, "confirm", passengers([number], "T5", name="Olga"), "marked")
    deadline = time.monotonic() + 15
    while not world.incoming:
        assert time.monotonic() < deadline, "the passenger was never called"
        await asyncio.sleep(0.05)
    status, answer = await service.post(f"/api/campaigns/{cid}/done",
                                        {"phone": "8 916 100-03-01", "answer": "confirmed", "by": "olga"})
    assert status == 200, answer
    await wait_done(service, cid, 30)
    await asyncio.sleep(RETRY + 1.0)                 # a retry of the unanswered call would be here by now
    assert [leg.target for leg in world.incoming] == [number]
    (row,) = (await service.get(f"/api/campaigns/{cid}"))["rows"]
    assert (row["status"], row["result"], row["attempts"]) == ("done", "confirm", 1)


async def test_the_passenger_hears_intro_trip_and_question_in_order(service, world, campaigns, prompts, settings):
    world.reset()
    number = "+79161000301"
    # intro 3.9 s, the trip about 5 s, the question 8.4 s: press once all of them were heard
    world.behaviours[number] = Behaviour("answer", after=0.3, press="1", press_after=19.0)
    seat = settings.path(settings.sounds_dir) / "generated" / "ru" / "say" / "seat.wav"
    candidates = {**prompts, "ru": {**prompts["ru"], "say/seat": seat}}
    cid = await start_campaign(service, "spoken", passengers([number], "T5", name="Иван", seat="12"), "spoken")
    shown = await wait_done(service, cid)
    [leg] = [leg for leg in world.incoming if leg.target == number]
    names = heard(await world.wait_recording(leg), candidates)
    assert names == ["ru/campaign-intro", "ru/say/seat", "ru/campaign-confirm-question",
                     "ru/campaign-confirmed"], names
    [row] = shown["rows"]
    assert (row["status"], row["result"]) == ("done", "confirm")


@pytest.fixture
async def hooks(service, stack_dir):
    """A webhook receiver, configured in the stack's notifications.yaml (the service restarts to read it)."""
    async with webhook_receiver(stack_dir, HOOK_SECRET) as hook:
        service.stop()
        service.start()
        await service.wait_ready()
        yield hook
    service.stop()
    service.start()
    await service.wait_ready()


HOOK_SECRET = "campaign-secret"


async def test_each_answer_is_posted_as_a_signed_webhook(service, world, campaigns, stack_dir, hooks):
    url, received = hooks
    text = (PLANS / "campaign.yaml").read_text(encoding="utf-8") + f"""
  hooked:
    flow: confirm
    hours: {{daily: "00:00-24:00"}}
    ring_seconds: 4
    answer_timeout: 2
    max_attempts: 1
    pacing: {{max_concurrent: 4, reserve_inbound: 0, calls_per_second: 5}}
    prompts: {{intro: [], question: [invalid-choice], thanks: {{confirm: [goodbye], cancel: [goodbye]}}}}
    digits: {{"1": confirm, "2": cancel}}
    webhook: {url}
"""
    (stack_dir / "campaigns.yaml").write_text(text, encoding="utf-8")
    world.reset()
    numbers = {"+79161000401": Behaviour("answer", after=0.3, press="1", press_after=1.0),
               "+79161000402": Behaviour("answer", after=0.3, press="2", press_after=1.0),
               "+79161000403": Behaviour("busy")}
    world.behaviours.update(numbers)
    shown = await run_campaign(service, "hooked", list(numbers))
    cid = shown["campaign"]["id"]
    deadline = time.monotonic() + 15
    while len(received) < 2:
        assert time.monotonic() < deadline, received
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)          # nothing more may come: the busy passenger gave no answer
    assert len(received) == 2
    for body, headers in received:
        assert verify(HOOK_SECRET, body, headers[SIGNATURE_HEADER])
    payloads = {p["phone"]: p for p in (json.loads(b) for b, _ in received)}
    attempts = {a["number"]: a for a in shown["attempts"]}
    rows = {r["phone"]: r for r in shown["rows"]}
    assert {n: (p["event"], p["campaign_id"], p["row_id"], p["digit"], p["answer"], p["attempt_id"])
            for n, p in payloads.items()} == {
        "+79161000401": ("campaign-answer", cid, rows["+79161000401"]["id"], "1", "confirm",
                         attempts["+79161000401"]["id"]),
        "+79161000402": ("campaign-answer", cid, rows["+79161000402"]["id"], "2", "cancel",
                         attempts["+79161000402"]["id"])}
    assert {headers[KEY_HEADER] for _, headers in received} == {p["idempotency_key"] for p in payloads.values()}


async def watch_cards(service, extension: str, seen: list[dict]) -> None:
    """Keep every card /api/cards shows for the extension, until cancelled."""
    async with aiohttp.ClientSession(headers=service.headers) as http:
        while True:
            async with http.get(f"{service.url}/api/cards", params={"extension": extension}) as r:
                seen.extend((await r.json())["cards"])
            await asyncio.sleep(0.1)


async def test_option_3_bridges_the_passenger_to_the_dispatcher(service, world, campaigns, plan, prompts):
    world.reset()
    number = "+79161000501"
    welcome = str(prompts["en"]["welcome"]).removesuffix(".wav")
    world.behaviours[number] = Behaviour("answer", after=0.3, press="3", press_after=1.0)
    # the dispatcher answers, speaks (en/welcome, 2.7 s) once the passenger is on the line, hangs up
    # (rings 1 s: long enough for the card watcher to see it ringing on a busy machine)
    world.behaviours["101"] = Behaviour("answer", after=1.0, play=(f"sound:{welcome}",), play_after=1.0,
                                        hangup_after=4.0)
    cards: list[dict] = []
    watcher = asyncio.create_task(watch_cards(service, "101", cards))
    try:
        shown = await run_campaign(service, "booking", [number])
    finally:
        watcher.cancel()
    passenger = next(leg for leg in world.incoming if leg.target == number)
    dispatcher = next(leg for leg in world.incoming if leg.target == "101")
    assert dispatcher.answered_at is not None and dispatcher.answered_at > passenger.answered_at
    # the dispatcher's phone showed the passenger and the trip, the console card too, gone after the call
    [row] = shown["rows"]
    departure = datetime.fromisoformat(row["departure"]).astimezone(ZoneInfo(plan.timezone))
    label = f"T1 {departure:%d.%m %H:%M} P0"          # trip, time, name: what matters first
    assert (dispatcher.caller_name, dispatcher.caller_number) == (label, number)
    assert {c["state"] for c in cards} == {"ringing", "talking"}, cards
    fields = {f["name"]: f["value"] for f in cards[-1]["fields"]}
    assert (cards[-1]["title"], cards[-1]["number"], cards[-1]["label"]) == ("P0", number, label)
    assert (fields["Trip"], fields["Departure"], fields["Seat"], fields["Campaign"], fields["Pressed"]) == (
        "T1", f"{departure:%d.%m.%Y %H:%M}", "10", "test", "3 (dispatcher)")
    assert (await service.get("/api/cards?extension=101"))["cards"] == []
    names = heard(await world.wait_recording(passenger), prompts)
    # the thanks, then the dispatcher's voice through the bridge
    assert names[-2:] == ["ru/all-busy", "en/welcome"], names
    [attempt] = shown["attempts"]
    assert (attempt["digit"], attempt["answer"]) == ("3", "dispatcher")
    assert (row["status"], row["result"]) == ("done", "dispatcher")


async def test_a_dispatcher_passes_an_option_3_passenger_on(service, world, campaigns, pbx):
    """Option 3 put the passenger through to 101, whose Transfer key (a REFER) passes them on to 102:
    the passenger talks to 102, the attempt keeps its answer, the call record tells the transfer."""
    world.reset()
    number = "+79161000503"
    world.behaviours[number] = Behaviour("answer", after=0.3, press="3", press_after=1.0)
    world.behaviours["101"] = Behaviour("answer", after=0.5)
    world.behaviours["102"] = Behaviour("answer", after=1.0, play=VOICE, play_after=0.3, hangup_after=2.5)
    campaign = asyncio.create_task(run_campaign(service, "booking", [number]))
    dispatcher = await incoming(world, "101", timeout=30)
    await asyncio.wait_for(dispatcher.answered.wait(), 10)
    await wait_bridged(pbx, "PJSIP/101-")          # the passenger and 101 talk
    await world.transfer(dispatcher, "102")
    target = await incoming(world, "102")
    shown = await campaign

    passenger = next(leg for leg in world.incoming if leg.target == number)
    # Never dropped: the call ended when 102 hung up, and the passenger heard 102 (its recording
    # starts when it answers).
    assert target.answered_at is not None and passenger.ended_at >= target.answered_at + 2.0
    spoke = target.answered_at - passenger.answered_at
    assert sound_in(await world.wait_recording(passenger), spoke + 0.5, spoke + 1.3) > 0.6
    [attempt], [row] = shown["attempts"], shown["rows"]
    assert (attempt["digit"], attempt["answer"]) == ("3", "dispatcher")
    assert (row["status"], row["result"]) == ("done", "dispatcher")
    record = await outbound_record(service, number)
    assert record["answered_by"] == "102", record
    assert [s["data"] for s in record["steps"] if s["kind"] == "transfer"] == [
        {"by": "101", "to": "102", "mode": "blind"}], record
    assert [s["data"]["member"] for s in record["steps"] if s["kind"] == "answered"] == ["101", "102"], record


async def test_a_campaign_call_that_reaches_the_customer_closes_their_missed_call(service, world, campaigns):
    # The customer's call was missed; the trip campaign then reaches them and they talk 12 s (option 3
    # to a dispatcher): the missed-call list counts that as reaching them, like any call-back.
    world.reset()
    number = "+79161000601"
    await call_and_hang_up(world, number, after=1.0)
    item = await item_of(service, number, status="open")
    world.behaviours[number] = Behaviour("answer", after=0.3, press="3", press_after=1.0)
    world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=12.0)
    await run_campaign(service, "booking", [number])
    closed = await item_of(service, number, status="closed")
    assert closed["id"] == item["id"] and closed["close_reason"] == "called_back", closed


# The routing plan (tests/integration/plans/routing.yaml): megafon's trunk has 2 channels.
from test_routing import routing  # noqa: E402,F401  (the service on the routing plan)

CAPACITY_PROFILES = """
profiles:
  cap:
    flow: confirm
    hours: {daily: "00:00-24:00"}
    deadline_hours: 1
    ring_seconds: 4
    answer_timeout: 2
    max_attempts: 1
    pacing: {max_concurrent: 10, reserve_inbound: 1, calls_per_second: 10}
    digits: {"1": confirm, "2": cancel, "0": repeat}
    prompts:
      intro: []
      question: [invalid-choice]
      thanks: {confirm: [goodbye], cancel: [goodbye]}
      no_input: [no-input]
      call_again: [closed]
"""


def most_at_once(legs) -> int:
    """The largest number of these legs up at one moment (from INVITE to the end)."""
    edges = sorted([(leg.invited_at, 1) for leg in legs] + [(leg.ended_at, -1) for leg in legs],
                   key=lambda e: (e[0], e[1]))
    now = top = 0
    for _, step in edges:
        now += step
        top = max(top, now)
    return top


async def test_campaign_keeps_within_the_carrier_trunk_and_leaves_inbound_a_channel(routing, world, stack_dir):
    (stack_dir / "campaigns.yaml").write_text(CAPACITY_PROFILES, encoding="utf-8")
    numbers = [f"+792612345{i:02d}" for i in range(10)]          # megafon's 926
    for n in numbers:
        world.behaviours[n] = Behaviour("answer", after=0.5, press="1", press_after=0.8)
    cid = await start_campaign(routing, "cap", passengers(numbers, "T7"), "cap")
    while len(world.incoming) < 3:
        await asyncio.sleep(0.05)
    # a passenger calls the company through megafon while the campaign runs
    inbound = await world.call("+74951110000", "+79261119999", via="megafon")
    await asyncio.wait_for(inbound.answered.wait(), 5)
    await asyncio.wait_for(inbound.ended.wait(), 20)       # greeting, then goodbye
    shown = await wait_done(routing, cid, 90)
    rows, attempts = shown["rows"], shown["attempts"]
    legs = [leg for leg in world.incoming if leg.target in numbers]
    assert sorted(leg.target for leg in legs) == sorted(numbers)           # each once
    assert {leg.via for leg in legs} == {"megafon"} and {a["trunk"] for a in attempts} == {"megafon"}
    # capacity 2, one channel kept for inbound: one campaign call at a time, two with the inbound one
    assert most_at_once(legs) == 1
    assert most_at_once(legs + [inbound]) == 2
    assert {(r["status"], r["result"]) for r in rows} == {("done", "confirm")}
