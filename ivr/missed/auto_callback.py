"""Automatic call-back of missed calls (the plan's `auto_callback:` rules), like a PBX's call-back
queue: while a rule's schedule is open, the oldest due open item is offered to a free staff member
(their phone rings first, showing the customer), then the customer is called and bridged, all
through `MissedService.start_callback`. The result lands on the item the usual way: answered long
enough closes it ("auto_called_back"), anything else is logged and the item waits `retry_seconds`
for the next attempt, until the rule's `attempts` are spent (then people take over).

Never two call-backs to one customer at once: the database claim of `start_callback` holds across
processes and against a manual call-back, and the item must be unchanged since it was judged due
(`seen_events`), so two services cannot ring the same customer one right after the other either.
Attempts are counted from the item's events in the database, never from memory: a restart or a
second process continues the same count.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.ari.client import AriError
from ivr.errors import IvrError
from ivr.missed.callback import CallbackJob
from ivr.missed.errors import MissedConflict
from ivr.missed.service import AUTO, MissedService
from ivr.missed.store import AUTO_STOPPED, CallState, MissedItem
from ivr.plan.model import AutoCallbackRule, Plan, QueueNode
from ivr.plan.schedule import schedule_state
from ivr.queues.agents import AgentState
from ivr.queues.manager import QueueManager

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
BATCH = 200
# A staff phone that let an automatic call-back ring out is not offered another for this long.
STAFF_SKIP_SECONDS = 60.0
# A call-back whose record never ended (its process crashed) counts as an attempt after this long.
RUNNING_LIMIT = timedelta(minutes=15)
# Device states of a phone that must not be offered a call-back (ringing, on a call, unreachable).
NOT_FREE = frozenset({"UNAVAILABLE", "INVALID", "BUSY", "INUSE", "ONHOLD", "RINGING", "RINGINUSE"})
# The staff phone did not answer: the customer was never dialled, so it is no attempt on them.
STAFF_NO_ANSWER = "staff_no_answer"


@dataclass(frozen=True)
class Tries:
    """What has been tried on an item since the customer's latest missed call."""
    attempts: int = 0                  # automatic calls that rang out to the customer
    last_at: datetime | None = None    # the latest call to the customer by anyone (auto, console, desk phone)
    running: bool = False              # a call-back is under way (here or in another process)
    stopped: bool = False              # the automatic call-back gave up on it


def tries(item: MissedItem, calls: dict[int, CallState], now: datetime) -> Tries:
    attempts, last_at, running, stopped = 0, None, False, False
    for event in item.events:
        if event.at < item.last_at:
            continue          # before the latest missed call: a new miss starts a new round
        if event.kind == AUTO_STOPPED:
            stopped = True
        elif event.kind == "callback_started":
            state = calls.get(int(event.data.get("call", 0) or 0))
            if state is None or state.ended_at is None:
                if now - event.at < RUNNING_LIMIT:
                    running = True
                    continue
                outcome = "unknown"       # left by a crash
            else:
                outcome = state.outcome or ""
            if outcome == STAFF_NO_ANSWER:
                continue
            attempts += event.by == AUTO
            last_at = max(last_at or event.at, event.at)
        elif event.kind == "callback" and event.data.get("result") != STAFF_NO_ANSWER:
            last_at = max(last_at or event.at, event.at)     # the attempt's end, or a desk phone's call
    return Tries(attempts, last_at, running, stopped)


def due_at(item: MissedItem, rule: AutoCallbackRule, t: Tries) -> datetime | None:
    """When the next automatic attempt may start; None while one runs or when none is left."""
    if t.running or t.stopped or t.attempts >= rule.attempts:
        return None
    at = item.last_at + timedelta(seconds=rule.delay_seconds)
    if t.last_at is not None:
        at = max(at, t.last_at + timedelta(seconds=rule.retry_seconds))
    return at


def rule_for(rules: tuple[AutoCallbackRule, ...], item: MissedItem) -> AutoCallbackRule | None:
    """The first rule that covers the item's company number and reason (and its shortness)."""
    for rule in rules:
        if (not rule.numbers or item.company_number in rule.numbers) and item.reason in rule.reasons \
                and not (rule.skip_short and item.short):
            return rule
    return None


def rule_open(plan: Plan, rule: AutoCallbackRule, now: datetime) -> bool:
    """The rule's schedule is open and the local time is within not_before .. not_after."""
    schedule = plan.schedules.get(rule.schedule)
    if schedule is None:
        return False
    zone = ZoneInfo(plan.timezone)
    if schedule_state(schedule, now, zone) != "open":
        return False
    moment = now.astimezone(zone).time().replace(tzinfo=None)
    if rule.not_before is not None and moment < rule.not_before:
        return False
    return rule.not_after is None or rule.not_after == time.max or moment < rule.not_after


class AutoCallback:
    """One per service: `start()` runs the background task, `stop()` cancels it."""

    def __init__(self, missed: MissedService, plan: Callable[[], Plan | None], queues: QueueManager | None = None,
                 poll_seconds: float = POLL_SECONDS):
        self.missed, self.plan, self.queues = missed, plan, queues
        self.poll_seconds = poll_seconds
        self.running: dict[str, str] = {}          # customer -> staff extension of our call-back to them
        self.skip_until: dict[str, float] = {}     # extension -> loop time
        self.offered_at: dict[str, float] = {}     # extension -> loop time of its last offer
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        missed.on_callback_end = self._ended

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="missed-auto-callback")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except IvrError as e:            # the database or ARI away for a moment: next round
                log.error("automatic call-back round failed error=%s", e.message)
            except Exception:
                log.exception("automatic call-back round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    # ----- one round -----

    async def tick(self) -> int:
        """Offer every due item (oldest first) to a free staff member; returns how many started."""
        plan = self.plan()
        callbacks = self.missed.callbacks
        if plan is None or not plan.auto_callback or callbacks is None or not callbacks.ari.connected:
            return 0
        now = self.missed.now()
        open_rules = {r.name for r in plan.auto_callback if rule_open(plan, r, now)}
        if not open_rules:
            return 0
        rules = plan.auto_callback
        numbers = None if any(not r.numbers for r in rules) else {n for r in rules for n in r.numbers}
        items = await self.missed.store.auto_candidates(
            {reason for r in rules for reason in r.reasons}, numbers,
            include_short=not all(r.skip_short for r in rules), limit=BATCH)
        calls = await self.missed.store.call_states({int(e.data["call"]) for i in items for e in i.events
                                                     if e.kind == "callback_started" and e.data.get("call")})
        started = 0
        unstaffed: set[str] = set()        # rules nobody is free for in this round
        not_free: set[str] = set()         # phones found busy in this round
        for item in items:
            rule = rule_for(rules, item)
            if rule is None or rule.name not in open_rules or rule.name in unstaffed \
                    or item.customer in self.running or callbacks.busy(item.customer):
                continue
            t = tries(item, calls, now)
            if not t.stopped and not t.running and t.attempts >= rule.attempts:
                await self.missed.store.log(item.id, AUTO_STOPPED, AUTO, now, rule=rule.name, attempts=t.attempts)
                log.info("automatic call-back gave up item=%d attempts=%d rule=%s", item.id, t.attempts, rule.name)
                continue
            due = due_at(item, rule, t)
            if due is None or due > now:
                continue
            staff = await self._free_staff(plan, rule, not_free)
            if staff is None:
                unstaffed.add(rule.name)
                continue
            started += await self._start(item, rule, staff, t.attempts + 1)
        return started

    async def _start(self, item: MissedItem, rule: AutoCallbackRule, staff: str, attempt: int) -> bool:
        self.running[item.customer] = staff
        self._reserve(staff)
        self.offered_at[staff] = asyncio.get_running_loop().time()
        try:
            # Shielded: a call-back cancelled half-way would leave its claim on the customer.
            await asyncio.shield(self.missed.start_callback(
                item.id, staff, by=AUTO, note={"rule": rule.name, "attempt": attempt}, seen_events=len(item.events)))
        except MissedConflict as e:      # a person or another process got there first: fine
            log.info("automatic call-back not started item=%d: %s", item.id, e.message)
            self._forget(item.customer, staff)
            return False
        except IvrError as e:
            log.warning("automatic call-back failed item=%d staff=%s error=%s", item.id, staff, e.message)
            self._forget(item.customer, staff)
            return False
        log.info("automatic call-back item=%d customer=%s staff=%s attempt=%d rule=%s", item.id, item.customer,
                 staff, attempt, rule.name)
        return True

    def _ended(self, job: CallbackJob) -> None:
        """MissedService's hook: a call-back of this process has ended and been reviewed."""
        if self.running.get(job.item.customer) != job.staff:
            return                       # a call-back started by a person
        self._forget(job.item.customer, job.staff, answered=job.outcome != STAFF_NO_ANSWER)
        if job.outcome == STAFF_NO_ANSWER:
            self.skip_until[job.staff] = asyncio.get_running_loop().time() + STAFF_SKIP_SECONDS
        self.kick()                      # the item may go to another free staff member at once

    # ----- who takes it -----

    async def _free_staff(self, plan: Plan, rule: AutoCallbackRule, not_free: set[str]) -> str | None:
        """A free taker: a queue's agent who is logged in, not paused, not ringing or talking, out of
        wrap-up; or one of the rule's staff; either way its phone idle. Longest since offered first."""
        loop_now = asyncio.get_running_loop().time()
        node = plan.nodes.get(rule.queue) if rule.queue else None
        if isinstance(node, QueueNode):
            if self.queues is None:
                return None
            candidates = sorted((ext for ext in node.agents if self.queues.agent(ext).available(loop_now)),
                                key=lambda ext: node.penalties.get(ext, 0))
        else:
            candidates = [ext for ext in rule.staff if ext in plan.staff and self._idle_in_queues(ext)]
        taken = set(self.running.values())
        if self.missed.callbacks is not None:
            taken |= {job.staff for job in self.missed.callbacks.jobs.values()}
        candidates = [ext for ext in candidates
                      if ext not in taken and ext not in not_free and self.skip_until.get(ext, 0.0) <= loop_now]
        # Stable sort: the plan's order (and the queue's penalties) among those never offered.
        for ext in sorted(candidates, key=lambda e: self.offered_at.get(e, 0.0)):
            if await self._phone_free(ext):
                return ext
            not_free.add(ext)
        return None

    def _idle_in_queues(self, ext: str) -> bool:
        agent = self.queues.agents.get(ext) if self.queues is not None else None
        return agent is None or agent.state is AgentState.IDLE

    async def _phone_free(self, ext: str) -> bool:
        callbacks = self.missed.callbacks
        assert callbacks is not None
        try:
            return await callbacks.ari.device_state(f"PJSIP/{ext}") not in NOT_FREE
        except AriError:
            return False

    def _reserve(self, ext: str) -> None:
        """A queue agent on an automatic call-back is offered no queue caller meanwhile."""
        agent = self.queues.agents.get(ext) if self.queues is not None else None
        if agent is not None and agent.state is AgentState.IDLE:
            agent.state = AgentState.RINGING

    def _forget(self, customer: str, ext: str, answered: bool = False) -> None:
        self.running.pop(customer, None)
        agent = self.queues.agents.get(ext) if self.queues is not None else None
        if agent is None or agent.state is not AgentState.RINGING:
            return
        loop_now = asyncio.get_running_loop().time()
        agent.state = AgentState.IDLE
        if answered:
            agent.calls += 1
            agent.last_call_end = loop_now
            wrapup = max((n.wrapup_seconds for n in self._queue_nodes() if ext in n.agents), default=0.0)
            agent.wrapup_until = loop_now + wrapup
        self.queues.dispatch()          # callers waiting in a queue may have this agent now

    def _queue_nodes(self) -> list[QueueNode]:
        plan = self.plan()
        return [n for n in plan.nodes.values() if isinstance(n, QueueNode)] if plan else []
