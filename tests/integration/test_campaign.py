"""Campaign calls on real SIP: world subscribers scripted per number; who was called, how often,
at what intervals, and the answers stored."""
from __future__ import annotations

import asyncio
import shutil
import time
from datetime import datetime, timedelta

import pytest

from conftest import OPEN, PLANS, SESSION_START
from ivr.campaigns.config import load_profiles
from ivr.campaigns.model import Passenger
from ivr.campaigns.service import create_campaign
from ivr.campaigns.store import CampaignStore
from ivr.store import open_database
from ivr.testing.world import Behaviour

RETRY = 3.0       # seconds, tests/integration/plans/campaign.yaml


def service_now() -> datetime:
    return datetime.fromisoformat(OPEN) + timedelta(seconds=time.monotonic() - SESSION_START)


@pytest.fixture(scope="session", autouse=True)
def var_dir(stack_dir):
    # ari_app.py (being edited) writes var/admin-password before creating var/.
    (stack_dir / "var").mkdir(exist_ok=True)


@pytest.fixture
async def campaigns(stack_dir, base_env, plan):
    shutil.copy(PLANS / "campaign.yaml", stack_dir / "campaigns.yaml")
    db = await open_database(base_env["IVR_DATABASE_URL"])
    try:
        yield CampaignStore(db), load_profiles(stack_dir / "campaigns.yaml", plan)
    finally:
        await db.close()


async def run_campaign(store: CampaignStore, profile, plan, numbers: list[str], timeout: float = 60) -> int:
    departure = service_now() + timedelta(hours=5)
    people = [Passenger(name=f"P{i}", phone=n, trip_id="T1", departure=departure, seat=str(10 + i))
              for i, n in enumerate(numbers)]
    campaign, added = await create_campaign(store, "test", profile, plan, people, service_now())
    assert added == len(numbers)
    await store.change(campaign.id, "start", service_now())
    deadline = time.monotonic() + timeout
    while (await store.get(campaign.id)).status != "done":
        assert time.monotonic() < deadline, await store.counts(campaign.id)
        await asyncio.sleep(0.5)
    return campaign.id


async def test_answers_busy_no_answer_and_silence(service, world, campaigns, plan):
    store, profiles = campaigns
    world.reset()
    numbers = {"+79161000101": Behaviour("answer", after=0.3, press="1", press_after=1.0),
               "+79161000102": Behaviour("answer", after=0.3, press="2", press_after=1.0),
               "+79161000103": Behaviour("busy"),
               "+79161000104": Behaviour("ignore"),
               "+79161000105": Behaviour("answer", after=0.3)}
    world.behaviours.update(numbers)
    cid = await run_campaign(store, profiles["confirm"], plan, list(numbers))

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

    rows = {r.passenger.phone: r for r in await store.rows(cid)}
    assert {n: (r.status, r.result, r.attempts) for n, r in rows.items()} == {
        "+79161000101": ("done", "confirm", 1), "+79161000102": ("done", "cancel", 1),
        "+79161000103": ("done", "busy", 2), "+79161000104": ("done", "no_answer", 2),
        "+79161000105": ("done", "no_input", 1)}
    attempts = await store.attempts(cid)
    digits = {a.number: a.digit for a in attempts if a.digit}
    assert digits == {"+79161000101": "1", "+79161000102": "2"}
    assert all(a.ended_at is not None and a.channel_id.startswith(f"camp-{cid}-") for a in attempts)


async def test_sigkill_mid_campaign_never_calls_twice_and_keeps_answers(service, world, campaigns, plan):
    import signal
    store, profiles = campaigns
    world.reset()
    numbers = [f"+7916100020{i}" for i in range(8)]
    for n in numbers:
        world.behaviours[n] = Behaviour("answer", after=0.5, press="1", press_after=1.0)
    departure = service_now() + timedelta(hours=5)
    people = [Passenger(name=n, phone=n, trip_id="T9", departure=departure) for n in numbers]
    campaign, _ = await create_campaign(store, "kill", profiles["confirm"], plan, people, service_now())
    await store.change(campaign.id, "start", service_now())
    # kill while some calls ring and others are in the prompt
    while len(world.incoming) < 5:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.4)
    service.stop(signal.SIGKILL)
    service.start()
    await service.wait_ready()
    deadline = time.monotonic() + 60
    while (await store.get(campaign.id)).status != "done":
        assert time.monotonic() < deadline, await store.counts(campaign.id)
        await asyncio.sleep(0.5)

    per_number = {n: [leg for leg in world.incoming if leg.target == n] for n in numbers}
    assert all(1 <= len(legs) <= 3 for legs in per_number.values()), {n: len(v) for n, v in per_number.items()}
    rows = {r.passenger.phone: r for r in await store.rows(campaign.id)}
    attempts = await store.attempts(campaign.id)
    for n, legs in per_number.items():
        assert rows[n].attempts >= len(legs)
        # a digit that reached the PBX (the leg was up past the press) is stored
        pressed = [leg for leg in legs if leg.answered_at and leg.ended_at
                   and leg.ended_at - leg.answered_at > 1.6]
        if pressed:
            assert any(a.number == n and a.answer == "confirm" for a in attempts), (n, rows[n])
    assert sum(r.result == "confirm" for r in rows.values()) >= 1
    assert all(a.ended_at is not None for a in attempts)
