"""Marking a passenger done by hand (they called in and confirmed with a dispatcher): the row is
never dialled again, an attempt in flight decides nothing, who and when are kept; through the
store (SQLite and PostgreSQL), `ivr campaign done` and POST /api/campaigns/{id}/done."""
from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.campaigns.config import default_profiles
from ivr.campaigns.model import CampaignError, CampaignNotFound, Passenger
from ivr.campaigns.scheduler import Decision, after_attempt
from ivr.campaigns.store import CampaignStore
from ivr.cli import campaigns as cli
from ivr.config import load_settings
from ivr.errors import InvalidInput
from ivr.service import IvrService
from ivr.store import open_database
from ivr.testing.credentials import bearer
from ivr.web.app import create_app

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
PROFILE = default_profiles()["confirm"]
PHONES = ["+79161000000", "+79161000001", "+79161000001"]     # one passenger on two trips


def decide(outcome, counts, attempts, row):
    return after_attempt(outcome, counts, attempts, row.passenger, row.timezone, PROFILE, (), NOW)


async def seeded(store: CampaignStore) -> int:
    campaign = await store.create("c", "confirm", "confirm", NOW)
    people = [Passenger(name=f"P{i}", phone=phone, trip_id=f"T{i}", departure=NOW + timedelta(days=1))
              for i, phone in enumerate(PHONES)]
    await store.add_rows(campaign.id, [(p, "Europe/Moscow", Decision(False, "", NOW)) for p in people], NOW)
    return campaign.id


def claim(store: CampaignStore, cid: int, now: datetime = NOW):
    return store.claim(cid, "a", now, 10, channel_id_for=lambda r: f"a-{r.id}-{r.attempts}",
                       trunk_for=lambda r: "t", expired=lambda r: False)


async def test_a_marked_row_is_not_dialled_and_keeps_who_and_when(db):
    store = CampaignStore(db)
    cid = await seeded(store)
    first = (await store.rows(cid))[0]
    [marked] = await store.mark_done(cid, first.id, "confirmed", "olga", NOW)
    assert (marked.id, marked.status, marked.result, marked.next_at) == (first.id, "done", "confirm", None)
    assert first.id not in {r.id for r, _ in await claim(store, cid)}
    mark = (await store.marks(cid))[first.id]
    assert (mark.answer, mark.by, mark.at, mark.in_flight) == ("confirm", "olga", NOW, False)
    assert (NOW, "marked") in await store.outcome_times(cid)
    with pytest.raises(CampaignError, match="already|nothing to mark"):
        await store.mark_done(cid, first.id, "cancelled", "olga", NOW)
    assert (await store.row(first.id)).result == "confirm"


async def test_an_attempt_in_flight_decides_nothing_once_marked(db):
    store = CampaignStore(db)
    cid = await seeded(store)
    claimed = await claim(store, cid)
    row, attempt = next((r, a) for r, a in claimed if r.passenger.phone == PHONES[1])
    marked = await store.mark_done(cid, PHONES[1], "cancelled", "olga", NOW)
    assert sorted(r.id for r in marked) == sorted(r.id for r, _ in claimed if r.passenger.phone == PHONES[1])
    # The call ends busy: without the mark this would be a retry in 5 minutes.
    assert await store.finish(attempt.id, "busy", NOW, decide) == "busy"
    after = await store.row(row.id)
    assert (after.status, after.result, after.next_at) == ("done", "cancel", None)
    assert (await store.marks(cid))[row.id].in_flight
    assert await claim(store, cid, NOW + timedelta(hours=1)) == []
    # The unmarked row retries as usual.
    other = next(a for r, a in claimed if r.passenger.phone == PHONES[0])
    await store.finish(other.id, "busy", NOW, decide)
    assert (await store.rows(cid))[0].status == "ready"


async def test_a_marked_row_is_not_failed_over_to_another_trunk(db):
    store = CampaignStore(db)
    cid = await seeded(store)
    (row, attempt), (_, other), _ = await claim(store, cid)
    await store.mark_done(cid, row.id, "confirmed", "olga", NOW)
    assert await store.fail_over(attempt.id, attempt.channel_id, "next-leg", "other") is None
    assert (await store.attempt(attempt.id)).channel_id == attempt.channel_id
    moved = await store.fail_over(other.id, other.channel_id, "next-leg", "other")    # not marked: moves
    assert moved is not None and moved.trunk == "other"


async def test_unknown_rows_and_answers_are_refused(db):
    store = CampaignStore(db)
    cid = await seeded(store)
    with pytest.raises(CampaignNotFound):
        await store.mark_done(cid, 999, "confirmed", "olga", NOW)
    with pytest.raises(CampaignNotFound):
        await store.mark_done(cid, "+79990000000", "confirmed", "olga", NOW)
    with pytest.raises(InvalidInput):
        await store.mark_done(cid, PHONES[0], "maybe", "olga", NOW)
    assert {r.status for r in await store.rows(cid)} == {"ready"}


PLANS = __import__("pathlib").Path(__file__).resolve().parents[1] / "integration" / "plans"


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "plan.yaml").write_text((PLANS / "ivr.yaml").read_text())
    return load_settings(env={"IVR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ivr.db",
                              "IVR_PLAN_FILE": str(tmp_path / "plan.yaml"), "IVR_VAR_DIR": str(tmp_path),
                              "IVR_SECRETS_FILE": str(PLANS / "secrets.yaml"),
                              "IVR_CLOCK": "2026-11-25T11:00:00+03:00"})


def run(argv, settings):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args, settings)


async def test_cli_marks_by_row_id_or_by_phone_as_people_write_it(settings, capsys):
    db = await open_database(settings.database_url, settings)
    try:
        store = CampaignStore(db)
        cid = await seeded(store)
        # The CLI runs its own event loop: call it from a thread.
        import asyncio
        assert await asyncio.to_thread(run, ["campaigns", "done", str(cid), "8 916 100-00-01", "--by", "olga"],
                                       settings) == 0
        out = capsys.readouterr().out
        assert out.count("confirmed by olga") == 2 and "P1" in out and "P2" in out
        assert await asyncio.to_thread(run, ["campaign", "done", str(cid), "1", "--answer", "cancelled",
                                             "--by", "ivan"], settings) == 0
        rows = await store.rows(cid)
        assert [(r.status, r.result) for r in rows] == [("done", "cancel"), ("done", "confirm"), ("done", "confirm")]
        assert {m.by for m in (await store.marks(cid)).values()} == {"olga", "ivan"}
    finally:
        await db.close()


async def test_api_marks_a_row_done(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    client = TestClient(TestServer(create_app(IvrService(settings, db))), headers=await bearer(db, "ops"))
    await client.start_server()
    try:
        store = CampaignStore(db)
        cid = await seeded(store)
        row = (await store.rows(cid))[0]
        r = await client.post(f"/api/campaigns/{cid}/done", json={"row_id": row.id, "by": "olga"})
        assert r.status == 200
        [marked] = (await r.json())["rows"]
        assert (marked["id"], marked["status"], marked["result"]) == (row.id, "done", "confirm")
        again = await client.post(f"/api/campaigns/{cid}/done", json={"row_id": row.id, "by": "olga"})
        assert again.status == 409
        assert (await client.post(f"/api/campaigns/{cid}/done", json={"row_id": row.id})).status == 400
        shown = await (await client.get(f"/api/campaigns/{cid}")).json()
        assert [(m["row_id"], m["by"]) for m in shown["marks"]] == [(row.id, "olga")]
    finally:
        await client.close()
        await db.close()
