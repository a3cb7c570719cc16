"""Queue lines and agent states shared by several service instances through PostgreSQL.

The same QueueManager interface as the in-process one (ivr/queues/manager.py), for a cluster: a
queue's callers on every node stand in one line (VIP first, then arrival), and an agent is offered
one caller at a time wherever the caller's call is. The decision itself is the in-process one
(`choose`), run on the shared tables under one cluster-wide advisory lock.

Each instance keeps its own callers' Waiter objects; their places and the offers are rows. Every
change a caller's task reports (join, leave, offer ended, talk ended, call-back) is queued to one
owned task, which applies it in a transaction, dispatches, and NOTIFYs the others; an instance that
is notified reads the rows again and wakes its callers who were offered agents. The local Agent
objects mirror the shared rows (for `logged_in`, status pages and the API).
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr.plan.model import QueueNode
from ivr.queues.agents import Agent, AgentState, choose
from ivr.queues.manager import BUSY_RECHECK_SECONDS, TALK_AVERAGE_WEIGHT, UNREACHABLE_SKIP_SECONDS, \
    QueueManager, QueueTurn, Waiter
from ivr.store.shared_pg import SharedDatabase

log = logging.getLogger(__name__)

LOCK = "ivr-queues"
CHANNEL = "ivr_queues"
# An instance says it is alive this often; the places and offers of an instance silent for
# PRESENCE_TIMEOUT are dropped (its callers are gone with it, or taken over and joining again; its
# agents are free again) and its call-back requests adopted.
HEARTBEAT_SECONDS = 1.5
PRESENCE_TIMEOUT = 8.0
SETTLE_SECONDS = 3.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS shared_queue_waiters (
    id bigserial PRIMARY KEY, queue text NOT NULL, node text NOT NULL, channel_id text NOT NULL,
    caller text NOT NULL, vip boolean NOT NULL, joined double precision NOT NULL,
    callback_id bigint UNIQUE, not_before double precision NOT NULL DEFAULT 0,
    offer text NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS shared_queue_agents (
    extension text PRIMARY KEY, state text NOT NULL DEFAULT 'idle', node text NOT NULL DEFAULT '',
    waiter bigint, wrapup_until double precision NOT NULL DEFAULT 0,
    skip_until double precision NOT NULL DEFAULT 0, last_call_end double precision NOT NULL DEFAULT 0,
    calls integer NOT NULL DEFAULT 0, talk_seconds double precision NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS shared_queue_memory (
    queue text PRIMARY KEY, last_offered text, talk_average double precision);
CREATE TABLE IF NOT EXISTS shared_presence (node text PRIMARY KEY, seen double precision NOT NULL);
"""


@dataclass(frozen=True)
class Change:
    """One report of a caller's task, applied to the shared rows in order."""

    kind: str           # join, leave, offer_ended, talk_ended, callback, retry, agents, dispatch
    waiter: Waiter | None = None
    offer: tuple[str, ...] = ()
    answered: str | None = None
    no_answer: tuple[str, ...] = ()
    busy: tuple[str, ...] = ()
    talk: float = 0.0
    at: float = 0.0               # wall-clock seconds: a join's place, a retry's time


@dataclass
class Row:
    id: int
    queue: str
    node: str
    vip: bool
    joined: float
    caller: str
    not_before: float
    offer: tuple[str, ...]
    callback_id: int | None


class SharedQueueManager(QueueManager):
    def __init__(self, *args: Any, database: SharedDatabase, node: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Rows belong to this process, not to its node: a standby of the node starts its service
        # (and this manager) before it takes the node, and must not touch the serving one's rows.
        self.database, self.node = database, f"{node or 'node'}:{uuid.uuid4().hex[:8]}"
        self._changes: asyncio.Queue[Change] = asyncio.Queue()
        self._row: dict[Waiter, int] = {}              # this instance's waiters -> their rows
        self._waiter: dict[int, Waiter] = {}
        self._delivered: dict[int, tuple[str, ...]] = {}
        self._order: dict[str, list[int]] = {}          # queue -> row ids, head first (every node)
        self._line: dict[str, list[Row]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._timer: asyncio.TimerHandle | None = None
        self._logins: list[tuple[str, bool]] = []

    # ----- life cycle -----

    async def start(self) -> None:
        await self.database.ensure(SCHEMA)
        await super().start()
        for queue in self.queues.values():      # open call-back requests, read by the in-process start
            for waiter in queue.waiting:
                self._submit(Change("join", waiter, at=waiter.joined_at.timestamp()))
        self.spawn(self._work(), "shared-queues")
        self.spawn(self.database.listen(CHANNEL, self._notified), "shared-queues-listen")
        self.spawn(self._heartbeat(), "shared-queues-heartbeat")
        await self.settled()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await super().stop()

    async def settled(self) -> None:
        """Until every change reported so far is in the shared rows (a new caller's place is known),
        or SETTLE_SECONDS: with the database away a caller waits with music, not in silence."""
        try:
            await asyncio.wait_for(self._idle.wait(), SETTLE_SECONDS)
        except asyncio.TimeoutError:
            log.warning("shared queues: changes not yet in the database after %.0f s", SETTLE_SECONDS)

    def _submit(self, change: Change) -> None:
        self._idle.clear()
        self._changes.put_nowait(change)

    def _notified(self, payload: str) -> None:
        if payload != self.node:
            self._submit(Change("dispatch"))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self._submit(Change("dispatch"))

    # ----- what the callers' tasks report (the in-process bookkeeping stays as the local mirror) -----

    def join(self, node: QueueNode, caller: str, channel_id: str, call_id: int | None,
             vip: bool = False) -> Waiter | str:
        waiting = len(self._order.get(node.id, ()))
        if node.max_callers and waiting >= node.max_callers:
            waiter = Waiter(node.id, caller, vip or caller in node.vip, self._now(), self.clock(), channel_id, call_id)
            self._record(waiter, node, "full")
            return "full"
        joined = super().join(node, caller, channel_id, call_id, vip)
        if isinstance(joined, Waiter):
            self._submit(Change("join", joined, at=time.time()))
        return joined

    def leave(self, waiter: Waiter, outcome: str) -> None:
        if waiter in self._row or waiter in self._waiting(waiter):
            self._submit(Change("leave", waiter))
        super().leave(waiter, outcome)

    def offer_ended(self, waiter: Waiter, answered: str | None, no_answer: tuple[str, ...] = (),
                    busy: tuple[str, ...] = ()) -> None:
        self._submit(Change("offer_ended", waiter, waiter.offer, answered, no_answer, busy))
        super().offer_ended(waiter, answered, no_answer, busy)

    def talk_ended(self, waiter: Waiter, agent_ext: str, outcome: str = "answered") -> None:
        talk = self._now() - (waiter.answered_at or self._now())
        self._submit(Change("talk_ended", waiter, answered=agent_ext, talk=talk))
        super().talk_ended(waiter, agent_ext, outcome)

    async def agent_action(self, extension: str, action: str, reason: str = "") -> Agent:
        agent = await super().agent_action(extension, action, reason)
        self._submit(Change("agents"))              # the other instances read the logins again
        return agent

    async def request_callback(self, waiter: Waiter) -> int:
        callback_id = await super().request_callback(waiter)
        self._submit(Change("callback", waiter))
        return callback_id

    def callback_failed(self, waiter: Waiter, result: str) -> None:
        super().callback_failed(waiter, result)
        if waiter in self._waiting(waiter):
            self._submit(Change("retry", waiter, at=time.time() + max(0.0, waiter.not_before - self._now())))
        else:
            self._submit(Change("leave", waiter))

    def dispatch(self) -> None:
        """The decision is taken on the shared rows, by the owned task."""
        self._submit(Change("dispatch"))

    def position(self, waiter: Waiter) -> int:
        row = self._row.get(waiter)
        order = self._order.get(waiter.queue, [])
        if row is None or row not in order:
            return super().position(waiter)
        return order.index(row) + 1

    async def snapshot(self, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """As in one process, with the callers waiting on every node of the cluster."""
        view = await super().snapshot(since, until)
        now = time.time()
        for queue in view["queues"]:
            queue["waiting"] = [{"position": i + 1, "caller": row.caller, "vip": row.vip,
                                 "waited_seconds": round(now - row.joined, 1), "callback": row.callback_id is not None,
                                 "ringing": list(row.offer), "node": row.node.split(":")[0]}
                                for i, row in enumerate(self._line.get(queue["id"], []))]
        return view

    def _waiting(self, waiter: Waiter) -> list[Waiter]:
        queue = self.queues.get(waiter.queue)
        return queue.waiting if queue else []

    # ----- the owned task: changes in, offers out -----

    async def _work(self) -> None:
        changes: list[Change] = []
        while True:
            changes.append(await self._changes.get())
            while not self._changes.empty():
                changes.append(self._changes.get_nowait())
            try:
                await self._apply(changes)
            except Exception:
                # The database is away (restart, network): keep the changes and try them again.
                log.exception("shared queues: applying %d change(s) failed; retrying", len(changes))
                await asyncio.sleep(1.0)
                self._changes.put_nowait(Change("dispatch"))
                continue
            changes = []
            if self._changes.empty():
                self._idle.set()

    async def _apply(self, changes: list[Change]) -> None:
        plan = self.plan()
        async with self.database.locked(LOCK) as conn:
            now = time.time()
            await conn.execute("INSERT INTO shared_presence VALUES ($1, $2) ON CONFLICT (node) "
                               "DO UPDATE SET seen = excluded.seen", self.node, now)
            dead = [r["node"] for r in await conn.fetch(
                "SELECT node FROM shared_presence WHERE seen < $1", now - PRESENCE_TIMEOUT)]
            adopted: list[int] = []
            if dead:
                log.warning("shared queues: dropping silent node(s) %s", ",".join(dead))
                adopted = await self._drop_nodes(conn, dead)
            for change in changes:
                await self._change(conn, change, now)
            rows = await self._dispatch(conn, now, plan)
            agents = await conn.fetch("SELECT * FROM shared_queue_agents")
            logins = {r["extension"]: r for r in await conn.fetch(
                "SELECT extension, logged_in, paused, reason FROM queue_agents")}
            memory = {r["queue"]: r["talk_average"] for r in await conn.fetch("SELECT * FROM shared_queue_memory")}
            if any(c.kind != "dispatch" for c in changes):
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, self.node)
        self._mirror(rows, agents, logins, memory, now)
        if adopted:
            self.spawn(self._adopt(adopted), "shared-queues-adopt")

    async def _drop_nodes(self, conn: Any, nodes: list[str]) -> list[int]:
        """Places of callers on `nodes` are dropped, agents rung or talking for them are free; their
        call-back requests (durable, with no call on a node) are this instance's from now on: the
        ids of those to adopt."""
        await conn.execute("UPDATE shared_queue_agents SET state = 'idle', waiter = NULL, node = '' "
                           "WHERE node = ANY($1::text[])", nodes)
        await conn.execute("DELETE FROM shared_queue_waiters WHERE node = ANY($1::text[]) AND callback_id IS NULL",
                           nodes)
        adopted = [r["callback_id"] for r in await conn.fetch(
            "UPDATE shared_queue_waiters SET offer = '', node = $2 WHERE node = ANY($1::text[]) "
            "RETURNING callback_id", nodes, self.node)]
        await conn.execute("DELETE FROM shared_presence WHERE node = ANY($1::text[]) AND node <> $2",
                           nodes, self.node)
        return adopted

    async def _adopt(self, callback_ids: list[int]) -> None:
        """Call-back requests of a node that went silent join this instance's lines."""
        plan = self.plan()
        now, wall = self._now(), self.clock()
        for cb in await self.store.open_callbacks():
            node = plan.nodes.get(cb.queue) if plan else None
            if cb.id in callback_ids and isinstance(node, QueueNode):
                waiter = self._callback_waiter(cb, now, wall)
                self._queue(node).waiting.append(waiter)
                self._submit(Change("join", waiter, at=cb.joined_at.timestamp()))
                log.info("queue call-back adopted callback=%s queue=%s", cb.id, cb.queue)

    async def _change(self, conn: Any, change: Change, now: float) -> None:
        waiter = change.waiter
        row = self._row.get(waiter) if waiter is not None else None
        if change.kind == "join":
            assert waiter is not None
            row = await conn.fetchval(
                "INSERT INTO shared_queue_waiters (queue, node, channel_id, caller, vip, joined, callback_id) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (callback_id) DO UPDATE SET offer = '' "
                "WHERE shared_queue_waiters.node = excluded.node RETURNING id",
                waiter.queue, self.node, waiter.channel_id, waiter.caller, waiter.vip, change.at,
                waiter.callback_id)
            if row is not None:
                self._row[waiter], self._waiter[row] = row, waiter
            elif waiter in self._waiting(waiter):   # a call-back request another instance calls
                self._waiting(waiter).remove(waiter)
            return
        if row is None:
            return
        if change.kind == "leave":
            await self._free(conn, row)
            await conn.execute("DELETE FROM shared_queue_waiters WHERE id = $1", row)
            self._forget(row)
        elif change.kind == "offer_ended":
            await self._offer_ended(conn, row, change, now)
        elif change.kind == "talk_ended":
            await self._talk_ended(conn, row, change, now)
        elif change.kind in ("callback", "retry"):
            await self._free(conn, row)
            await conn.execute("UPDATE shared_queue_waiters SET channel_id = '', callback_id = $2, offer = '', "
                               "not_before = $3 WHERE id = $1", row, waiter.callback_id,
                               change.at if change.kind == "retry" else 0.0)
            self._delivered.pop(row, None)

    async def _free(self, conn: Any, row: int) -> None:
        """Agents ringing for this place are free again (no penalty: the caller went away)."""
        await conn.execute("UPDATE shared_queue_agents SET state = 'idle', waiter = NULL, node = '' "
                           "WHERE waiter = $1 AND state = 'ringing'", row)

    async def _offer_ended(self, conn: Any, row: int, change: Change, now: float) -> None:
        node = self._node_of(change.waiter)
        for ext in change.offer:
            if ext == change.answered:
                await conn.execute("UPDATE shared_queue_agents SET state = 'talking' WHERE extension = $1", ext)
                continue
            if ext in change.no_answer:
                skip = node.skip_after_no_answer_seconds
            elif ext in change.busy:
                skip = BUSY_RECHECK_SECONDS
            else:
                skip = max(node.skip_after_no_answer_seconds, UNREACHABLE_SKIP_SECONDS)
            await conn.execute("UPDATE shared_queue_agents SET state = CASE WHEN waiter = $2 AND state = 'ringing' "
                               "THEN 'idle' ELSE state END, waiter = CASE WHEN waiter = $2 AND state = 'ringing' "
                               "THEN NULL ELSE waiter END, skip_until = $3 WHERE extension = $1",
                               ext, row, now + skip)
        self._delivered.pop(row, None)
        if change.answered is not None:
            await conn.execute("DELETE FROM shared_queue_waiters WHERE id = $1", row)
        else:
            await conn.execute("UPDATE shared_queue_waiters SET offer = '' WHERE id = $1", row)

    async def _talk_ended(self, conn: Any, row: int, change: Change, now: float) -> None:
        node = self._node_of(change.waiter)
        await conn.execute("UPDATE shared_queue_agents SET state = 'idle', waiter = NULL, node = '', "
                           "calls = calls + 1, talk_seconds = talk_seconds + $2, last_call_end = $3, "
                           "wrapup_until = $4 WHERE extension = $1",
                           change.answered, change.talk, now, now + node.wrapup_seconds)
        await conn.execute(
            "INSERT INTO shared_queue_memory (queue, talk_average) VALUES ($1, $2) ON CONFLICT (queue) DO UPDATE "
            "SET talk_average = CASE WHEN shared_queue_memory.talk_average IS NULL THEN $2 "
            "ELSE (1 - $3::float8) * shared_queue_memory.talk_average + $3::float8 * $2 END",
            node.id, change.talk, TALK_AVERAGE_WEIGHT)
        self._forget(row)

    def _forget(self, row: int) -> None:
        waiter = self._waiter.pop(row, None)
        if waiter is not None:
            self._row.pop(waiter, None)
        self._delivered.pop(row, None)

    def _node_of(self, waiter: Waiter | None) -> QueueNode:
        assert waiter is not None
        return self.queues[waiter.queue].node

    async def _dispatch(self, conn: Any, now: float, plan: Any) -> list[Row]:
        """The in-process decision on the shared rows: heads of the lines first, free agents only."""
        rows = [Row(r["id"], r["queue"], r["node"], r["vip"], r["joined"], r["caller"], r["not_before"],
                    tuple(filter(None, r["offer"].split(","))), r["callback_id"])
                for r in await conn.fetch("SELECT * FROM shared_queue_waiters ORDER BY NOT vip, joined, id")]
        nodes = {n.id: n for n in plan.nodes.values() if isinstance(n, QueueNode)} if plan else \
            {q.node.id: q.node for q in self.queues.values()}
        extensions = sorted({ext for n in nodes.values() for ext in n.agents})
        await conn.execute("INSERT INTO shared_queue_agents (extension) SELECT unnest($1::text[]) "
                           "ON CONFLICT DO NOTHING", extensions)
        agents = await self._agents(conn)
        memory = {r["queue"]: r["last_offered"] for r in await conn.fetch("SELECT * FROM shared_queue_memory")}
        for queue_id, node in nodes.items():
            last = memory.get(queue_id)
            for row in (r for r in rows if r.queue == queue_id):
                if row.offer or row.not_before > now:
                    continue
                chosen = choose(node, agents, now, last, self.rng)
                if not chosen:
                    break
                for ext in chosen:
                    agents[ext].state = AgentState.RINGING
                row.offer, last = tuple(chosen), chosen[-1]
                await conn.execute("UPDATE shared_queue_agents SET state = 'ringing', waiter = $2, node = $3 "
                                   "WHERE extension = ANY($1::text[])", chosen, row.id, row.node)
                await conn.execute("UPDATE shared_queue_waiters SET offer = $2 WHERE id = $1", row.id, ",".join(chosen))
                log.info("queue offer queue=%s agents=%s node=%s row=%s", queue_id, ",".join(chosen), row.node, row.id)
            if last != memory.get(queue_id):
                await conn.execute("INSERT INTO shared_queue_memory (queue, last_offered) VALUES ($1, $2) "
                                   "ON CONFLICT (queue) DO UPDATE SET last_offered = $2", queue_id, last)
        return rows

    async def _agents(self, conn: Any) -> dict[str, Agent]:
        logins = {r["extension"]: r for r in await conn.fetch("SELECT extension, logged_in, paused FROM queue_agents")}
        agents = {}
        for r in await conn.fetch("SELECT * FROM shared_queue_agents"):
            login = logins.get(r["extension"])
            agents[r["extension"]] = Agent(
                r["extension"], logged_in=login["logged_in"] if login else True,
                paused=login["paused"] if login else False, state=AgentState(r["state"]),
                wrapup_until=r["wrapup_until"], skip_until=r["skip_until"], last_call_end=r["last_call_end"],
                calls=r["calls"], talk_seconds=r["talk_seconds"])
        return agents

    def _mirror(self, rows: list[Row], agents: list[Any], logins: dict[str, Any], memory: dict[str, Any],
                now: float) -> None:
        """The shared rows into the local objects; offers made to this instance's waiters wake them."""
        self._order, self._line = {}, {}
        for row in rows:
            self._order.setdefault(row.queue, []).append(row.id)
            self._line.setdefault(row.queue, []).append(row)
        shift = self._now() - now                        # wall-clock seconds -> loop time
        for r in agents:
            agent = self.agent(r["extension"])
            agent.state = AgentState(r["state"])
            agent.wrapup_until, agent.skip_until = r["wrapup_until"] + shift, r["skip_until"] + shift
            agent.last_call_end = r["last_call_end"] + shift if r["last_call_end"] else 0.0
            agent.calls, agent.talk_seconds = r["calls"], r["talk_seconds"]
        for extension, login in logins.items():
            agent = self.agent(extension)
            agent.logged_in, agent.paused, agent.reason = login["logged_in"], login["paused"], login["reason"]
        for queue_id, average in memory.items():
            if queue_id in self.queues and average is not None:
                self.queues[queue_id].talk_average = average
        signature = sorted((r["extension"], r["logged_in"]) for r in logins.values())
        if signature != self._logins:    # a login or logout elsewhere: callers look at their line again
            self._logins = signature
            for queue in self.queues.values():
                for waiter in queue.waiting:
                    if waiter.channel_id and not waiter.offer:
                        self.bus.publish_to(waiter.channel_id, QueueTurn("QueueTurn"))
        for row in rows:
            waiter = self._waiter.get(row.id)
            if waiter is None or not row.offer or self._delivered.get(row.id) == row.offer:
                continue
            self._delivered[row.id] = waiter.offer = row.offer
            if waiter.is_callback:
                if self.run_callback is not None:
                    self.spawn(self.run_callback(waiter, self.queues[waiter.queue].node),
                               f"callback-{waiter.callback_id}")
            else:
                self.bus.publish_to(waiter.channel_id, QueueTurn("QueueTurn"))
        self._wake_later(rows, agents, now)

    def _wake_later(self, rows: list[Row], agents: list[Any], now: float) -> None:
        """Dispatch again when a wrap-up, a skip or a call-back retry ends."""
        times = [t for r in agents for t in (r["wrapup_until"], r["skip_until"]) if t > now]
        times += [r.not_before for r in rows if r.not_before > now]
        at = min(times, default=math.inf)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if at != math.inf:
            self._timer = asyncio.get_running_loop().call_later(at - now + 0.01, self.dispatch)

