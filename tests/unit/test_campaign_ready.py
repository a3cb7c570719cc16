"""Calls claimed ahead (ivr/campaigns/ready.py), SQLite and PostgreSQL: a freed slot dials the
oldest ready call at once, not at the dialer's next round; a capped trunk's call waits for the
round's fresh count; one not dialled goes back to its row as it was (re-planned when its hours
passed, cancelled with its campaign); after a crash one is ended "lost" and never dialled."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest

from ivr.ari.bus import EventBus
from ivr.campaigns.config import default_profiles
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.model import Pacing
from ivr.campaigns.ready import READY_AHEAD, READY_HORIZON, READY_SECONDS, ClaimedCall, ReadyLine
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from ivr.config import load_settings
from ivr.plan.loader import load_plan_text
from ivr.testing.fake_ari import FakeAri
from test_campaign_store import NOW, claim, seeded
from test_campaign_trunks import PLAN               # trunks: default (no capacity limit), mts (3)

PROFILE = default_profiles()["confirm"]          # "lost" is called again after 5 minutes
FAST = replace(PROFILE, pacing=Pacing(max_concurrent=2, calls_per_second=1000))


@pytest.fixture
def plan():
    return load_plan_text(PLAN, "plan.yaml")


def new_dialer(store: CampaignStore, ari: FakeAri, plan, reconciled: bool = True) -> CampaignDialer:
    """A dialer on `store` and `ari`; `reconciled`: as after its start-up's reconcile, so it may dial."""
    dialer = CampaignDialer(store, settings=load_settings(env={}), ari=ari, bus=EventBus(),  # type: ignore[arg-type]
                            plans=SimpleNamespace(current=SimpleNamespace(plan=plan)),
                            catalog=None, now=lambda: NOW,
                            supervisor=SimpleNamespace(tasks={}), services=SimpleNamespace(router=None, missed=None))
    dialer.profiles = lambda: {"confirm": PROFILE}               # type: ignore[method-assign]
    if reconciled:
        dialer._reconciled.set()
    return dialer


async def until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_freed_slot_dials_the_oldest_ready_call_at_once(db, plan):
    store = CampaignStore(db)
    ari = FakeAri()
    dialer = new_dialer(store, ari, plan)
    cid = await seeded(store, 4)
    campaign = await store.get(cid)
    (_, ended), *ready = await claim(store, cid, dialer.instance, 4)
    trunks = ["default", "mts", "default"]
    calls = [ClaimedCall(campaign, FAST, plan, row, replace(a, trunk=t), time.monotonic())
             for (row, a), t in zip(ready, trunks)]
    for call in calls:
        dialer.ready.add(call)
    dialer.in_flight[cid] = 2
    try:
        dialer._free_slot(ended)                 # its call ended: no round runs in this test
        await until(lambda: ari.did("originate"))
        assert [op[1] for op in ari.did("originate")] == [calls[0].attempt.channel_id]
        assert dialer.in_flight[cid] == 2 and dialer.ready.count(cid) == 2

        # The next ready call is on a capped trunk: only the round, with fresh counts, dials it;
        # the freed slot takes the call behind it.
        dialer._free_slot(calls[0].attempt)
        await until(lambda: len(ari.did("originate")) == 2)
        assert ari.did("originate")[1][1] == calls[2].attempt.channel_id
        dialer.in_flight[cid] = 1
        assert await dialer._dial_ready_calls(cid, FAST, 1, {"default": None, "mts": 0}) == 1
        assert dialer.ready.count(cid) == 1                            # no channel left on it
        assert await dialer._dial_ready_calls(cid, FAST, 1, {"default": None, "mts": 1}) == 0
        await until(lambda: len(ari.did("originate")) == 3)
        assert ari.did("originate")[2][1] == calls[1].attempt.channel_id
    finally:
        await dialer.stop()


async def test_freed_slots_take_ready_calls_at_the_profiles_pace(db, plan):
    store = CampaignStore(db)
    ari = FakeAri()
    sent: list[float] = []
    originate = ari.originate

    async def timed(*args, **kw):
        sent.append(time.monotonic())
        return await originate(*args, **kw)

    ari.originate = timed                                            # type: ignore[method-assign]
    dialer = new_dialer(store, ari, plan)
    paced = replace(FAST, pacing=Pacing(max_concurrent=2, calls_per_second=5))   # 0.2 s apart
    cid = await seeded(store, 4)
    campaign = await store.get(cid)
    (_, e1), (_, e2), *ready = await claim(store, cid, dialer.instance, 4)
    for row, attempt in ready:
        dialer.ready.add(ClaimedCall(campaign, paced, plan, row, attempt, time.monotonic()))
    dialer.in_flight[cid] = 2
    try:
        dialer._free_slot(e1)
        dialer._free_slot(e2)                        # at once: both slots are taken, the dials paced
        assert dialer.in_flight[cid] == 2 and dialer.ready.count(cid) == 0
        await until(lambda: len(sent) == 2)
        assert sent[1] - sent[0] >= 0.19
    finally:
        await dialer.stop()


async def test_stop_hands_ready_calls_back_and_dials_none(db, plan):
    store = CampaignStore(db)
    ari = FakeAri()
    dialer = new_dialer(store, ari, plan)
    cid = await seeded(store, 2)
    campaign = await store.get(cid)
    (r1, a1), (r2, a2) = await claim(store, cid, dialer.instance, 2)
    dialer._dial(ClaimedCall(campaign, FAST, plan, r1, a1, time.monotonic()))
    await until(lambda: ari.did("originate"))
    dialer.ready.add(ClaimedCall(campaign, FAST, plan, r2, a2, time.monotonic()))
    await dialer.stop()             # the cancelled watcher frees its slot: the ready call stays undialled
    assert len(ari.did("originate")) == 1
    assert [a.id for a in await store.attempts(cid)] == [a1.id]
    left = await store.row(r2.id)
    assert (left.status, left.attempts, left.claim_token) == ("ready", 0, "")


async def test_a_ready_call_not_dialled_goes_back_to_its_row(db):
    store = CampaignStore(db)
    cid = await seeded(store, 3)
    before = {r.id: r for r in await store.rows(cid)}
    (r1, a1), (r2, a2), (r3, a3) = await claim(store, cid, "x", 3)
    later = NOW + timedelta(hours=20)
    await store.release([(a1, None), (a2, Decision(True, "no_time_left")), (a3, Decision(False, "", later))], NOW)
    assert await store.attempts(cid) == []
    rows = {r.id: r for r in await store.rows(cid)}
    assert (rows[r1.id].status, rows[r1.id].attempts, rows[r1.id].next_at, rows[r1.id].claim_token) == (
        "ready", 0, before[r1.id].next_at, "")
    assert (rows[r2.id].status, rows[r2.id].result, rows[r2.id].attempts) == ("done", "no_time_left", 0)
    assert (rows[r3.id].status, rows[r3.id].next_at) == ("ready", later)
    # claimed again, the row's attempt is the same one as before (its number did not move on)
    (row, again), = await claim(store, cid, "x", 1)
    assert (row.id, again.channel_id) == (r1.id, a1.channel_id)

    await store.change(cid, "cancel", NOW)
    await store.release([(again, None)], NOW)
    assert (await store.row(r1.id)).status == "cancelled"


async def test_after_a_crash_a_ready_call_is_ended_lost_and_never_dialled(db, plan):
    store = CampaignStore(db)
    cid = await seeded(store, 1)
    ari = FakeAri()
    dialer = new_dialer(store, ari, plan, reconciled=False)
    (row, attempt), = await claim(store, cid, dialer.instance, 1)
    # The process that claimed it ahead was killed before a slot freed; the new one reconciles.
    await dialer.reconcile()
    assert ari.did("originate") == []
    ended = await store.attempt(attempt.id)
    assert (ended.outcome, ended.ended_at) == ("lost", NOW)
    again = await store.row(row.id)
    assert (again.status, again.next_at) == ("ready", NOW + timedelta(seconds=PROFILE.retry["lost"].after))


def test_the_line_hands_out_fresh_calls_oldest_first_and_gives_up_stale_ones():
    clock = [100.0]
    line = ReadyLine(lambda: clock[0])
    calls = [SimpleNamespace(campaign=SimpleNamespace(id=1), attempt=SimpleNamespace(id=i), since=100.0 + i)
             for i in range(3)]
    for call in calls:
        line.add(call)                                               # type: ignore[arg-type]
    assert line.take(1, lambda c: c.attempt.id != 0) is calls[1]    # the oldest that fits
    clock[0] = 100.0 + READY_SECONDS + 1
    assert line.take(1, lambda c: True) is calls[2]                  # 0 is stale now, 2 is not
    assert line.stale(1) == [calls[0]] and line.count(1) == 0


def test_the_line_keeps_as_many_ready_as_slots_freed_lately():
    clock = [100.0]
    line = ReadyLine(lambda: clock[0])
    small, large = FAST, replace(FAST, pacing=Pacing(max_concurrent=150))
    assert (line.target(1, small), line.target(1, large)) == (1, 30)  # none freed yet
    for _ in range(40):
        line.freed(1)
    assert (line.target(1, small), line.target(1, large), line.target(2, small)) == (READY_AHEAD, READY_AHEAD, 1)
    clock[0] += READY_HORIZON + 0.1
    assert line.target(1, small) == 1


async def test_the_daily_limit_pauses_only_after_the_ready_calls_it_counted(db, plan):
    store = CampaignStore(db)
    ari = FakeAri()
    dialer = new_dialer(store, ari, plan)
    left = [0]                                        # the ready call was the day's last one

    async def calls_left(plan, now):
        return left[0]

    dialer.limit = SimpleNamespace(calls_left=calls_left)            # type: ignore[assignment]
    cid = await seeded(store, 2)
    await store.change(cid, "start", NOW)
    (row, attempt), = await claim(store, cid, dialer.instance, 1)
    dialer.ready.add(ClaimedCall(await store.get(cid), FAST, plan, row, attempt, time.monotonic()))
    try:
        await dialer._dial_running()
        await until(lambda: ari.did("originate"))
        assert [op[1] for op in ari.did("originate")] == [attempt.channel_id]
        assert (await store.get(cid)).status == "running" and len(await store.attempts(cid)) == 1
        await dialer._dial_running()                  # nothing ready any more: now the limit pauses
        assert (await store.get(cid)).status == "paused" and len(ari.did("originate")) == 1
    finally:
        await dialer.stop()
