"""One call-back per customer at a time, guarded by the database (SQLite and PostgreSQL): two
stores (two processes) cannot both claim; a claim left by a crash is taken over once stale."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ivr.missed.errors import MissedConflict
from ivr.missed.store import MissedStore
from ivr.store import CallStore, Database

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ANNA, BORIS = "+79161000001", "+79161000002"


async def test_a_second_claim_is_refused_in_another_store_until_released(db: Database):
    first, second = MissedStore(db), MissedStore(db)
    await first.claim_callback(ANNA, "101", T0)
    with pytest.raises(MissedConflict):
        await second.claim_callback(ANNA, "102", T0 + timedelta(seconds=5))
    await second.claim_callback(BORIS, "102", T0)           # another customer is free
    await first.release_callback(ANNA)
    await second.claim_callback(ANNA, "102", T0 + timedelta(seconds=6))


async def test_claims_at_the_same_moment_one_wins(db: Database):
    stores = [MissedStore(db) for _ in range(4)]
    results = await asyncio.gather(*(s.claim_callback(ANNA, f"10{i}", T0) for i, s in enumerate(stores)),
                                   return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, MissedConflict) for r in results if r is not None)


async def test_a_claim_whose_call_ended_is_taken_over(db: Database):
    store, calls = MissedStore(db), CallStore(db)
    await store.claim_callback(ANNA, "101", T0)
    call_id = await calls.start("cb-1", ANNA, "", "", None, T0, direction="outbound")
    await store.callback_call(ANNA, call_id)
    with pytest.raises(MissedConflict):
        await store.claim_callback(ANNA, "102", T0 + timedelta(hours=1))   # a long talk still runs
    await calls.finish(call_id, T0 + timedelta(minutes=2), "answered", "101")   # ended; release lost
    await store.claim_callback(ANNA, "102", T0 + timedelta(minutes=3))


async def test_a_claim_that_never_got_its_call_goes_stale_after_a_minute(db: Database):
    store = MissedStore(db)
    await store.claim_callback(ANNA, "101", T0)
    with pytest.raises(MissedConflict):
        await store.claim_callback(ANNA, "102", T0 + timedelta(seconds=30))
    await store.claim_callback(ANNA, "102", T0 + timedelta(seconds=61))
