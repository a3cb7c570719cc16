"""Campaign rows in the database (SQLite and PostgreSQL): claiming, attempts before dialling,
finishing with retries, idempotency keys, do-not-call, and two dialers never sharing a row."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from ivr.campaigns.config import default_profiles
from ivr.campaigns.model import CampaignError, Passenger, RetryRule
from ivr.campaigns.scheduler import Decision, after_attempt
from ivr.campaigns.store import CampaignStore
from ivr.store import open_database

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
PROFILE = replace(default_profiles()["confirm"], retry={"busy": RetryRule(300, 2)}, max_attempts=3)


def passengers(n: int, key: bool = False) -> list[Passenger]:
    return [Passenger(name=f"P{i}", phone=f"+7916100{i:04d}", trip_id="T1",
                      departure=NOW + timedelta(days=1), key=f"k{i}" if key else "") for i in range(n)]


async def seeded(store: CampaignStore, n: int) -> int:
    campaign = await store.create("c", "confirm", "confirm", NOW)
    await store.add_rows(campaign.id, [(p, "Europe/Moscow", Decision(False, "", NOW)) for p in passengers(n)], NOW)
    return campaign.id


def claim(store: CampaignStore, campaign_id: int, who: str, limit: int, now: datetime = NOW):
    return store.claim(campaign_id, who, now, limit, channel_id_for=lambda r: f"{who}-{r.id}-{r.attempts}",
                       trunk_for=lambda r: "default", expired=lambda r: False)


def decide(outcome, counts, attempts, row):
    return after_attempt(outcome, counts, attempts, row.passenger, row.timezone, PROFILE, (), NOW)


async def test_claim_writes_attempts_and_never_hands_a_row_out_twice(db):
    store = CampaignStore(db)
    cid = await seeded(store, 5)
    first = await claim(store, cid, "a", 3)
    second = await claim(store, cid, "b", 10)
    assert len(first) == 3 and len(second) == 2
    assert not {r.id for r, _ in first} & {r.id for r, _ in second}
    attempts = await store.attempts(cid)
    assert sorted(a.channel_id for a in attempts) == sorted(a.channel_id for _, a in first + second)
    assert await claim(store, cid, "c", 10) == []
    assert {r.status for r in await store.rows(cid)} == {"calling"}


async def test_finish_retries_by_outcome_then_gives_up(db):
    store = CampaignStore(db)
    cid = await seeded(store, 1)
    (row, attempt), = await claim(store, cid, "a", 1)
    assert await store.finish(attempt.id, "busy", NOW, decide) == "busy"
    assert await store.finish(attempt.id, "busy", NOW, decide) is None        # once only
    row = (await store.rows(cid))[0]
    assert (row.status, row.result, row.next_at) == ("ready", "busy", NOW + timedelta(minutes=5))
    assert await claim(store, cid, "a", 1) == []                                # not due yet
    (row, attempt), = await claim(store, cid, "a", 1, NOW + timedelta(minutes=5))
    await store.finish(attempt.id, "busy", NOW, decide)
    row = (await store.rows(cid))[0]
    assert (row.status, row.result, row.attempts) == ("done", "busy", 2)


async def test_stored_answer_wins_over_the_hangup_cause(db):
    store = CampaignStore(db)
    cid = await seeded(store, 2)
    (r1, a1), (r2, a2) = await claim(store, cid, "a", 2)
    await store.answered(a1.id, NOW)
    await store.store_answer(a1.id, "1", "confirm", NOW)
    assert await store.finish(a1.id, "lost", NOW, decide) == "confirm"
    await store.answered(a2.id, NOW)
    assert await store.finish(a2.id, "lost", NOW, decide) == "interrupted"     # reached: no retry
    rows = {r.id: r for r in await store.rows(cid)}
    assert (rows[r1.id].status, rows[r1.id].result) == ("done", "confirm")
    assert (rows[r2.id].status, rows[r2.id].result) == ("done", "interrupted")
    assert await store.counts(cid) == {"status": {"done": 2}, "result": {"confirm": 1, "interrupted": 1}}


async def test_idempotency_keys_and_do_not_call(db):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    rows = [(p, "Europe/Moscow", Decision(False, "", NOW)) for p in passengers(3, key=True)]
    assert await store.add_rows(campaign.id, rows, NOW) == (3, [])
    assert await store.add_rows(campaign.id, rows[:2], NOW) == (0, ["k0", "k1"])
    await store.do_not_call("+79161000001", "asked", NOW)
    claimed = await claim(store, campaign.id, "a", 10)
    assert sorted(r.passenger.phone for r, _ in claimed) == ["+79161000000", "+79161000002"]
    assert (await store.counts(campaign.id))["result"] == {"do_not_call": 1}


async def test_cancel_stops_ready_rows_and_retries(db):
    store = CampaignStore(db)
    cid = await seeded(store, 2)
    await store.change(cid, "start", NOW)
    (row, attempt), = await claim(store, cid, "a", 1)
    await store.change(cid, "cancel", NOW)
    await store.finish(attempt.id, "busy", NOW, decide)
    assert {r.status for r in await store.rows(cid)} == {"cancelled", "done"}
    assert (await store.rows(cid))[0].result == "cancelled"


async def test_two_dialers_on_one_database_never_claim_the_same_row(database_url):
    """Two separate engines (as two service processes would have) claiming concurrently."""
    dbs = [await open_database(database_url) for _ in range(2)]
    try:
        stores = [CampaignStore(d) for d in dbs]
        cid = await seeded(stores[0], 60)

        async def drain(store: CampaignStore, who: str) -> list[int]:
            got = []
            while batch := await claim(store, cid, who, 3):
                got += [r.id for r, _ in batch]
            return got

        a, b = await asyncio.gather(drain(stores[0], "a"), drain(stores[1], "b"))
        assert len(a) + len(b) == 60 and not set(a) & set(b)
        assert len(await stores[0].attempts(cid)) == 60
    finally:
        for d in dbs:
            await d.close()


async def test_answer_queues_one_signed_webhook_in_its_transaction(db):
    from ivr.notify.outbox import Outbox
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    await store.add_rows(campaign.id, [(p, "Europe/Moscow", Decision(False, "", NOW))
                                       for p in passengers(2, key=True)], NOW)
    (row, attempt), (_, quiet) = await claim(store, campaign.id, "a", 2)
    hook = "https://crm.example/hook"
    assert await store.store_answer(attempt.id, "1", "confirm", NOW, hook)
    assert not await store.store_answer(attempt.id, "2", "cancel", NOW, hook)    # the first answer stays
    assert await store.store_answer(quiet.id, "2", "cancel", NOW)                # no webhook named
    [message] = await Outbox(db).due(NOW)
    assert (message.channel, message.target) == ("webhook", hook)
    assert message.payload == {
        "event": "campaign-answer", "idempotency_key": message.key, "campaign_id": campaign.id,
        "row_id": row.id, "row_key": "k0", "trip_id": "T1", "phone": row.passenger.phone, "name": "P0",
        "attempt_id": attempt.id, "attempt": 1, "digit": "1", "answer": "confirm", "at": NOW.isoformat()}
    assert (await store.attempt(attempt.id)).answer == "confirm"


async def test_a_row_whose_trunk_is_full_is_handed_back_not_dialled(db):
    store = CampaignStore(db)
    cid = await seeded(store, 3)
    full = {(await store.rows(cid))[0].id}
    claimed = await store.claim(cid, "a", NOW, 3, channel_id_for=lambda r: f"a-{r.id}",
                                trunk_for=lambda r: None if r.id in full else "t", expired=lambda r: False)
    assert sorted(r.id for r, _ in claimed) == sorted(r.id for r in await store.rows(cid) if r.id not in full)
    waiting = next(r for r in await store.rows(cid) if r.id in full)
    assert (waiting.status, waiting.attempts, waiting.next_at) == ("ready", 0, NOW)    # untouched
    assert len(await store.attempts(cid)) == 2


async def test_a_passenger_calling_back_finds_their_soonest_trip_and_their_answer_settles_it(db):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    phone = "+79161000000"
    trips = [Passenger(name="P", phone=phone, trip_id=t, departure=NOW + timedelta(hours=h))
             for t, h in (("LATER", 30), ("GONE", -1), ("SOON", 5))]
    await store.add_rows(campaign.id, [(p, "Europe/Moscow", Decision(False, "", NOW)) for p in trips], NOW)
    row, found = await store.callback_row(phone, NOW)
    assert (row.passenger.trip_id, found.id) == ("SOON", campaign.id)
    assert await store.callback_row("+79160000000", NOW) is None
    attempt = await store.inbound_attempt(row, "inbound-1", "a", NOW)
    assert await store.finish_callback(attempt.id, NOW) == "interrupted"          # hung up: row as it was
    assert (await store.row(row.id)).status == "ready"
    attempt = await store.inbound_attempt(row, "inbound-2", "a", NOW)
    await store.store_answer(attempt.id, "2", "cancel", NOW)
    assert await store.finish_callback(attempt.id, NOW) == "cancel"
    settled = await store.row(row.id)
    assert (settled.status, settled.result, settled.next_at) == ("done", "cancel", None)
    assert [a.trunk for a in await store.attempts(campaign.id)] == ["inbound", "inbound"]
    # a cancelled campaign's passengers reach the plan
    await store.change(campaign.id, "cancel", NOW)
    assert await store.callback_row(phone, NOW) is None


async def test_call_again_puts_a_settled_row_back_in_line_now(db):
    store = CampaignStore(db)
    cid = await seeded(store, 1)
    (row, attempt), = await claim(store, cid, "a", 1)
    await store.answered(attempt.id, NOW)
    assert await store.finish(attempt.id, "lost", NOW, decide) == "interrupted"
    later = NOW + timedelta(minutes=1)
    again = await store.call_again(cid, row.id, later)
    assert (again.status, again.next_at) == ("ready", later)
    (claimed, _), = await claim(store, cid, "a", 1, later)
    assert claimed.id == row.id
    with pytest.raises(CampaignError, match="being called now"):
        await store.call_again(cid, row.id, later)
