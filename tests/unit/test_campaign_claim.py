"""Claiming rows when some trunks are full (SQLite and PostgreSQL): a row whose trunk has no
channel left is passed over untouched, and rows on other trunks behind it are dialled."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from ivr.campaigns.model import Passenger
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from ivr.store import open_database

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


async def seeded(store: CampaignStore, trunks: list[str]) -> tuple[int, dict[str, str]]:
    """One row per entry of `trunks` (in call-time order); returns the campaign and phone -> trunk."""
    campaign = await store.create("c", "confirm", "confirm", NOW)
    people = [Passenger(name=f"P{i}", phone=f"+7916200{i:04d}", trip_id="T1") for i in range(len(trunks))]
    await store.add_rows(campaign.id, [(p, "Europe/Moscow", Decision(False, "", NOW + timedelta(seconds=i)))
                                       for i, p in enumerate(people)], NOW)
    return campaign.id, {p.phone: t for p, t in zip(people, trunks)}


def claimer(store: CampaignStore, cid: int, trunk_of: dict[str, str], full: set[str], who: str = "a",
            **kw):
    def trunk_for(row):
        trunk = trunk_of[row.passenger.phone]
        return None if trunk in full else trunk
    return lambda limit, now=NOW + timedelta(minutes=1): store.claim(
        cid, who, now, limit, channel_id_for=lambda r: f"{who}-{r.id}-{r.attempts}", trunk_for=trunk_for,
        expired=lambda r: False, **kw)


async def test_rows_of_a_full_trunk_do_not_hold_back_rows_behind_them(db):
    store = CampaignStore(db)
    cid, trunk_of = await seeded(store, ["a"] * 6 + ["b"] * 2)
    before = {r.id: r for r in await store.rows(cid)}
    claim = claimer(store, cid, trunk_of, full={"a"})
    claimed = await claim(2)
    assert sorted(trunk_of[r.passenger.phone] for r, _ in claimed) == ["b", "b"]
    # The passed-over rows are exactly as they were: same call time, no attempt counted.
    for r in await store.rows(cid):
        if trunk_of[r.passenger.phone] == "a":
            old = before[r.id]
            assert (r.status, r.attempts, r.next_at, r.claim_token) == ("ready", 0, old.next_at, "")
    assert len(await store.attempts(cid)) == 2


async def test_a_passed_over_row_keeps_its_place_when_its_trunk_frees(db):
    store = CampaignStore(db)
    cid, trunk_of = await seeded(store, ["a", "b", "a"])
    await claimer(store, cid, trunk_of, full={"a"})(3)
    first_a = min(r.id for r in await store.rows(cid) if trunk_of[r.passenger.phone] == "a")
    (row, _), = await claimer(store, cid, trunk_of, full=set())(1)
    assert row.id == first_a                       # still the earliest due row


async def test_a_long_line_on_a_full_trunk_is_looked_past_within_a_few_claims(db):
    """At most `scan` rows are looked at per claim; the next claim goes on where it stopped."""
    store = CampaignStore(db)
    cid, trunk_of = await seeded(store, ["a"] * 25 + ["b"])
    claim = claimer(store, cid, trunk_of, full={"a"}, scan=10)
    rounds, got = 0, []
    while not got and rounds < 5:
        got = await claim(1)
        rounds += 1
    assert [trunk_of[r.passenger.phone] for r, _ in got] == ["b"] and rounds == 3
    assert {r.status for r in await store.rows(cid) if trunk_of[r.passenger.phone] == "a"} == {"ready"}
    # Back at the head of the line once the end was reached: a freed trunk takes its first row.
    first = min(r.id for r in await store.rows(cid))
    (row, _), = await claimer(store, cid, trunk_of, full=set(), scan=10)(1)
    assert row.id == first


async def test_two_dialers_with_a_full_trunk_never_claim_the_same_row(database_url):
    dbs = [await open_database(database_url) for _ in range(2)]
    try:
        stores = [CampaignStore(d) for d in dbs]
        cid, trunk_of = await seeded(stores[0], ["a", "b", "c"] * 20)

        async def drain(store: CampaignStore, who: str) -> list[int]:
            got = []
            while batch := await claimer(store, cid, trunk_of, full={"a"}, who=who)(3):
                got += [r.id for r, _ in batch]
            return got

        x, y = await asyncio.gather(drain(stores[0], "x"), drain(stores[1], "y"))
        assert len(x) + len(y) == 40 and not set(x) & set(y)
        rows = await stores[0].rows(cid)
        assert sorted(r.status for r in rows if trunk_of[r.passenger.phone] == "a") == ["ready"] * 20
        assert len(await stores[0].attempts(cid)) == 40
    finally:
        for d in dbs:
            await d.close()


async def test_an_expired_row_is_closed_and_the_next_one_taken(db):
    store = CampaignStore(db)
    cid, trunk_of = await seeded(store, ["a", "a"])
    first = min(r.id for r in await store.rows(cid))
    claimed = await store.claim(cid, "x", NOW + timedelta(minutes=1), 1, channel_id_for=lambda r: f"x-{r.id}",
                                trunk_for=lambda r: "a", expired=lambda r: r.id == first)
    assert [r.id for r, _ in claimed] == [first + 1]
    closed = await store.row(first)
    assert (closed.status, closed.result, closed.attempts, closed.claim_token) == ("done", "expired", 0, "")
