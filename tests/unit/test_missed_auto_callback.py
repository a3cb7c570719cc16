"""Automatic call-back of missed calls: the plan's `auto_callback:` rules (and their problems with
FILE:LINE:COL), when an item is due, who takes it, retries, giving up, and never two call-backs to one
customer, also across two service processes. Runs on SQLite and PostgreSQL with the real stores; only
the telephony (ringing the staff phone, the customer) is a stand-in."""
from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from ivr.ari.bus import EventBus
from ivr.config import Settings
from ivr.missed.auto_callback import AutoCallback, Tries, due_at, rule_for, rule_open, tries
from ivr.missed.callback import CallbackJob
from ivr.missed.errors import MissedConflict
from ivr.missed.service import MissedService
from ivr.missed.store import AUTO_STOPPED, CallState, MissedEvent, MissedItem, MissedStore
from ivr.notify.config import NotifyConfig
from ivr.plan.loader import PlanError, load_plan_text
from ivr.plan.model import AutoCallbackRule
from ivr.queues.agents import AgentState
from ivr.queues.manager import QueueManager
from ivr.store import CallStore, Database
from ivr.store.queues import QueueStore
from ivr.testing.fake_ari import FakeAri

SECRETS = Path(__file__).resolve().parent.parent / "integration" / "plans" / "secrets.yaml"
MAIN, ADS = "+74951110000", "+74951110001"
ANNA, BORIS = "+79161000001", "+79161000002"
# Wednesday 2026-11-25, Moscow (UTC+3): 07:00 is before the office opens at 09:00.
NIGHT = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
OPENING = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
CHANNELS = itertools.count(1)

PLAN = """\
company: Test
timezone: Europe/Moscow
country: RU
language: ru
ring_seconds: 1
numbers:
  "+74951110000": {entry: main}
  "+74951110001": {entry: main}
schedules:
  office:
    hours: {mon-fri: "08:00-18:00"}
staff:
  "101": {name: A}
  "102": {name: B}
  "103": {name: C}
trunks:
  default: {host: "127.0.0.11", caller_id: "+74951110000", default: yes}
nodes:
  main: {type: schedule, schedule: office, open: menu, closed: bye}
  menu: {type: menu, prompts: [x], choices: {"1": desk}}
  desk: {type: queue, agents: ["101", "102", "103"], wrapup_seconds: 30}
  bye: {type: hangup}
auto_callback:
"""
NIGHT_RULE = """\
  night:
    schedule: office
    reasons: [closed, voicemail]
    numbers: ["+74951110000"]
    not_before: "09:00"
    staff: ["101", "102"]
    delay_seconds: 0
    attempts: 2
    retry_seconds: 600
"""


def plan_of(rules: str = NIGHT_RULE):
    return load_plan_text(PLAN + rules, "plan.yaml", secrets_path=SECRETS)


def problems_of(rules: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        plan_of(rules)
    return [str(p) for p in info.value.problems]


# ----- the plan section -----

def test_a_rule_becomes_frozen_data_with_reason_groups_expanded():
    (rule,) = plan_of().auto_callback
    assert rule == AutoCallbackRule(name="night", schedule="office", reasons=frozenset({"closed_hours", "holiday",
                                    "voicemail"}), numbers=(MAIN,), staff=("101", "102"), not_before=time(9),
                                    delay_seconds=0, attempts=2, retry_seconds=600)
    (queue_rule,) = plan_of('  q: {schedule: office, reasons: [abandoned_in_queue, callback_requested], queue: desk,'
                            ' not_after: "24:00", skip_short: no}\n').auto_callback
    assert (queue_rule.queue, queue_rule.staff, queue_rule.not_after, queue_rule.skip_short) == ("desk", (), time.max,
                                                                                                 False)
    assert queue_rule.reasons == {"abandoned_in_queue", "callback_requested"}
    assert (queue_rule.attempts, queue_rule.retry_seconds, queue_rule.delay_seconds) == (3, 600.0, 60.0)


def test_bad_rules_are_reported_with_their_position():
    problems = problems_of("""\
  a:
    schedule: ofice
    reasons: [closd, voicemail]
    staff: ["101", "109"]
    numbers: ["+74957777777"]
    attempts: 0
    not_before: "18:00"
    not_after: "09:00"
    retrys: 2
  b: {schedule: office, reasons: [all], staff: ["101"], queue: desk}
  c: {schedule: office, reasons: [all], queue: main}
  d: {schedule: office, staff: ["101"]}
""")
    line = PLAN.count("\n") + 1
    assert problems == [
        f"plan.yaml:{line + 1}:15: auto_callback 'a': unknown schedule 'ofice' (did you mean 'office'?)",
        f"plan.yaml:{line + 2}:15: auto_callback 'a': reasons: 'closd' is not a reason: use closed, abandoned, "
        f"no_answer, voicemail, full, callback_requested, all, or a call outcome like abandoned_in_menu "
        f"(did you mean 'closed'?)",
        f"plan.yaml:{line + 3}:20: auto_callback 'a': staff: unknown staff extension '109' (staff: 101, 102, 103)",
        f"plan.yaml:{line + 4}:15: auto_callback 'a': +74957777777 is not a company number of this plan",
        f"plan.yaml:{line + 5}:15: attempts: must be more than 0",
        f"plan.yaml:{line + 7}:16: auto_callback 'a': not_after must be later than not_before",
        f"plan.yaml:{line + 8}:5: auto_callback 'a': unknown key 'retrys' (did you mean 'retry_seconds'?)",
        f"plan.yaml:{line + 9}:64: auto_callback 'b': give either staff (extensions) or queue (a queue node), "
        f"not both",
        f"plan.yaml:{line + 10}:48: auto_callback 'c': queue: 'main' is not a queue node",
        f"plan.yaml:{line + 11}:6: auto_callback 'd': 'reasons' is missing",
    ]


def test_a_rule_needs_a_trunk_to_call_out():
    text = (PLAN + NIGHT_RULE).replace('trunks:\n  default: {host: "127.0.0.11", caller_id: "+74951110000", default: yes}\n', "")
    with pytest.raises(PlanError) as info:
        load_plan_text(text, "plan.yaml", secrets_path=SECRETS)
    (problem,) = info.value.problems
    assert problem.message == "auto_callback: the plan has no trunk to call customers through"


# ----- when an item is due (pure) -----

def item_with(*events: MissedEvent, reason: str = "closed_hours", short: bool = False,
              last_at: datetime = NIGHT, number: str = MAIN) -> MissedItem:
    return MissedItem(id=1, customer=ANNA, company_number=number, source="", contact_name="", status="open", count=1,
                      short=short, reason=reason, node="bye", first_at=last_at, last_at=last_at, voicemail="",
                      taken_by="", taken_at=None, closed_by="", closed_at=None, close_reason="",
                      callback_seconds=None, events=(MissedEvent(last_at, "missed", call_id=1), *events))


def started(at: datetime, call: int, by: str = "auto") -> MissedEvent:
    return MissedEvent(at, "callback_started", by, data={"staff": "101", "call": call})


def test_attempts_count_automatic_calls_to_the_customer_since_the_latest_miss():
    t1, t2 = OPENING, OPENING + timedelta(minutes=20)
    item = item_with(started(t1, 11), MissedEvent(t1 + timedelta(seconds=30), "callback", "101",
                                                  data={"result": "busy"}),
                     started(t2, 12), started(t2 + timedelta(minutes=1), 13, by="dispatcher"))
    calls = {11: CallState(t1, t1 + timedelta(seconds=30), "busy"),
             12: CallState(t2, t2 + timedelta(seconds=30), "staff_no_answer"),   # the customer was never rung
             13: CallState(t2, t2 + timedelta(minutes=2), "no_answer")}          # a person's call-back
    t = tries(item, calls, t2 + timedelta(minutes=5))
    assert t == Tries(attempts=1, last_at=t2 + timedelta(minutes=1))
    assert tries(item, {**calls, 13: CallState(t2, None, None)}, t2 + timedelta(minutes=5)).running
    # A record a crash never finished counts as an attempt once it is old.
    assert tries(item, {**calls, 13: CallState(t2, None, None)}, t2 + timedelta(hours=1)).attempts == 1
    assert tries(item, {**calls, 13: CallState(t2, None, None)}, t2 + timedelta(hours=1)).last_at is not None
    # A new missed call after them starts a new round.
    later = item_with(*item.events[1:], last_at=t2 + timedelta(minutes=10))
    assert tries(later, calls, t2 + timedelta(minutes=11)) == Tries()


def test_due_after_the_delay_then_retry_spacing_until_attempts_are_spent():
    (rule,) = plan_of().auto_callback
    assert due_at(item_with(), rule, Tries()) == NIGHT
    slow = AutoCallbackRule(**{**rule.__dict__, "delay_seconds": 90})
    assert due_at(item_with(), slow, Tries()) == NIGHT + timedelta(seconds=90)
    assert due_at(item_with(), rule, Tries(1, OPENING)) == OPENING + timedelta(seconds=600)
    assert due_at(item_with(), rule, Tries(2, OPENING)) is None
    assert due_at(item_with(), rule, Tries(0, None, running=True)) is None
    assert due_at(item_with(), rule, Tries(0, None, stopped=True)) is None


def test_the_first_rule_covering_number_reason_and_shortness_wins():
    plan = plan_of(NIGHT_RULE + '  rest: {schedule: office, reasons: [all], staff: ["103"], skip_short: no}\n')
    night, rest = plan.auto_callback
    assert rule_for(plan.auto_callback, item_with()) is night
    assert rule_for(plan.auto_callback, item_with(number=ADS)) is rest
    assert rule_for(plan.auto_callback, item_with(reason="abandoned_in_menu")) is rest
    assert rule_for(plan.auto_callback, item_with(short=True)) is rest
    assert rule_for((night,), item_with(short=True)) is None


def test_open_only_inside_the_schedule_and_not_before_its_time():
    plan = plan_of()
    (rule,) = plan.auto_callback
    local = lambda h, m=0: datetime(2026, 11, 25, h - 3, m, tzinfo=UTC)   # noqa: E731  Moscow time
    assert not rule_open(plan, rule, local(7, 59))                 # office closed
    assert not rule_open(plan, rule, local(8, 30))                 # open, but not before 09:00
    assert rule_open(plan, rule, local(9))
    assert not rule_open(plan, rule, local(18))                    # closed again
    assert not rule_open(plan, rule, datetime(2026, 11, 28, 8, 0, tzinfo=UTC))   # Saturday


# ----- the background task on a real database -----

class FakeClock:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


class FakeCallbacks:
    """Stands in for ivr.missed.callback.Callbacks: a staff phone "rings" until the test ends the job."""

    def __init__(self, clock: FakeClock) -> None:
        self.ari, self.clock = FakeAri(), clock
        self.jobs: dict[str, CallbackJob] = {}
        self.customers: dict[str, str] = {}
        self.rung: list[CallbackJob] = []
        self._on_end = {}

    def busy(self, customer: str) -> bool:
        return customer in self.customers

    async def ring_staff(self, job: CallbackJob, on_end) -> None:
        assert not self.busy(job.item.customer)
        self.jobs[job.channel_id], self.customers[job.item.customer] = job, job.channel_id
        self.rung.append(job)
        self._on_end[job.channel_id] = on_end

    async def end(self, job: CallbackJob, outcome: str, talk: float = 0.0) -> None:
        job.outcome = outcome
        if outcome == "answered":
            job.answered_at = self.clock.at
            self.clock.at += timedelta(seconds=talk)
        del self.jobs[job.channel_id], self.customers[job.item.customer]
        await self._on_end.pop(job.channel_id)(job)


class Process:
    """One service process: its missed-call service, call-backs and automatic call-back."""

    def __init__(self, db: Database, plan, clock: FakeClock, tmp_path: Path, queues: bool = False):
        settings = Settings(var_dir=str(tmp_path / "var"), asterisk_config_dir=str(tmp_path / "pbx" / "etc"))
        self.missed = MissedService(settings, db, clock.now, lambda: plan, NotifyConfig(close_after_seconds=10))
        self.callbacks = FakeCallbacks(clock)
        self.missed.callbacks = self.callbacks
        self.queues = QueueManager(EventBus(), QueueStore(db), clock.now, lambda: plan) if queues else None
        self.auto = AutoCallback(self.missed, lambda: plan, self.queues)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NIGHT)


async def missed_call(process: Process, caller: str, at: datetime, outcome: str = "closed_hours",
                      number: str = MAIN) -> MissedItem:
    calls = CallStore(process.missed.store._db)
    call_id = await calls.start(f"ch-{next(CHANNELS)}", caller, number, "main-line", 1, at)
    await calls.add_step(call_id, at, "main", "enter", {"node_kind": "schedule"})
    await calls.finish(call_id, at + timedelta(seconds=20), outcome, None)
    await process.missed.call_finished(call_id)
    (item,) = await process.missed.store.list(status="pending", customer=caller)
    return item


async def test_an_after_hours_miss_is_called_back_at_opening_by_a_free_staff_phone(db, clock, tmp_path):
    p = Process(db, plan_of(), clock, tmp_path)
    item = await missed_call(p, ANNA, NIGHT)
    clock.at = OPENING - timedelta(minutes=1)                 # 08:59: open, but not before 09:00
    assert await p.auto.tick() == 0 and not p.callbacks.rung
    clock.at = OPENING
    p.callbacks.ari.states["101"] = "INUSE"                    # on a call: the next free phone takes it
    assert await p.auto.tick() == 1
    (job,) = p.callbacks.rung
    assert (job.staff, job.item.id) == ("102", item.id)
    assert await p.auto.tick() == 0                            # one call-back to her at a time
    await p.callbacks.end(job, "answered", talk=12)
    closed = await p.missed.store.get(item.id)
    assert (closed.status, closed.close_reason, closed.closed_by) == ("closed", "auto_called_back", "102")
    (begun,) = [e for e in closed.events if e.kind == "callback_started"]
    assert (begun.by, begun.data["rule"], begun.data["attempt"], begun.data["staff"]) == ("auto", "night", 1, "102")
    assert not p.auto.running


async def test_a_busy_customer_stays_open_and_is_retried_after_the_spacing_then_given_up(db, clock, tmp_path):
    p = Process(db, plan_of(), clock, tmp_path)
    item = await missed_call(p, ANNA, NIGHT)
    clock.at = OPENING
    assert await p.auto.tick() == 1
    await p.callbacks.end(p.callbacks.rung[0], "busy")
    after = await p.missed.store.get(item.id)
    assert after.status == "open"
    assert [e.data["result"] for e in after.events if e.kind == "callback"] == ["busy"]
    clock.at += timedelta(seconds=599)
    assert await p.auto.tick() == 0                            # retry_seconds: 600
    clock.at += timedelta(seconds=2)
    assert await p.auto.tick() == 1
    assert p.callbacks.rung[1].staff == "102"                  # 101 had the last one
    await p.callbacks.end(p.callbacks.rung[1], "no_answer")
    clock.at += timedelta(hours=1)
    assert await p.auto.tick() == 0                            # attempts: 2, spent
    assert await p.auto.tick() == 0
    events = (await p.missed.store.get(item.id)).events
    assert [e.data["attempts"] for e in events if e.kind == AUTO_STOPPED] == [2]
    assert (await p.missed.store.get(item.id)).status == "open"    # people take over
    # She calls again and misses again: a new round of attempts.
    await missed_call(p, ANNA, clock.at + timedelta(minutes=1))
    clock.at += timedelta(minutes=2)
    assert await p.auto.tick() == 1


async def test_a_staff_phone_that_lets_it_ring_is_skipped_and_the_next_takes_it(db, clock, tmp_path):
    p = Process(db, plan_of(), clock, tmp_path)
    item = await missed_call(p, ANNA, NIGHT)
    clock.at = OPENING
    assert await p.auto.tick() == 1
    await p.callbacks.end(p.callbacks.rung[0], "staff_no_answer")
    assert p.auto._wake.is_set()                               # the next round comes at once
    assert await p.auto.tick() == 1                            # no attempt on the customer: no spacing
    assert [j.staff for j in p.callbacks.rung] == ["101", "102"]
    await p.callbacks.end(p.callbacks.rung[1], "staff_no_answer")
    assert await p.auto.tick() == 0                            # both skipped for a while
    started_ = [e for e in (await p.missed.store.get(item.id)).events if e.kind == "callback_started"]
    assert [e.data["attempt"] for e in started_] == [1, 1]


async def test_items_go_oldest_first_and_never_twice_to_one_customer(db, clock, tmp_path):
    p = Process(db, plan_of(), clock, tmp_path)
    boris = await missed_call(p, BORIS, NIGHT)
    anna = await missed_call(p, ANNA, NIGHT + timedelta(minutes=5))
    await missed_call(p, "+79161000003", NIGHT, outcome="abandoned_in_menu")    # no rule for it
    await missed_call(p, "+79161000004", NIGHT, number=ADS)                      # nor for this number
    clock.at = OPENING
    assert await p.auto.tick() == 2
    assert [(j.item.id, j.staff) for j in p.callbacks.rung] == [(boris.id, "101"), (anna.id, "102")]


async def test_a_manual_call_back_or_a_second_process_never_double_dials(db, clock, tmp_path):
    plan = plan_of()
    a, b = Process(db, plan, clock, tmp_path), Process(db, plan, clock, tmp_path)
    item = await missed_call(a, ANNA, NIGHT)
    clock.at = OPENING
    # A dispatcher's call-back from the console of another process holds the customer.
    await MissedStore(db).claim_callback(ANNA, "103", clock.at)
    assert await a.auto.tick() == 0 and not a.callbacks.rung and not a.auto.running
    await MissedStore(db).release_callback(ANNA)

    # Both processes at the same moment: one rings.
    results = await asyncio.gather(a.auto.tick(), b.auto.tick())
    assert sorted(results) == [0, 1]
    (job,) = a.callbacks.rung + b.callbacks.rung
    winner = a if a.callbacks.rung else b
    loser = b if winner is a else a
    # The loser judged the item before the winner's attempt ended: its stale view is refused.
    seen = len(item.events)
    await winner.callbacks.end(job, "busy")
    with pytest.raises(MissedConflict):
        await loser.missed.start_callback(item.id, "102", by="auto", seen_events=seen)
    assert not loser.callbacks.rung
    # And a fresh look respects the retry spacing the winner's attempt set.
    assert await loser.auto.tick() == 0


async def test_queue_agents_free_logged_in_unpaused_and_reserved_while_calling(db, clock, tmp_path):
    plan = plan_of('  q: {schedule: office, reasons: [all], queue: desk, delay_seconds: 0}\n')
    p = Process(db, plan, clock, tmp_path, queues=True)
    await p.queues.agent_action("101", "pause")
    await p.queues.agent_action("102", "logout")
    await missed_call(p, ANNA, NIGHT)
    await missed_call(p, BORIS, NIGHT)
    clock.at = OPENING
    assert await p.auto.tick() == 1                            # only 103 is free
    (job,) = p.callbacks.rung
    assert job.staff == "103" and p.queues.agent("103").state is AgentState.RINGING
    await p.callbacks.end(job, "answered", talk=12)
    agent = p.queues.agent("103")
    assert agent.state is AgentState.IDLE and agent.calls == 1
    assert agent.status(asyncio.get_running_loop().time()) == "wrapup"    # the queue's 30 s wrap-up
    assert await p.auto.tick() == 0                            # Boris waits for a free agent
    await p.queues.agent_action("101", "unpause")
    assert await p.auto.tick() == 1 and p.callbacks.rung[1].staff == "101"


async def test_the_task_runs_until_cancelled_and_survives_a_failing_round(db, clock, tmp_path):
    p = Process(db, plan_of(), clock, tmp_path)
    p.auto.poll_seconds = 0.01
    rounds = 0

    async def tick() -> int:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("database away")
        return 0
    p.auto.tick = tick
    p.auto.start()
    while rounds < 3:
        await asyncio.sleep(0.01)
    await p.auto.stop()
    assert p.auto._task is None and rounds >= 3
