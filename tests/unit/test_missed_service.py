"""The missed-call list over a real database (SQLite and PostgreSQL): reviews of finished calls,
one item per customer and company number, self-closing, staff actions, catch-up after a crash."""
from __future__ import annotations

import itertools
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.config import Settings
from ivr.missed.errors import MissedConflict
from ivr.missed.service import MissedService
from ivr.notify.config import MailServer, NotifyConfig, Rule, Webhook
from ivr.plan.loader import load_plan
from ivr.store import CallStore, Database
from ivr.store.models import OutboxRow

PLANS = Path(__file__).resolve().parent.parent / "integration" / "plans"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
CHANNELS = itertools.count(1)
MAIN, ADS = "+74951110000", "+74951110001"
ANNA, BORIS = "+79161000001", "+79161000002"


class FakeClock:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def plan():
    return load_plan(PLANS / "ivr.yaml", secrets_path=PLANS / "secrets.yaml")


@pytest.fixture
def config() -> NotifyConfig:
    return NotifyConfig(close_after_seconds=10, mail=MailServer("127.0.0.1", 1),
                        webhooks=(Webhook("http://127.0.0.1:1/hook", "s3cret"),),
                        rules=(Rule(recipients=("boss@example.com",)),
                               Rule(recipients=("night@example.com",), numbers=(ADS,), language="en")),
                        console_url="http://console")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def service(db: Database, plan, config, clock, tmp_path) -> MissedService:
    settings = Settings(var_dir=str(tmp_path / "var"), asterisk_config_dir=str(tmp_path / "pbx" / "etc"))
    return MissedService(settings, db, clock.now, lambda: plan, config)


async def finished_call(db: Database, caller: str, number: str, outcome: str, at: datetime,
                        seconds: float = 20, direction: str = "inbound", answered_after: float | None = None,
                        answered_by: str | None = None, steps: list[tuple[float, str, str, dict]] = ()) -> int:
    calls = CallStore(db)
    call_id = await calls.start(f"ch-{next(CHANNELS)}", caller, number, "main-line", 1, at,
                                direction=direction)
    for offset, node, kind, data in steps:
        await calls.add_step(call_id, at + timedelta(seconds=offset), node, kind, data)
    if answered_after is not None:
        await calls.answered(call_id, at + timedelta(seconds=answered_after))
    await calls.finish(call_id, at + timedelta(seconds=seconds), outcome, answered_by)
    return call_id


MENU_STEPS = [(0, "main", "enter", {"node_kind": "schedule"}), (0.1, "greeting", "enter", {"node_kind": "play"}),
              (3.3, "main_menu", "enter", {"node_kind": "menu"})]


async def outbox_keys(db: Database) -> list[str]:
    async with db.session() as session:
        return sorted((await session.scalars(select(OutboxRow.key))).all())


async def test_three_calls_from_one_number_make_one_item_with_count_3(db, service):
    ids = [await finished_call(db, ANNA, MAIN, "abandoned_in_menu", T0 + timedelta(minutes=i), steps=MENU_STEPS)
           for i in range(3)]
    for call_id in ids:
        assert (await service.call_finished(call_id)).kind == "missed"
    items = await service.store.list(status="pending")
    assert len(items) == 1
    item = items[0]
    assert (item.customer, item.company_number, item.count, item.status) == (ANNA, MAIN, 3, "open")
    assert item.first_at == T0 and item.last_at == T0 + timedelta(minutes=2)
    assert item.calls == tuple(ids)
    assert (item.reason, item.node, item.short) == ("abandoned_in_menu", "main_menu", False)
    # One mail per missed call per recipient, and one webhook each.
    keys = await outbox_keys(db)
    assert [k for k in keys if k.startswith("mail:")] == sorted(f"mail:call{i}:boss@example.com" for i in ids)
    assert len([k for k in keys if k.startswith("webhook:")]) == 3


async def test_another_company_number_is_another_item_and_its_own_rule(db, service):
    a = await finished_call(db, ANNA, MAIN, "closed_hours", T0)
    b = await finished_call(db, ANNA, ADS, "closed_hours", T0 + timedelta(seconds=30))
    await service.call_finished(a)
    await service.call_finished(b)
    items = await service.store.list()
    assert sorted((i.company_number, i.count) for i in items) == [(MAIN, 1), (ADS, 1)]
    keys = await outbox_keys(db)
    assert f"mail:call{b}:night@example.com" in keys and f"mail:call{a}:night@example.com" not in keys


async def test_reviewing_a_call_twice_changes_nothing(db, service):
    call_id = await finished_call(db, ANNA, MAIN, "no_answer", T0)
    await service.call_finished(call_id)
    before = await outbox_keys(db)
    await service.call_finished(call_id)
    assert await outbox_keys(db) == before
    assert [i.count for i in await service.store.list()] == [1]


async def test_not_missed_and_withheld_calls_make_no_item(db, service):
    for caller, outcome in ((ANNA, "ended_by_plan"), ("", "no_answer"), ("anonymous", "abandoned_in_menu"),
                            (BORIS, "unknown_number")):
        await service.call_finished(await finished_call(db, caller, MAIN, outcome, T0))
    assert await service.store.list(status=None) == []
    assert await service.store.unreviewed() == []


async def test_short_call_is_kept_and_marked(db, service):
    call_id = await finished_call(db, ANNA, MAIN, "hung_up_in_greeting", T0, seconds=2.5,
                                  steps=MENU_STEPS[:2])
    await service.call_finished(call_id)
    (item,) = await service.store.list()
    assert item.short and item.reason == "hung_up_in_greeting"
    assert await service.store.list(include_short=False) == []
    # Short calls are mailed only to rules that ask for them.
    assert not [k for k in await outbox_keys(db) if k.startswith("mail:")]
    # A longer call later: the item is no longer all short.
    await service.call_finished(await finished_call(db, ANNA, MAIN, "abandoned_in_menu", T0 + timedelta(minutes=1),
                                                    steps=MENU_STEPS))
    (item,) = await service.store.list()
    assert not item.short and item.count == 2


async def test_answered_call_back_of_10_s_closes_every_pending_item_of_the_customer(db, service, clock):
    await service.call_finished(await finished_call(db, ANNA, MAIN, "no_answer", T0))
    await service.call_finished(await finished_call(db, ANNA, ADS, "no_answer", T0))
    await service.call_finished(await finished_call(db, BORIS, MAIN, "no_answer", T0))
    # Busy, then answered but too short: logged, item stays open.
    busy = await finished_call(db, ANNA, MAIN, "busy", T0 + timedelta(minutes=3), seconds=5, direction="outbound",
                               answered_by="101")
    short = await finished_call(db, ANNA, MAIN, "answered", T0 + timedelta(minutes=4), seconds=8,
                                direction="outbound", answered_after=2, answered_by="101")
    assert (await service.call_finished(busy)).kind == "attempt"
    assert (await service.call_finished(short)).kind == "attempt"
    assert {i.customer for i in await service.store.list(status="pending")} == {ANNA, BORIS}
    clock.at = T0 + timedelta(minutes=10)
    good = await finished_call(db, ANNA, MAIN, "answered", T0 + timedelta(minutes=9), seconds=14,
                               direction="outbound", answered_after=2, answered_by="101")
    verdict = await service.call_finished(good)
    assert (verdict.kind, verdict.reason) == ("reached", "called_back")
    closed = await service.store.list(status="closed")
    assert sorted(i.company_number for i in closed) == [MAIN, ADS]
    item = next(i for i in closed if i.company_number == MAIN)
    assert (item.closed_by, item.close_reason, item.callback_seconds) == ("101", "called_back", 600.0)
    attempts = [(e.kind, e.data.get("result")) for e in item.events if e.kind == "callback"]
    assert attempts == [("callback", "busy"), ("callback", "short_6s")]
    assert [i.customer for i in await service.store.list(status="pending")] == [BORIS]
    assert any(k.startswith(f"webhook:item{item.id}:closed") for k in await outbox_keys(db))


async def test_customer_calling_again_and_answered_closes_the_item(db, service):
    await service.call_finished(await finished_call(db, ANNA, MAIN, "abandoned_while_ringing", T0))
    await service.call_finished(await finished_call(db, ANNA, MAIN, "answered", T0 + timedelta(minutes=5),
                                                    answered_after=6, answered_by="102"))
    (item,) = await service.store.list(status=None)
    assert (item.status, item.close_reason, item.closed_by) == ("closed", "customer_called_again", "102")
    # The next miss opens a new item: the closed one stays as it was.
    await service.call_finished(await finished_call(db, ANNA, MAIN, "no_answer", T0 + timedelta(minutes=9)))
    assert sorted((i.status, i.count) for i in await service.store.list(status=None)) == [("closed", 1), ("open", 1)]


async def test_take_close_and_their_conflicts(db, service, clock):
    await service.call_finished(await finished_call(db, ANNA, MAIN, "no_answer", T0))
    (item,) = await service.store.list()
    clock.at = T0 + timedelta(seconds=30)
    taken = await service.take(item.id, "101")
    assert (taken.status, taken.taken_by) == ("taken", "101")
    assert (await service.take(item.id, "101")).status == "taken"          # again by the same: fine
    with pytest.raises(MissedConflict, match="taken by 101"):
        await service.take(item.id, "102")
    # Taken items still collect attempts: a new miss joins it.
    await service.call_finished(await finished_call(db, ANNA, MAIN, "no_answer", T0 + timedelta(minutes=1)))
    assert (await service.store.get(item.id)).count == 2
    clock.at = T0 + timedelta(minutes=2)
    closed = await service.close(item.id, "102", "reached on mobile")
    assert (closed.status, closed.closed_by, closed.close_reason) == ("closed", "102", "reached on mobile")
    with pytest.raises(MissedConflict, match="closed already"):
        await service.close(item.id, "101")
    with pytest.raises(MissedConflict):
        await service.take(item.id, "101")
    kinds = [e.kind for e in (await service.store.get(item.id)).events]
    assert kinds == ["missed", "taken", "missed", "closed"]
    keys = await outbox_keys(db)
    assert any(k.startswith(f"webhook:item{item.id}:taken") for k in keys)


async def test_catch_up_reviews_calls_a_crash_left_behind(db, service, plan, config, clock, tmp_path):
    ids = [await finished_call(db, ANNA, MAIN, "no_answer", T0 + timedelta(minutes=i)) for i in range(2)]
    ids.append(await finished_call(db, BORIS, MAIN, "answered", T0, answered_after=3, answered_by="101"))
    assert sorted(await service.store.unreviewed()) == sorted(ids)
    # A fresh service (the restart) finds them.
    settings = Settings(var_dir=str(tmp_path / "var"), asterisk_config_dir=str(tmp_path / "pbx" / "etc"))
    again = MissedService(settings, db, clock.now, lambda: plan, config)
    assert await again.catch_up() == 3
    assert await again.catch_up() == 0
    (item,) = await again.store.list()
    assert item.count == 2


async def test_voicemail_is_copied_out_of_the_spool(db, service, tmp_path):
    spool = tmp_path / "pbx" / "spool" / "recording" / "voicemail"
    spool.mkdir(parents=True)
    with wave.open(str(spool / "ch-vm.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\x01\x00" * 8000)
    steps = [(0, "vm", "enter", {"node_kind": "voicemail"}),
             (5, "vm", "voicemail_left", {"recording": "voicemail/ch-vm", "seconds": 1.0})]
    call_id = await finished_call(db, ANNA, MAIN, "voicemail", T0, steps=steps)
    await service.call_finished(call_id)
    (item,) = await service.store.list()
    kept = Path(item.voicemail)
    assert kept.parent == tmp_path / "var" / "voicemail" and kept.read_bytes() == (spool / "ch-vm.wav").read_bytes()
    assert item.reason == "voicemail" and not item.short


async def test_reload_config_reads_the_file_next_to_the_plan(db, plan, clock, tmp_path):
    settings = Settings(plan_file=str(tmp_path / "plan.yaml"), var_dir=str(tmp_path / "var"))
    service = MissedService(settings, db, clock.now, lambda: plan)
    assert service.config.rules == () and "mail" not in service.worker.deliverers
    (tmp_path / "notifications.yaml").write_text(
        "mail: {host: 127.0.0.1, port: 2525}\nrules: [{recipients: [a@example.com]}]\n")
    service.reload_config()
    assert service.config.rules[0].recipients == ("a@example.com",)
    assert {"mail", "digest", "webhook"} <= set(service.worker.deliverers)
    await service.call_finished(await finished_call(db, ANNA, MAIN, "no_answer", T0))
    assert [k for k in await outbox_keys(db) if k.startswith("mail:")] != []
