"""Call records on SQLite and PostgreSQL (the `db` fixture runs each test on both)."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ivr.store import CallExists, CallNotFound, CallStore, Database, InvalidRecord
from ivr.contacts.store import ContactData, ContactStore
from ivr.store.calls import NewStep

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


async def _call(calls: CallStore, channel: str, at: datetime, **kw: object) -> int:
    args: dict[str, object] = dict(caller="+79161234567", company_number="+74951112233", source="site",
                                   plan_version=1)
    args.update(kw)
    return await calls.start(channel, started_at=at, **args)  # type: ignore[arg-type]


async def test_round_trip_of_a_call_with_steps(db: Database) -> None:
    calls = CallStore(db)
    call_id = await calls.start(
        "1700000000.1", "+79161234567", "+74951112233", "yandex-ads", 7, T0,
        direction="inbound", contact_name="Иван Петров", language="ru",
    )
    seqs = [
        await calls.add_step(call_id, T0, "greeting", "enter", {}),
        await calls.add_step(call_id, T0 + timedelta(seconds=1), "greeting", "prompt", {"prompt": "welcome"}),
        await calls.add_step(call_id, T0 + timedelta(seconds=9), "main_menu", "digit",
                             {"digit": "2", "nested": {"tries": [1, 2]}, "ok": True}),
        await calls.add_step(call_id, T0 + timedelta(seconds=10), "sales", "ring", {"targets": ["101", "102"]}),
    ]
    await calls.answered(call_id, T0 + timedelta(seconds=15))
    await calls.finish(call_id, T0 + timedelta(seconds=75, milliseconds=500), "answered", answered_by="101")

    record = await calls.get(call_id)
    assert seqs == [1, 2, 3, 4]
    assert (record.id, record.channel_id, record.direction) == (call_id, "1700000000.1", "inbound")
    assert (record.caller, record.company_number, record.source) == ("+79161234567", "+74951112233", "yandex-ads")
    assert (record.contact_name, record.plan_version, record.language) == ("Иван Петров", 7, "ru")
    assert record.started_at == T0
    assert record.answered_at == T0 + timedelta(seconds=15)
    assert record.ended_at == T0 + timedelta(seconds=75, milliseconds=500)
    assert (record.outcome, record.answered_by, record.duration) == ("answered", "101", 75.5)
    assert record.finished
    assert [(s.seq, s.node, s.kind) for s in record.steps] == [
        (1, "greeting", "enter"), (2, "greeting", "prompt"), (3, "main_menu", "digit"), (4, "sales", "ring"),
    ]
    assert record.steps[2].data == {"digit": "2", "nested": {"tries": [1, 2]}, "ok": True}
    assert record.steps[3].at == T0 + timedelta(seconds=10)


async def test_datetimes_come_back_aware_in_utc(db: Database) -> None:
    calls = CallStore(db)
    local_start = datetime(2026, 11, 23, 12, 30, 0, 123456, tzinfo=MSK)  # 09:30:00.123456 UTC
    call_id = await _call(calls, "ch-tz", local_start)
    await calls.add_step(call_id, local_start + timedelta(seconds=2), "greeting", "enter")
    await calls.finish(call_id, local_start + timedelta(seconds=4), "hangup-in-greeting")

    record = await calls.get(call_id)
    for value in (record.started_at, record.ended_at, record.steps[0].at):
        assert value is not None and value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
    assert record.started_at == local_start
    assert record.started_at.hour == 9 and record.started_at.microsecond == 123456
    assert record.duration == 4.0


async def test_naive_datetimes_are_refused(db: Database) -> None:
    calls = CallStore(db)
    naive = datetime(2026, 1, 1, 10)
    with pytest.raises(InvalidRecord, match="started_at .* no UTC offset"):
        await calls.start("ch-naive", "+79161234567", "+74951112233", "", None, naive)
    assert await calls.list() == []
    call_id = await _call(calls, "ch-aware", T0)
    for attempt in (calls.add_step(call_id, naive, "x", "enter"), calls.answered(call_id, naive),
                    calls.finish(call_id, naive, "answered"), calls.list(since=naive)):
        with pytest.raises(InvalidRecord, match="no UTC offset"):
            await attempt
    record = await calls.get(call_id)
    assert record.steps == () and record.answered_at is None and record.ended_at is None


async def test_to_dict_is_json_with_iso_times(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "ch-json", T0, contact_name="Anna")
    await calls.add_step(call_id, T0 + timedelta(seconds=1), "main_menu", "digit", {"digit": "1"})
    record = await calls.get(call_id)

    data = json.loads(json.dumps(record.to_dict()))
    assert data["id"] == call_id and data["contact_name"] == "Anna"
    assert datetime.fromisoformat(data["started_at"]) == T0
    assert data["answered_at"] is None and data["ended_at"] is None and data["outcome"] is None
    assert data["steps"] == [{"seq": 1, "at": (T0 + timedelta(seconds=1)).isoformat(), "node": "main_menu",
                              "kind": "digit", "data": {"digit": "1"}}]


async def test_list_filters_and_order(db: Database) -> None:
    calls = CallStore(db)
    specs = [  # channel, minutes after T0, company number, outcome
        ("a", 0, "+74951112233", "answered"),
        ("b", 10, "+74951112233", "abandoned-in-menu"),
        ("c", 20, "+74959998877", "answered"),
        ("d", 30, "+74959998877", "closed-hours"),
        ("e", 40, "+74951112233", None),  # still in progress
    ]
    for channel, minutes, company, outcome in specs:
        call_id = await _call(calls, channel, T0 + timedelta(minutes=minutes), company_number=company)
        await calls.add_step(call_id, T0 + timedelta(minutes=minutes), "greeting", "enter")
        if outcome:
            await calls.finish(call_id, T0 + timedelta(minutes=minutes, seconds=30), outcome)

    def channels(records: list) -> list[str]:
        return [r.channel_id for r in records]

    assert channels(await calls.list()) == ["e", "d", "c", "b", "a"]
    assert channels(await calls.list(limit=2)) == ["e", "d"]
    assert channels(await calls.list(since=T0 + timedelta(minutes=20))) == ["e", "d", "c"]
    # `since` is an instant: the same moment in Moscow time selects the same calls
    assert channels(await calls.list(since=(T0 + timedelta(minutes=20)).astimezone(MSK))) == ["e", "d", "c"]
    assert channels(await calls.list(outcome="answered")) == ["c", "a"]
    assert channels(await calls.list(company_number="+74959998877")) == ["d", "c"]
    assert channels(await calls.list(company_number="+74951112233", outcome="answered")) == ["a"]
    assert channels(await calls.list(since=T0 + timedelta(minutes=5), company_number="+74951112233")) == ["e", "b"]
    assert await calls.list(outcome="no-such-outcome") == []

    with_steps = await calls.list(limit=1)
    without = await calls.list(limit=1, steps=False)
    assert len(with_steps[0].steps) == 1 and without[0].steps == ()
    with pytest.raises(InvalidRecord):
        await calls.list(limit=0)


async def test_open_calls_are_the_unfinished_ones_oldest_first(db: Database) -> None:
    calls = CallStore(db)
    first = await _call(calls, "open-1", T0 + timedelta(minutes=5))
    done = await _call(calls, "done", T0)
    second = await _call(calls, "open-2", T0 + timedelta(minutes=9))
    await calls.add_step(second, T0 + timedelta(minutes=9), "main_menu", "enter")
    await calls.finish(done, T0 + timedelta(minutes=1), "answered")

    open_calls = await calls.open_calls()
    assert [c.id for c in open_calls] == [first, second]
    assert [s.node for s in open_calls[1].steps] == ["main_menu"]
    assert all(c.ended_at is None and not c.finished for c in open_calls)

    await calls.finish(first, T0 + timedelta(minutes=6), "interrupted")
    assert [c.id for c in await calls.open_calls()] == [second]


async def test_answered_keeps_the_first_answer_and_finish_keeps_answered_by(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "ch-ans", T0)
    await calls.answered(call_id, T0 + timedelta(seconds=5))
    await calls.answered(call_id, T0 + timedelta(seconds=50))  # e.g. a transfer answered later
    await calls.finish(call_id, T0 + timedelta(seconds=60), "answered")
    record = await calls.get(call_id)
    assert record.answered_at == T0 + timedelta(seconds=5)
    assert record.answered_by is None


async def test_set_language_and_lookup_by_channel(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "chan-42", T0, language="ru")
    await calls.set_language(call_id, "en")
    found = await calls.by_channel("chan-42")
    assert found is not None and found.id == call_id and found.language == "en"
    assert await calls.by_channel("chan-unknown") is None


async def test_refusals(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "ch-dup", T0)
    with pytest.raises(CallExists, match="ch-dup"):
        await _call(calls, "ch-dup", T0)
    with pytest.raises(InvalidRecord, match="sideways"):
        await _call(calls, "ch-dir", T0, direction="sideways")
    with pytest.raises(InvalidRecord, match="before it started"):
        await calls.finish(call_id, T0 - timedelta(seconds=1), "answered")
    for missing in (
        calls.get(call_id + 1000),
        calls.add_step(call_id + 1000, T0, "x", "enter"),
        calls.answered(call_id + 1000, T0),
        calls.finish(call_id + 1000, T0, "answered"),
    ):
        with pytest.raises(CallNotFound):
            await missing
    record = await calls.get(call_id)
    assert record.ended_at is None and record.steps == ()
    assert [r.channel_id for r in await calls.list()] == ["ch-dup"]


async def test_concurrent_steps_get_distinct_numbers(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "ch-busy", T0)
    seqs = await asyncio.gather(*(
        calls.add_step(call_id, T0 + timedelta(seconds=i), "node", "prompt", {"i": i}) for i in range(20)
    ))
    assert sorted(seqs) == list(range(1, 21))
    record = await calls.get(call_id)
    assert [s.seq for s in record.steps] == list(range(1, 21))
    assert sorted(s.data["i"] for s in record.steps) == list(range(20))


async def test_outbound_direction(db: Database) -> None:
    calls = CallStore(db)
    call_id = await calls.start("out-1", "+79161234567", "+74951112233", "callback", 3, T0,
                                direction="outbound")
    assert (await calls.get(call_id)).direction == "outbound"


async def test_close_writes_the_end_of_a_call_at_once_and_returns_what_it_stored(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "close.1", T0)
    await calls.add_step(call_id, T0, "greeting", "enter", {})      # e.g. stored before a restart
    steps = [NewStep(T0 + timedelta(seconds=1), "menu", "enter", {"node_kind": "menu"}),
             NewStep(T0 + timedelta(seconds=4), "menu", "digit", {"digit": "1"})]
    record = await calls.close(call_id, steps, T0 + timedelta(seconds=20), "answered", "101",
                               T0 + timedelta(seconds=5), "en")

    assert [(s.seq, s.node, s.kind) for s in record.steps] == [(1, "greeting", "enter"), (2, "menu", "enter"),
                                                               (3, "menu", "digit")]
    assert (record.outcome, record.answered_by, record.language, record.duration) == ("answered", "101", "en", 20.0)
    assert record.answered_at == T0 + timedelta(seconds=5)
    assert await calls.get(call_id) == record
    assert await calls.add_step(call_id, T0 + timedelta(seconds=21), "x", "late") == 4


async def test_close_refuses_an_end_before_the_start_and_writes_nothing(db: Database) -> None:
    calls = CallStore(db)
    call_id = await _call(calls, "close.2", T0)
    with pytest.raises(InvalidRecord):
        await calls.close(call_id, [NewStep(T0, "m", "enter")], T0 - timedelta(seconds=1), "answered")
    assert (await calls.get(call_id)).steps == ()


async def test_a_call_starts_with_its_contact_looked_up_in_the_same_hop(db: Database,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    contacts = ContactStore(db)
    await contacts.add(ContactData(name="Anna Petrova", numbers=("+79161234567",)), T0)
    hops = []
    real_run = db.run

    async def counted(work):
        hops.append(work)
        return await real_run(work)
    monkeypatch.setattr(db, "run", counted)
    calls = CallStore(db)
    lookup = contacts.lookup("+79161234567")
    call_id = await _call(calls, "c-1", T0, named_by=lambda conn: lookup(conn).name)
    assert len(hops) == 1 and (await calls.get(call_id)).contact_name == "Anna Petrova"
    # A lookup that fails takes the row with it: nothing half written.
    with pytest.raises(ValueError):
        await _call(calls, "c-2", T0, named_by=lambda conn: (_ for _ in ()).throw(ValueError("lookup broke")))
    assert await calls.by_channel("c-2") is None
