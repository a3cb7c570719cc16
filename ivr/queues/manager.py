"""The queues of the service: who waits in which line, in what order, and which agent is offered
whom. One QueueManager per service (in `Services.queues`).

The manager only decides; ringing is done by whoever waits: a caller's own task rings the agents
it is offered (ivr/flows/queue.py), a call-back request is rung by a task of the manager
(ivr/queues/callback.py). An offer reserves the agents (state RINGING) until its owner reports
back with `offer_ended`, so no agent is offered two callers at once.

Everything here runs on the event loop without awaiting in between, so the line and the agents
are consistent without locks; database writes are background tasks.
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.ari.bus import EventBus
from ivr.ari.events import Event
from ivr.plan.model import Plan, QueueNode
from ivr.queues.agents import Agent, AgentState, choose
from ivr.queues.errors import InvalidAgentAction, UnknownAgent
from ivr.queues.stats import compute
from ivr.store.queues import CallbackRecord, QueueEntry, QueueStore

log = logging.getLogger(__name__)

AGENT_ACTIONS = ("login", "logout", "pause", "unpause")
# An agent whose phone was busy or unreachable is tried again after this long at the earliest.
UNREACHABLE_SKIP_SECONDS = 5.0
# An agent whose phone reports "in use" is looked at again this soon: right after its own queue call
# Asterisk still says "in use" for a few ms, and a longer skip left a free agent idle (bench_queue).
BUSY_RECHECK_SECONDS = 0.5
# Weight of the newest talk time in the running average used for wait estimates.
TALK_AVERAGE_WEIGHT = 0.3


@dataclass(frozen=True)
class QueueTurn(Event):
    """Wakes a waiting caller's task: it has been offered agents (`Waiter.offer`)."""


@dataclass(eq=False)
class Waiter:
    """One place in a line: a caller on the line, or a call-back request (`channel_id` empty)."""

    queue: str
    caller: str
    vip: bool
    joined: float                    # loop time; the line is ordered by (not vip, joined)
    joined_at: datetime
    channel_id: str = ""
    call_id: int | None = None
    callback_id: int | None = None
    attempts: int = 0                # call-back attempts made
    not_before: float = 0.0          # a call-back retry waits until then
    offer: tuple[str, ...] = ()      # agents reserved for this waiter, ringing
    answered_at: float | None = None

    @property
    def is_callback(self) -> bool:
        return self.callback_id is not None


@dataclass
class LiveQueue:
    node: QueueNode
    waiting: list[Waiter] = field(default_factory=list)
    last_offered: str | None = None  # round-robin: the agent offered last
    talk_average: float | None = None

    def ordered(self) -> list[Waiter]:
        return sorted(self.waiting, key=lambda w: (not w.vip, w.joined))


class QueueManager:
    def __init__(self, bus: EventBus, store: QueueStore, clock: Callable[[], datetime],
                 plan: Callable[[], Plan | None], rng: random.Random | None = None):
        self.bus = bus
        self.store = store
        self.clock = clock
        self.plan = plan                 # the live plan (nodes of call-backs loaded at start)
        self.rng = rng or random.Random()
        self.queues: dict[str, LiveQueue] = {}
        self.agents: dict[str, Agent] = {}
        # Rings the agent, then the customer, for a call-back whose turn came (set by the service).
        self.run_callback: Callable[[Waiter, QueueNode], Any] | None = None
        self._tasks: set[asyncio.Task] = set()
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at = math.inf

    # ----- life cycle -----

    async def start(self) -> None:
        """Agent states and open call-back requests from the database (they survive a restart)."""
        for record in (await self.store.agents()).values():
            agent = self.agent(record.extension)
            agent.logged_in, agent.paused, agent.reason = record.logged_in, record.paused, record.reason
        plan = self.plan()
        now, wall = self._now(), self.clock()
        for cb in await self.store.open_callbacks():
            node = plan.nodes.get(cb.queue) if plan else None
            if not isinstance(node, QueueNode):
                log.error("call-back for a queue not in the plan callback=%s queue=%s", cb.id, cb.queue)
                continue
            self._queue(node).waiting.append(self._callback_waiter(cb, now, wall))
        self.dispatch()

    async def stop(self) -> None:
        if self._wake:
            self._wake.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def settled(self) -> None:
        """Until the line reflects every change made so far: at once here, where the line is this
        process's own (ivr/queues/shared.py waits for the shared rows)."""

    def spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("queue task failed task=%s", task.get_name(), exc_info=task.exception())

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    # ----- lines -----

    def agent(self, extension: str) -> Agent:
        if extension not in self.agents:
            self.agents[extension] = Agent(extension)
        return self.agents[extension]

    def _queue(self, node: QueueNode) -> LiveQueue:
        """The live line of a node; a newer plan's settings replace the old ones."""
        queue = self.queues.get(node.id)
        if queue is None:
            queue = self.queues[node.id] = LiveQueue(node)
        queue.node = node
        for ext in node.agents:
            self.agent(ext)
        return queue

    def logged_in(self, node: QueueNode) -> list[str]:
        return [ext for ext in node.agents if self.agent(ext).logged_in]

    def join(self, node: QueueNode, caller: str, channel_id: str, call_id: int | None,
             vip: bool = False) -> Waiter | str:
        """A caller enters the line: their Waiter, or why not ("full", "no_agents")."""
        queue = self._queue(node)
        now, wall = self._now(), self.clock()
        reason = None
        if node.max_callers and len(queue.waiting) >= node.max_callers:
            reason = "full"
        elif not self.logged_in(node):
            reason = "no_agents"
        # VIP: listed in the node, or flagged in the contacts (passed in by the flow).
        waiter = Waiter(node.id, caller, vip or caller in node.vip, now, wall, channel_id, call_id)
        if reason:
            self._record(waiter, node, reason)
            return reason
        queue.waiting.append(waiter)
        self.dispatch()
        return waiter

    def position(self, waiter: Waiter) -> int:
        """1 for the head of the line; 0 when no longer waiting."""
        line = self.queues[waiter.queue].ordered()
        return line.index(waiter) + 1 if waiter in line else 0

    def estimate(self, waiter: Waiter) -> float | None:
        """Seconds until this caller is likely answered: the callers ahead share the logged-in
        agents, each call taking the running average talk time. None before any call was talked."""
        queue = self.queues[waiter.queue]
        if queue.talk_average is None:
            return None
        agents = max(1, len(self.logged_in(queue.node)))
        return self.position(waiter) * queue.talk_average / agents

    def leave(self, waiter: Waiter, outcome: str) -> None:
        """The waiter leaves without an agent (abandoned, timeout, left, ...); offered agents are freed."""
        queue = self.queues.get(waiter.queue)
        if queue is None or waiter not in queue.waiting:
            return
        queue.waiting.remove(waiter)
        self._release(waiter)
        self._record(waiter, queue.node, outcome)
        self.dispatch()

    def _release(self, waiter: Waiter) -> None:
        for ext in waiter.offer:
            agent = self.agent(ext)
            if agent.state is AgentState.RINGING:
                agent.state = AgentState.IDLE
        waiter.offer = ()

    # ----- offers -----

    def dispatch(self) -> None:
        """Offer free agents to waiters, head of each line first."""
        now = self._now()
        for queue in self.queues.values():
            for waiter in queue.ordered():
                if waiter.offer or waiter.not_before > now:
                    continue
                chosen = choose(queue.node, self.agents, now, queue.last_offered, self.rng)
                if not chosen:
                    break                    # nobody free for the head: nobody behind it either
                for ext in chosen:
                    self.agent(ext).state = AgentState.RINGING
                waiter.offer = tuple(chosen)
                queue.last_offered = chosen[-1]
                log.info("queue offer queue=%s agents=%s caller=%s callback=%s", queue.node.id,
                         ",".join(chosen), waiter.caller, waiter.callback_id or "-")
                if waiter.is_callback:
                    if self.run_callback is None:
                        log.error("call-back due but nothing can ring it callback=%s", waiter.callback_id)
                        continue
                    self.spawn(self.run_callback(waiter, queue.node), f"callback-{waiter.callback_id}")
                else:
                    self.bus.publish_to(waiter.channel_id, QueueTurn("QueueTurn"))
        self._schedule_wake(now)

    def _schedule_wake(self, now: float) -> None:
        """Dispatch again when a wrap-up, a skip or a call-back retry ends."""
        times = [t for a in self.agents.values() if (t := a.next_free(now)) is not None]
        times += [w.not_before for q in self.queues.values() for w in q.waiting if w.not_before > now]
        at = min(times, default=math.inf)
        if at == math.inf or (self._wake is not None and self._wake_at <= at and self._wake_at > now):
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake_at = at
        self._wake = asyncio.get_running_loop().call_at(at + 0.01, self.dispatch)

    def offer_ended(self, waiter: Waiter, answered: str | None, no_answer: tuple[str, ...] = (),
                    busy: tuple[str, ...] = ()) -> None:
        """The owner of an offer reports: who answered (now TALKING), who let it ring (skipped for
        the node's time), whose phone was busy (looked at again shortly); the other offered agents
        could not be reached (skipped for a while)."""
        queue = self.queues[waiter.queue]
        node, now = queue.node, self._now()
        for ext in waiter.offer:
            agent = self.agent(ext)
            if ext == answered:
                agent.state = AgentState.TALKING
                continue
            if agent.state is AgentState.RINGING:
                agent.state = AgentState.IDLE
            if ext in no_answer:
                agent.skip_until = now + node.skip_after_no_answer_seconds
            elif ext in busy:
                agent.skip_until = now + BUSY_RECHECK_SECONDS
            else:
                agent.skip_until = now + max(node.skip_after_no_answer_seconds, UNREACHABLE_SKIP_SECONDS)
        waiter.offer = ()
        if answered is not None:
            waiter.answered_at = now
            if waiter in queue.waiting:
                queue.waiting.remove(waiter)
        self.dispatch()

    def talk_ended(self, waiter: Waiter, agent_ext: str, outcome: str = "answered") -> None:
        """The agent's call with this waiter is over: wrap-up starts, the entry is recorded."""
        queue = self.queues[waiter.queue]
        now = self._now()
        agent = self.agent(agent_ext)
        talk = now - (waiter.answered_at or now)
        agent.state = AgentState.IDLE
        agent.calls += 1
        agent.talk_seconds += talk
        agent.last_call_end = now
        agent.wrapup_until = now + queue.node.wrapup_seconds
        queue.talk_average = talk if queue.talk_average is None else \
            (1 - TALK_AVERAGE_WEIGHT) * queue.talk_average + TALK_AVERAGE_WEIGHT * talk
        self._record(waiter, queue.node, outcome, agent_ext, talk)
        self.dispatch()

    # ----- call-back requests -----

    async def request_callback(self, waiter: Waiter) -> int:
        """The caller hangs up but keeps their place: the Waiter becomes a durable request."""
        node = self.queues[waiter.queue].node
        self._release(waiter)
        waiter.callback_id = await self.store.add_callback(waiter.queue, waiter.caller, waiter.call_id,
                                                           waiter.vip, waiter.joined_at, self.clock())
        waiter.channel_id = ""
        self._record(waiter, node, "callback")
        self.dispatch()
        return waiter.callback_id

    def callback_failed(self, waiter: Waiter, result: str) -> None:
        """The customer did not answer: keep the place and retry later, or give up."""
        queue = self.queues[waiter.queue]
        node = queue.node
        self._release(waiter)                # the agent who answered is free again, without penalty
        if waiter.attempts > node.callback_retries:
            if waiter in queue.waiting:
                queue.waiting.remove(waiter)
            self._persist_callback(waiter, "failed", result)
            self._record(waiter, node, "callback_failed")
        else:
            waiter.not_before = self._now() + node.callback_retry_seconds
            self._persist_callback(waiter, "waiting", result,
                                   next_at=self.clock() + timedelta(seconds=node.callback_retry_seconds))
        self.dispatch()

    def _persist_callback(self, waiter: Waiter, status: str, result: str, agent: str = "",
                          next_at: datetime | None = None) -> None:
        assert waiter.callback_id is not None
        self.spawn(self.store.update_callback(waiter.callback_id, status=status, at=self.clock(), result=result,
                                              agent=agent, attempts=waiter.attempts, next_attempt_at=next_at),
                   f"callback-store-{waiter.callback_id}")

    def callback_connected(self, waiter: Waiter, agent_ext: str) -> None:
        """The customer answered: the request is done (a restart must not call them again)."""
        self.offer_ended(waiter, agent_ext)
        self._persist_callback(waiter, "done", "answered", agent_ext)

    def callback_done(self, waiter: Waiter, agent_ext: str) -> None:
        self.talk_ended(waiter, agent_ext, "callback_answered")

    def _callback_waiter(self, cb: CallbackRecord, now: float, wall: datetime) -> Waiter:
        # The place in line is the original arrival time, kept across restarts.
        joined = now - (wall - cb.joined_at).total_seconds()
        not_before = now + (cb.next_attempt_at - wall).total_seconds() if cb.next_attempt_at else 0.0
        return Waiter(cb.queue, cb.number, cb.vip, joined, cb.joined_at, "", cb.call_id, cb.id,
                      cb.attempts, not_before)

    # ----- agents (CLI, API, feature codes) -----

    async def agent_action(self, extension: str, action: str, reason: str = "") -> Agent:
        if action not in AGENT_ACTIONS:
            raise InvalidAgentAction(f"unknown agent action {action!r}: use {', '.join(AGENT_ACTIONS)}")
        plan = self.plan()
        if plan is not None and extension not in plan.staff:
            raise UnknownAgent(f"no staff extension {extension} in the plan")
        changes: dict[str, Any] = {
            "login": {"logged_in": True}, "logout": {"logged_in": False},
            "pause": {"paused": True, "reason": reason}, "unpause": {"paused": False, "reason": ""},
        }[action]
        record = await self.store.set_agent(extension, self.clock(), **changes)
        agent = self.agent(extension)
        agent.logged_in, agent.paused, agent.reason = record.logged_in, record.paused, record.reason
        log.info("queue agent %s ext=%s", action, extension)
        # Waiting callers re-check their line: with nobody logged in any more they move on.
        for queue in self.queues.values():
            for waiter in queue.waiting:
                if waiter.channel_id:
                    self.bus.publish_to(waiter.channel_id, QueueTurn("QueueTurn"))
        self.dispatch()
        return agent

    # ----- what `ivr queues` and GET /api/queues show -----

    def day_start(self) -> datetime:
        """Midnight of today in the plan's time zone: the default window of the statistics."""
        plan = self.plan()
        now = self.clock().astimezone(ZoneInfo(plan.timezone)) if plan else self.clock()
        return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)

    async def snapshot(self, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """The lines and agents now, and the statistics of the calls that joined in [since, until)
        (since midnight by default)."""
        since = since or self.day_start()
        plan = self.plan()
        nodes = [n for n in plan.nodes.values() if isinstance(n, QueueNode)] if plan else \
            [q.node for q in self.queues.values()]
        entries = [e for e in await self.store.entries(since) if until is None or e.joined_at < until]
        now = self._now()
        queues = []
        for node in nodes:
            live = self.queues.get(node.id)
            line = live.ordered() if live else []
            queues.append({
                "id": node.id, "strategy": node.strategy,
                "waiting": [{"position": i + 1, "caller": w.caller, "vip": w.vip,
                             "waited_seconds": round(now - w.joined, 1), "callback": w.is_callback,
                             "ringing": list(w.offer)} for i, w in enumerate(line)],
                "agents": [self.agent_dict(ext, now, node.penalties.get(ext, 0)) for ext in node.agents],
                "stats": compute(e for e in entries if e.queue == node.id).to_dict(),
            })
        return {"since": since.isoformat(), "until": until.isoformat() if until else None, "queues": queues}

    def agent_dict(self, ext: str, now: float | None = None, penalty: int = 0) -> dict[str, Any]:
        agent = self.agent(ext)
        now = self._now() if now is None else now
        return {"extension": ext, "status": agent.status(now), "logged_in": agent.logged_in,
                "paused": agent.paused, "reason": agent.reason, "penalty": penalty, "calls": agent.calls,
                "talk_seconds": round(agent.talk_seconds, 1)}

    # ----- statistics -----

    def _record(self, waiter: Waiter, node: QueueNode, outcome: str, agent: str = "", talk: float = 0.0) -> None:
        end = waiter.answered_at if waiter.answered_at is not None else self._now()
        entry = QueueEntry(queue=node.id, joined_at=waiter.joined_at, outcome=outcome,
                           wait_seconds=round(max(0.0, end - waiter.joined), 2), agent=agent,
                           talk_seconds=round(talk, 2), caller=waiter.caller, vip=waiter.vip,
                           call_id=waiter.call_id, service_level_seconds=node.service_level_seconds)
        self.spawn(self.store.add_entry(entry), f"queue-entry-{node.id}")
