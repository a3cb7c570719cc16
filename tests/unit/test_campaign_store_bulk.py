"""Storing many campaign rows at once (SQLite and PostgreSQL): idempotency keys and merged rows kept
across insert chunks; the do-not-call list honoured however late a number joins it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ivr.campaigns import store as store_module
from ivr.campaigns.importer import read_csv
from ivr.campaigns.model import Passenger
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from ivr.store.models import DoNotCallRow

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
HEADER = "Name;Phone;Trip;Route;Departure;Seat;Bus;Platform;Language\n"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "INSERT_CHUNK", 3)


def ready(people: list[Passenger], at: datetime = NOW) -> list[tuple[Passenger, str, Decision]]:
    return [(p, "Europe/Moscow", Decision(False, "", at + timedelta(seconds=i))) for i, p in enumerate(people)]


def person(i: int, key: str = "") -> Passenger:
    return Passenger(name=f"P{i}", phone=f"+7916300{i:04d}", trip_id="T1", key=key)


def claim(store: CampaignStore, cid: int, limit: int, now: datetime = NOW + timedelta(minutes=1)):
    return store.claim(cid, "a", now, limit, channel_id_for=lambda r: f"a-{r.id}-{r.attempts}",
                       trunk_for=lambda r: "default", expired=lambda r: False)


async def drain(store: CampaignStore, cid: int) -> list:
    got = []
    while batch := await claim(store, cid, 4):
        got += batch
    return got


async def test_keys_are_kept_across_chunks_and_a_retry_adds_nothing(db, small_chunks):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    rows = ready([person(i, f"k{i}") for i in range(8)])
    # a generator (read once) of 8 rows, 3 per INSERT
    assert await store.add_rows(campaign.id, (r for r in rows), NOW) == (8, [])
    assert await store.add_rows(campaign.id, rows[2:7] + ready([person(8, "k8")]), NOW) == \
        (1, ["k2", "k3", "k4", "k5", "k6"])
    stored = await store.rows(campaign.id)
    assert [r.passenger.key for r in stored] == [f"k{i}" for i in range(9)]
    assert [r.passenger.phone for r in stored] == [person(i).phone for i in range(9)]


async def test_a_key_twice_in_one_call_is_stored_once(db, small_chunks):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    # the second "dup" is in the first one's chunk (3 rows), the third in the next chunk
    people = [person(0, "dup"), person(1, "a"), person(2, "dup"), person(3, "b"), person(4, "dup")]
    assert await store.add_rows(campaign.id, ready(people), NOW) == (3, ["dup"])
    assert [r.passenger.phone for r in await store.rows(campaign.id)] == [person(i).phone for i in (0, 1, 3)]


async def test_merged_passengers_keep_their_source_rows_and_fields(db, small_chunks):
    text = HEADER + "".join(f"P{i};+7916400{i:04d};T1;R;2026-11-26 09:30;{i};B;1;ru\n" for i in range(5)) \
        + "P1 again;8 916 400 00 01;T1;R;2026-11-26 09:30;9;B;1;ru\n"
    result = read_csv(text, "RU", "Europe/Moscow")
    assert result.merged == 1
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    final = Decision(True, "no_time_left")
    rows = [(p, "Asia/Novosibirsk", final if p.name == "P4" else Decision(False, "", NOW))
            for p in result.passengers]
    assert await store.add_rows(campaign.id, rows, NOW) == (5, [])
    stored = {r.passenger.name: r for r in await store.rows(campaign.id)}
    assert stored["P1"].passenger.source_rows == (3, 7)      # header is line 1
    assert stored["P1"].passenger.seat == "1, 9"
    assert stored["P1"].passenger.departure == result.passengers[1].departure
    assert {(r.status, r.result, r.timezone) for n, r in stored.items() if n != "P4"} == \
        {("ready", "", "Asia/Novosibirsk")}
    assert (stored["P4"].status, stored["P4"].result, stored["P4"].next_at) == ("done", "no_time_left", None)


async def test_a_number_listed_after_the_import_is_never_claimed(db):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    other = await store.create("d", "confirm", "confirm", NOW)
    people = [person(i) for i in range(6)]
    await store.add_rows(campaign.id, ready(people), NOW)
    await store.add_rows(other.id, ready(people[3:4]), NOW)
    first = await claim(store, campaign.id, 2)
    assert [r.passenger.phone for r, _ in first] == [people[0].phone, people[1].phone]
    await store.do_not_call(people[3].phone, "asked", NOW)
    # settled at once, in every campaign, not at the next claim
    assert (await store.counts(campaign.id))["result"] == {"do_not_call": 1}
    assert (await store.counts(other.id)) == {"status": {"done": 1}, "result": {"do_not_call": 1}}
    rest = await drain(store, campaign.id)
    assert sorted(r.passenger.phone for r, _ in rest) == [people[i].phone for i in (2, 4, 5)]
    assert await drain(store, other.id) == []


async def test_a_number_listed_during_its_call_is_not_called_again(db):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    await store.add_rows(campaign.id, ready([person(0)]), NOW)
    (row, attempt), = await claim(store, campaign.id, 1)
    await store.do_not_call(row.passenger.phone, "asked", NOW)

    def retry(outcome, counts, attempts, r):
        return Decision(False, outcome, NOW)
    await store.finish(attempt.id, "busy", NOW, retry)
    after = await store.row(row.id)
    assert (after.status, after.result) == ("done", "do_not_call")
    assert await claim(store, campaign.id, 1) == []


async def test_a_listed_number_imported_later_is_stored_done(db, small_chunks):
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    await store.do_not_call(person(4).phone, "asked", NOW)
    await store.add_rows(campaign.id, ready([person(i) for i in range(6)]), NOW)
    rows = {r.passenger.phone: r for r in await store.rows(campaign.id)}
    assert (rows[person(4).phone].status, rows[person(4).phone].result) == ("done", "do_not_call")
    assert sorted(r.passenger.phone for r, _ in await drain(store, campaign.id)) == \
        [person(i).phone for i in (0, 1, 2, 3, 5)]


async def test_a_listed_row_a_race_left_ready_is_skipped_and_settled_at_the_end(db):
    """The number joined the list without its rows being settled (as a concurrent import could
    leave them): the pick passes it over, and the campaign still completes."""
    store = CampaignStore(db)
    campaign = await store.create("c", "confirm", "confirm", NOW)
    await store.add_rows(campaign.id, ready([person(0), person(1)]), NOW)
    listed = NOW - timedelta(hours=1)
    async with db.session() as s:
        s.add(DoNotCallRow(number=person(0).phone, reason="race", added_at=listed))
        await s.commit()
    await store.change(campaign.id, "start", NOW)
    (row, attempt), = await claim(store, campaign.id, 5)
    assert row.passenger.phone == person(1).phone
    assert not await store.finish_if_complete(campaign.id)                 # a call in flight
    await store.finish(attempt.id, "confirm", NOW, lambda o, c, n, r: Decision(True, o))
    assert await store.finish_if_complete(campaign.id)
    assert (await store.get(campaign.id)).status == "done"
    assert (await store.counts(campaign.id))["result"] == {"confirm": 1, "do_not_call": 1}
