"""Campaign scenarios on real SIP (issue 7's test list): twenty passengers on four carriers with
answering-machine detection, the callee's local hours under an injected clock, and two service
instances sharing one PostgreSQL database.

The first two run on the routing plan (tests/integration/plans/routing.yaml: a trunk per carrier,
megafon 2 channels, mts/beeline/tele2 1 each; the sample registry imported, so the router knows
MTS's 916 and each range's region); the last on the default plan with its one uncapped trunk.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from conftest import PLANS, WEB_PORT, ServiceProcess, heard, webhook_receiver
from waits import wait_until
from ivr.campaigns.config import load_profiles
from ivr.campaigns.model import Passenger
from ivr.campaigns.service import create_campaign
from ivr.campaigns.store import CampaignStore
from ivr.notify.webhook import KEY_HEADER, SIGNATURE_HEADER, verify
from ivr.plan.loader import load_plan
from ivr.store import open_database
from ivr.testing.postgres import create_database
from ivr.testing.world import Behaviour, Leg
from test_campaign import passengers, service_now, start_campaign, wait_done
from test_routing import routing, var_dir  # noqa: F401  (the service on the routing plan)

RETRY = 3.0            # seconds: every retry rule of the profiles below
HOOK_SECRET = "scenario-secret"
DISPATCHER = "+79261234580"          # the routing plan's mobile_hunt member (a driver on MegaFon)

# Answering-machine detection with app_amd's defaults: a "hello" of 0.6 s then silence is a human,
# several seconds of speech without a pause (a recorded greeting) is a machine.
CARRIERS_PROFILE = """
profiles:
  carriers:
    flow: confirm
    hours: {{daily: "00:00-24:00"}}
    deadline_hours: 1
    ring_seconds: 3
    answer_timeout: 1.5
    max_attempts: 3
    retry:
      busy: {{after: 3s, retries: 1}}
      no_answer: {{after: 3s, retries: 1}}
      machine: {{after: 3s, retries: 1}}
      no_input: {{after: 3s, retries: 0}}
      interrupted: {{after: 3s, retries: 0}}
    pacing: {{max_concurrent: 10, reserve_inbound: 0, calls_per_second: 10}}
    amd: {{enabled: yes}}
    machine: message
    prompts:
      intro: []
      question: [invalid-choice]
      thanks: {{confirm: [], cancel: [], dispatcher: []}}
      no_input: []
      call_again: []
      machine: [goodbye]
    dispatcher: mobile_hunt
    webhook: {url}
"""


async def wait_stored(store: CampaignStore, campaign_id: int, timeout: float) -> None:
    """The campaign done in the database (the carriers scenario stores passengers without a
    departure, which the API refuses, to keep their calls short)."""
    async def done() -> bool:
        return (await store.get(campaign_id)).status == "done"
    await wait_until(done, timeout, f"campaign {campaign_id} done", detail=lambda: store.counts(campaign_id))


def legs_by_number(legs: list[Leg]) -> dict[str, list[Leg]]:
    out: dict[str, list[Leg]] = {}
    for leg in legs:
        out.setdefault(leg.target, []).append(leg)
    return out


def retry_gaps(legs: list[Leg]) -> list[float]:
    """Seconds from the end of each call to the next INVITE to the same number."""
    return [b.invited_at - (a.ended_at or a.invited_at) for a, b in zip(legs, legs[1:])]


@pytest.fixture
async def hooks(service_process, stack_dir):
    """A webhook receiver in notifications.yaml; the service is stopped so that the next fixture
    (`routing`) starts it reading the receiver's address, and stopped again at the end."""
    async with webhook_receiver(stack_dir, HOOK_SECRET) as hook:
        service_process.stop()
        yield hook
    service_process.stop()


# ----- 1 + 2: twenty passengers on four carriers, answering machines among them -----

# number -> (carrier, script). Scripts: press1/2/3, silent (says hello, presses nothing), busy,
# ignore (rings until the PBX gives up), machine (a long greeting). "trip" is a human who listens
# to the whole trip before pressing 1.
PASSENGERS = {
    "+79261000001": ("megafon", "trip"), "+79261000002": ("megafon", "press2"),
    "+79261000003": ("megafon", "silent"), "+79261000004": ("megafon", "busy"),
    "+79261000005": ("megafon", "ignore"), "+79261000006": ("megafon", "machine"),
    "+79261000007": ("megafon", "press1"), "+79261000008": ("megafon", "press2"),
    "+79161000011": ("mts", "press1"), "+79161000012": ("mts", "busy"),
    "+79161000013": ("mts", "ignore"), "+79161000014": ("mts", "press2"),
    "+79030100021": ("beeline", "press1"), "+79030100022": ("beeline", "machine"),
    "+79030100023": ("beeline", "busy"), "+79030100024": ("beeline", "press2"),
    "+79500100031": ("tele2", "press3"), "+79500100032": ("tele2", "busy"),
    "+79500100033": ("tele2", "ignore"), "+79500100034": ("tele2", "press1"),
}
# script -> (INVITEs, the row's result, the digit stored)
EXPECTED = {"trip": (1, "confirm", "1"), "press1": (1, "confirm", "1"), "press2": (1, "cancel", "2"),
            "press3": (1, "dispatcher", "3"), "silent": (1, "no_input", ""), "busy": (2, "busy", ""),
            "ignore": (2, "no_answer", ""), "machine": (2, "machine", "")}


def scripts(settings) -> dict[str, Behaviour]:
    sounds = settings.data_dir / "sounds" / "en"
    # A phone sends audio all along (silence too): without frames app_amd never measures the pause
    # after "hello" and gives up undecided after its total analysis time.
    hello = (f"sound:{sounds / 'hello'}", f"sound:{sounds / 'silence' / '2'}")      # 0.6 s of voice
    greeting = (f"sound:{sounds / 'vm-intro'}",)           # 4.6 s of voice, no pause over 0.25 s

    def human(press: str = "", press_after: float = 3.0, hangup_after: float = 0.0) -> Behaviour:
        # "hello" 1 s after answering; AMD says HUMAN about 0.8 s after it, then the question plays
        return Behaviour("answer", after=0.3, play=hello, play_after=1.0, press=press, press_after=press_after,
                         hangup_after=hangup_after)
    return {"trip": human("1", press_after=8.8), "press1": human("1"), "press2": human("2"),
            # after pressing 3 the passenger stays on a while: the hunt dials the dispatcher
            "press3": human("3", hangup_after=4.0), "silent": human(),
            "busy": Behaviour("busy"), "ignore": Behaviour("ignore"),
            "machine": Behaviour("answer", after=0.3, play=greeting, play_after=1.0)}


async def test_twenty_passengers_on_four_carriers_with_answering_machines(hooks, routing, world, stack_dir,
                                                                           settings):
    url, received = hooks
    (stack_dir / "campaigns.yaml").write_text(CARRIERS_PROFILE.format(url=url), encoding="utf-8")
    plan = load_plan(stack_dir / "routing.yaml", secrets_path=PLANS / "secrets.yaml")
    profile = load_profiles(stack_dir / "campaigns.yaml", plan)["carriers"]
    behaviour = scripts(settings)
    world.reset()
    world.behaviours.update({n: behaviour[script] for n, (_, script) in PASSENGERS.items()})
    world.behaviours[DISPATCHER] = Behaviour("answer", after=0.5, hangup_after=1.5)
    trip_number = next(n for n, (_, s) in PASSENGERS.items() if s == "trip")
    # Only one passenger has a departure and a seat: the trip (5 s of speech) is spoken to them alone.
    people = [Passenger(name=f"P{i}", phone=n, trip_id="T20",
                        departure=service_now() + timedelta(hours=5) if n == trip_number else None,
                        seat="12" if n == trip_number else "")
              for i, n in enumerate(PASSENGERS)]
    db = await open_database(f"sqlite+aiosqlite:///{stack_dir}/routing.db")
    try:
        store = CampaignStore(db)
        campaign, added = await create_campaign(store, "carriers", profile, plan, people, service_now())
        assert added == 20
        await store.change(campaign.id, "start", service_now())
        try:
            await wait_stored(store, campaign.id, 120)
        finally:
            if (await store.get(campaign.id)).status == "running":
                await store.change(campaign.id, "cancel", service_now())
        rows = {r.passenger.phone: r for r in await store.rows(campaign.id)}
        attempts = await store.attempts(campaign.id)
    finally:
        await db.close()

    calls = legs_by_number([leg for leg in world.incoming if leg.target in PASSENGERS])
    # who was called, how many times, on which carrier's trunk
    assert {n: len(legs) for n, legs in calls.items()} == {n: EXPECTED[s][0] for n, (_, s) in PASSENGERS.items()}
    assert {n: {leg.via for leg in legs} for n, legs in calls.items()} == \
        {n: {carrier} for n, (carrier, _) in PASSENGERS.items()}
    assert {(a.number, a.trunk) for a in attempts} == {(n, c) for n, (c, _) in PASSENGERS.items()}
    # at what intervals: a retry waits its delay after the previous call ended (and not much longer
    # than the wait for its trunk's one channel)
    for n, legs in calls.items():
        for gap in retry_gaps(legs):
            assert RETRY - 0.5 <= gap <= RETRY + 30, (n, PASSENGERS[n], gap)
    # what was stored
    assert {n: (r.status, r.result, r.attempts) for n, r in rows.items()} == \
        {n: ("done", EXPECTED[s][1], EXPECTED[s][0]) for n, (_, s) in PASSENGERS.items()}
    assert {a.number: a.digit for a in attempts if a.digit} == \
        {n: EXPECTED[s][2] for n, (_, s) in PASSENGERS.items() if EXPECTED[s][2]}
    assert all(a.ended_at is not None for a in attempts)
    # app_amd: each machine was detected on both attempts, and every human got the question
    machines = {n for n, (_, s) in PASSENGERS.items() if s == "machine"}
    assert {a.outcome for a in attempts if a.number in machines} == {"machine"}
    assert "machine" not in {a.outcome for a in attempts if a.number not in machines}
    generated = settings.path(settings.sounds_dir) / "generated" / "ru"
    candidates = {"ru": {"invalid-choice": generated / "invalid-choice.wav", "goodbye": generated / "goodbye.wav",
                         "say/seat": generated / "say" / "seat.wav"}}
    for n in sorted(machines):
        # the machine message (goodbye here), never the question
        assert heard(await world.wait_recording(calls[n][0]), candidates) == ["ru/goodbye"], n
    trip_heard = heard(await world.wait_recording(calls[trip_number][0]), candidates)
    assert trip_heard[:2] == ["ru/say/seat", "ru/invalid-choice"], trip_heard
    # option 3: the hunt group rang the dispatcher
    assert [leg.target for leg in world.incoming].count(DISPATCHER) >= 1

    # one signed webhook per answer, with what the database holds
    answers = {a.number: a for a in attempts if a.answer}
    await wait_until(lambda: len(received) >= len(answers), 15, "a webhook per answer", detail=lambda: len(received))
    await asyncio.sleep(1.0)          # and no more than that: a late webhook would be here by now
    assert len(received) == len(answers) == 10
    for body, headers in received:
        assert verify(HOOK_SECRET, body, headers[SIGNATURE_HEADER])
    payloads = {p["phone"]: p for p in (json.loads(body) for body, _ in received)}
    assert {n: (p["campaign_id"], p["row_id"], p["attempt_id"], p["digit"], p["answer"])
            for n, p in payloads.items()} == \
        {n: (campaign.id, rows[n].id, a.id, a.digit, a.answer) for n, a in answers.items()}
    assert {headers[KEY_HEADER] for _, headers in received} == {p["idempotency_key"] for p in payloads.values()}


# ----- 3: the callee's local hours with an injected clock -----

HOURS_PROFILE = """
profiles:
  local:
    flow: confirm
    hours: {daily: "09:00-21:00"}          # the callee's local time
    deadline_hours: 1
    ring_seconds: 3
    answer_timeout: 1.5
    max_attempts: 1
    pacing: {max_concurrent: 4, reserve_inbound: 0, calls_per_second: 10}
    prompts: {intro: [], question: [invalid-choice], thanks: {confirm: [], cancel: []}}
    digits: {"1": confirm, "2": cancel}
"""
# 09:00 in Novosibirsk (UTC+7); the service's clock starts a few seconds before it.
NOVOSIBIRSK_NINE = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
LEAD = 12.0
# Sample registry ranges (config/numbering/sample-DEF-9xx.csv): 914 0xxxxxx Primorsky krai (MTS),
# 950 60xxxxx Novosibirsk oblast (Tele2), 926 Moscow (MegaFon).
VLADIVOSTOK, NOVOSIBIRSK, MOSCOW = "+79140000001", "+79506000001", "+79261000099"


async def api(service: ServiceProcess, path: str, body: dict | None = None) -> dict:
    status, payload = await service.post(path, body or {})
    assert status in (200, 201), payload
    return payload


async def test_a_passenger_in_novosibirsk_is_called_from_nine_local(routing, world, stack_dir, service_process):
    """At 01:59:48 UTC it is 11:59 in Vladivostok (callable), 08:59 in Novosibirsk (not yet) and
    04:59 in Moscow (not until 06:00 UTC). One daily window for all three: a Moscow number cannot be
    callable while Novosibirsk, four hours ahead, is still before nine, so the passenger called at
    once is in Vladivostok."""
    (stack_dir / "campaigns.yaml").write_text(HOURS_PROFILE, encoding="utf-8")
    world.reset()
    for n in (VLADIVOSTOK, NOVOSIBIRSK, MOSCOW):
        world.behaviours[n] = Behaviour("answer", after=0.3, press="1", press_after=0.8)
    on_routing_plan = dict(service_process.current)
    service_process.stop()
    service_process.start(**on_routing_plan,
                          IVR_CLOCK=(NOVOSIBIRSK_NINE - timedelta(seconds=LEAD)).isoformat())
    await service_process.wait_ready()
    # The booking system pushes the rows; the service picks each callee's zone from the registry.
    rows = [{"key": f"k{i}", "name": f"P{i}", "phone": n, "trip_id": "T3",
             "departure": "2026-11-25T12:00:00+00:00"} for i, n in enumerate((VLADIVOSTOK, NOVOSIBIRSK, MOSCOW))]
    created = await api(service_process, "/api/campaigns", {"name": "hours", "profile": "local", "rows": rows})
    cid = created["campaign"]["id"]
    assert created["added"] == 3, created
    assert datetime.fromisoformat(created["campaign"]["created_at"]) < NOVOSIBIRSK_NINE, \
        "the service took too long to start: the campaign was created after 02:00 UTC"
    await api(service_process, f"/api/campaigns/{cid}/start")
    try:
        def invited(number: str) -> Leg | None:
            return next((leg for leg in world.incoming if leg.target == number), None)
        await wait_until(lambda: invited(VLADIVOSTOK), 10, "Vladivostok called at once")
        await wait_until(lambda: invited(NOVOSIBIRSK), LEAD + 20, "Novosibirsk called at 09:00 local")

        async def settled() -> bool:
            rows = (await service_process.get(f"/api/campaigns/{cid}"))["rows"]
            return all(r["status"] == "done" for r in rows if r["phone"] != MOSCOW)
        await wait_until(settled, 15, "both calls ended and stored")
        shown = await service_process.get(f"/api/campaigns/{cid}")
    finally:
        await api(service_process, f"/api/campaigns/{cid}/cancel")
    rows_by = {r["phone"]: r for r in shown["rows"]}
    attempts = {a["number"]: a for a in shown["attempts"]}
    assert {n: r["timezone"] for n, r in rows_by.items()} == {
        VLADIVOSTOK: "Asia/Vladivostok", NOVOSIBIRSK: "Asia/Novosibirsk", MOSCOW: "Europe/Moscow"}
    assert sorted(attempts) == sorted([VLADIVOSTOK, NOVOSIBIRSK])
    # the service's own clock: Vladivostok before 02:00 UTC, Novosibirsk right after it
    vlad_at = datetime.fromisoformat(attempts[VLADIVOSTOK]["created_at"])
    nsk_at = datetime.fromisoformat(attempts[NOVOSIBIRSK]["created_at"])
    assert vlad_at < NOVOSIBIRSK_NINE <= nsk_at < NOVOSIBIRSK_NINE + timedelta(seconds=4), (vlad_at, nsk_at)
    # the world saw the same wait between the two INVITEs
    gap = invited(NOVOSIBIRSK).invited_at - invited(VLADIVOSTOK).invited_at
    assert gap >= (NOVOSIBIRSK_NINE - vlad_at).total_seconds() - 0.5, gap
    # Moscow: not called, waiting for 09:00 Moscow time
    assert invited(MOSCOW) is None
    assert (rows_by[MOSCOW]["status"], rows_by[MOSCOW]["attempts"]) == ("ready", 0)
    assert datetime.fromisoformat(rows_by[MOSCOW]["next_at"]) == datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)
    assert {n: rows_by[n]["result"] for n in (VLADIVOSTOK, NOVOSIBIRSK)} == \
        {VLADIVOSTOK: "confirm", NOVOSIBIRSK: "confirm"}


# ----- 4: two service instances, one PostgreSQL database -----

PAIR_PROFILE = """
profiles:
  pair:
    flow: confirm
    hours: {daily: "00:00-24:00"}
    deadline_hours: 1
    ring_seconds: 3
    answer_timeout: 1.5
    max_attempts: 2
    retry: {busy: {after: 2s, retries: 1}}
    pacing: {max_concurrent: 3, reserve_inbound: 0, calls_per_second: 10}
    prompts: {intro: [], question: [invalid-choice], thanks: {confirm: [], cancel: []}}
    digits: {"1": confirm, "2": cancel}
"""


async def test_two_instances_on_one_postgres_database_never_dial_a_row_twice(
        service_process, base_env, world, pbx, stack_dir, postgres_url):
    """Each instance is its own ARI app on the one PBX (one app name serves one websocket: a second
    connection to the same name takes the app over); the second renders its Asterisk files into a
    directory of its own, so the PBX keeps the first one's dialplan."""
    url = await create_database(postgres_url)
    db = await open_database(url)                 # migrated here, before two services race to do it
    (stack_dir / "campaigns.yaml").write_text(PAIR_PROFILE, encoding="utf-8")
    numbers = [f"+791610009{i:02d}" for i in range(20)]
    busy = set(numbers[::10])                      # two passengers are busy: each called twice
    world.reset()
    for n in numbers:
        world.behaviours[n] = Behaviour("busy") if n in busy else \
            Behaviour("answer", after=0.3, press="1", press_after=0.6)
    other_port = str(int(WEB_PORT) + 100)
    other = ServiceProcess({**base_env, "IVR_DATABASE_URL": url, "IVR_WEB_PORT": other_port,
                            "IVR_PUBLIC_URL": f"http://127.0.0.1:{other_port}", "IVR_ARI_APP": "ivr-b",
                            "IVR_ASTERISK_CONFIG_DIR": str(stack_dir / "pbx-b" / "etc"),
                            "IVR_VAR_DIR": str(stack_dir / "var-pg-b")}, stack_dir / "service-b.log")
    service_process.stop()
    try:
        # One after the other: started together on a fresh database, both create the first console
        # user and the loser exits ("user 'admin' already exists", ari_app.first_admin).
        service_process.start(IVR_DATABASE_URL=url, IVR_VAR_DIR=str(stack_dir / "var-pg-a"))
        await service_process.wait_ready()
        other.start()
        await other.wait_ready()
        # created and started on one instance; the other sees it in the shared database
        cid = await start_campaign(service_process, "pair", passengers(numbers, "T4"), "pair")
        shown = await wait_done(other, cid, 90)
        rows, attempts = shown["rows"], shown["attempts"]
    finally:
        other.stop()
        service_process.stop()          # the next test starts the default service again
        await db.close()

    calls = legs_by_number([leg for leg in world.incoming if leg.target in numbers])
    expected = {n: 2 if n in busy else 1 for n in numbers}
    assert {n: len(legs) for n, legs in calls.items()} == expected
    assert {r["phone"]: (r["status"], r["result"], r["attempts"]) for r in rows} == \
        {n: ("done", "busy" if n in busy else "confirm", expected[n]) for n in numbers}
    per_number: dict[str, int] = {}
    for a in attempts:
        per_number[a["number"]] = per_number.get(a["number"], 0) + 1
    assert per_number == expected
    assert len({a["channel_id"] for a in attempts}) == len(attempts)
    assert all(a["ended_at"] is not None for a in attempts)
    # both instances dialled: the rows were shared out, not all taken by one
    assert {a["instance"].rsplit(":", 1)[1] for a in attempts} == {WEB_PORT, other_port}
