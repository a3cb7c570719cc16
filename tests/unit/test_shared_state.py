"""Live state of queues, hunts and trunks: the in-process implementation (one instance, the default)
and the PostgreSQL one (a cluster's instances) against the same contract, then what only the
shared one promises: two instances on one database serve one line in one order, offer an agent
to one caller at a time, rotate one hunt order and hold a trunk's channels between them.
"""
from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.ari.bus import EventBus
from ivr.errors import ConfigError
from ivr.flows.hunt_memory import HuntMemories, HuntMemory, SharedHuntMemories
from ivr.plan.loader import load_plan_text
from ivr.plan.model import QueueNode
from ivr.queues.agents import AgentState
from ivr.queues.manager import QueueManager, QueueTurn, Waiter
from ivr.queues.shared import SharedQueueManager
from ivr.routing.router import ChannelCounter, NoTrunk, Router
from ivr.routing.shared_channels import SharedChannelCounter
from ivr.store import open_database
from ivr.store.queues import QueueStore
from ivr.store.shared_pg import SharedDatabase, uses_postgresql
from ivr.testing.postgres import create_database

from test_routing_router import PLAN as ROUTER_PLAN, SECRETS, Lookup

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
IMPLEMENTATIONS = ["process", "postgresql"]


def node(**kw) -> QueueNode:
    return QueueNode(id=kw.pop("id", "line"), agents=kw.pop("agents", ("101",)), **kw)


@pytest.fixture
async def pg_url(postgres_url) -> str:
    return await migrated(postgres_url)


_DATABASES: dict[str, str] = {}
SHARED_TABLES = ("shared_queue_waiters", "shared_queue_agents", "shared_queue_memory", "shared_presence",
                 "shared_hunt_memory", "shared_trunk_channels", "shared_trunk_holds")


async def migrated(postgres_url: str) -> str:
    """One migrated database for this module's tests, emptied of queue and shared state for each."""
    url = _DATABASES.get(postgres_url)
    if url is None:
        url = _DATABASES[postgres_url] = await create_database(postgres_url)
        db = await open_database(url)        # the service's schema (queue_agents) comes from its migrations
        await db.close()
        return url
    shared = SharedDatabase(url)
    try:
        pool = await shared.pool()
        await pool.execute(f"DROP TABLE IF EXISTS {', '.join(SHARED_TABLES)}; "
                           "DELETE FROM queue_agents; DELETE FROM queue_entries; DELETE FROM queue_callbacks")
    finally:
        await shared.close()
    return url


class Instances:
    """Queue managers of one implementation; the PostgreSQL ones share one database."""

    def __init__(self, kind: str, url: str):
        self.kind, self.url = kind, url
        self.made: list[tuple[QueueManager, object]] = []

    async def manager(self, name: str = "node1") -> tuple[QueueManager, EventBus]:
        db = await open_database(self.url)
        bus = EventBus()
        args = (bus, QueueStore(db), lambda: T0, lambda: None)
        if self.kind == "process":
            manager = QueueManager(*args, rng=random.Random(1))
        else:
            manager = SharedQueueManager(*args, rng=random.Random(1), database=SharedDatabase(self.url), node=name)
        await manager.start()
        self.made.append((manager, db))
        return manager, bus

    async def close(self) -> None:
        for manager, db in self.made:
            await manager.stop()
            if isinstance(manager, SharedQueueManager):
                await manager.database.close()
            await db.close()


@pytest.fixture(params=IMPLEMENTATIONS)
async def instances(request, tmp_path: Path, postgres_url: str):
    if request.param == "process":
        url = f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}"
    else:
        url = await migrated(postgres_url)
    made = Instances(request.param, url)
    yield made
    await made.close()


async def until(check, what: str, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


async def joined(manager: QueueManager, n: QueueNode, caller: str, channel: str, vip: bool = False) -> Waiter:
    waiter = manager.join(n, caller, channel, None, vip=vip)
    assert isinstance(waiter, Waiter), waiter
    await manager.settled()
    return waiter


# ----- the contract: both implementations -----

async def test_callers_are_offered_the_agent_in_arrival_order_vip_first(instances):
    manager, bus = await instances.manager()
    n = node(vip=("+79169999999",))
    subs = {ch: bus.subscribe(ch) for ch in ("c1", "c2", "c3")}
    first = await joined(manager, n, "+79160000001", "c1")
    await until(lambda: first.offer == ("101",), "the agent offered to the first caller")
    assert isinstance(await asyncio.wait_for(subs["c1"].get(), 2), QueueTurn)
    plain = await joined(manager, n, "+79160000002", "c2")
    vip = await joined(manager, n, "+79169999999", "c3")
    assert [manager.position(w) for w in (vip, first, plain)] == [1, 2, 3]
    manager.offer_ended(first, "101")
    await manager.settled()
    assert manager.agents["101"].state is AgentState.TALKING and plain.offer == vip.offer == ()
    manager.talk_ended(first, "101")
    await until(lambda: vip.offer == ("101",), "the VIP offered next")
    assert plain.offer == ()
    manager.offer_ended(vip, None, no_answer=("101",))      # let it ring: skipped for a while
    await manager.settled()
    assert plain.offer == () and manager.agents["101"].status(manager._now()) == "skipped"
    manager.leave(vip, "abandoned")
    manager.leave(plain, "abandoned")
    await manager.settled()
    assert manager.agents["101"].state is AgentState.IDLE


async def test_ringall_offers_every_free_agent_to_one_caller_only(instances):
    manager, _ = await instances.manager()
    n = node(agents=("101", "102"), strategy="ringall")
    one = await joined(manager, n, "+79160000001", "c1")
    two = await joined(manager, n, "+79160000002", "c2")
    await until(lambda: set(one.offer) == {"101", "102"}, "both agents ring for the first caller")
    await manager.settled()
    assert two.offer == ()
    manager.offer_ended(one, "102", no_answer=("101",))
    await manager.settled()
    assert two.offer == ()                   # 101 let it ring: skipped; 102 talks
    manager.leave(two, "abandoned")
    manager.talk_ended(one, "102")
    await manager.settled()


async def test_a_logged_out_agent_is_offered_nobody(instances):
    manager, _ = await instances.manager()
    n = node()
    await manager.agent_action("101", "logout")
    await manager.settled()
    assert manager.join(n, "+79160000001", "c1", None) == "no_agents"
    await manager.agent_action("101", "login")
    waiter = await joined(manager, n, "+79160000001", "c1")
    await until(lambda: waiter.offer == ("101",), "offered after login")
    manager.leave(waiter, "abandoned")
    await manager.settled()


async def test_a_call_back_request_keeps_its_place_and_is_rung_in_its_turn(instances):
    manager, _ = await instances.manager()
    rung: list[str] = []

    async def ring(waiter: Waiter, queue: QueueNode) -> None:
        rung.append(waiter.caller)

    manager.run_callback = ring
    n = node()
    first = await joined(manager, n, "+79160000001", "c1")
    await until(lambda: first.offer == ("101",), "offered")
    second = await joined(manager, n, "+79160000002", "c2")
    third = await joined(manager, n, "+79160000003", "c3")
    await manager.request_callback(second)            # hangs up, keeps the place
    await manager.settled()
    assert second.is_callback and [manager.position(w) for w in (second, third)] == [2, 3]
    manager.offer_ended(first, "101")
    manager.talk_ended(first, "101")
    await until(lambda: rung == ["+79160000002"], "the call-back rung in its turn")
    assert third.offer == ()
    manager.callback_connected(second, "101")
    manager.callback_done(second, "101")
    await until(lambda: third.offer == ("101",), "then the next caller")
    manager.leave(third, "abandoned")
    await manager.settled()


def next_member(memory: HuntMemory) -> tuple[str, HuntMemory]:
    nxt = {"": "101", "101": "102", "102": "101"}[memory.last_start]
    return nxt, HuntMemory(last_start=nxt)


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
async def test_hunt_memory_rotates_round_robin(kind, postgres_url):
    memories = HuntMemories() if kind == "process" else SharedHuntMemories(SharedDatabase(await migrated(postgres_url)))
    await memories.start()
    assert [await memories.change("team", next_member) for _ in range(3)] == ["101", "102", "101"]
    assert await memories.change("other", next_member) == "101"
    if isinstance(memories, SharedHuntMemories):
        await memories.database.close()


async def test_two_instances_rotate_one_hunt_order(pg_url):
    a, b = SharedHuntMemories(SharedDatabase(pg_url)), SharedHuntMemories(SharedDatabase(pg_url))
    await a.start()
    await b.start()
    try:
        starts = await asyncio.gather(*(m.change("team", next_member) for m in (a, b, a, b)))
        assert sorted(starts) == ["101", "101", "102", "102"]     # taken in turn, whoever asked
        assert await b.change("team", next_member) == "101" and await a.change("team", next_member) == "102"
    finally:
        await a.database.close()
        await b.database.close()


# ----- only the shared implementation: two instances on one database -----

async def test_two_instances_serve_one_line_in_arrival_order(pg_url):
    made = Instances("postgresql", pg_url)
    try:
        (a, bus_a), (b, bus_b) = await made.manager("node1"), await made.manager("node2")
        n = node(wrapup_seconds=0)
        # Callers alternate between the nodes; one agent serves them one at a time, in arrival order.
        order = [(a, "+79160000001", "a1"), (b, "+79160000002", "b1"), (a, "+79160000003", "a2"),
                 (b, "+79169999999", "vip")]
        waiters = [(m, await joined(m, n, caller, ch, vip=ch == "vip")) for m, caller, ch in order]
        await until(lambda: [m.position(w) for m, w in waiters] == [2, 3, 4, 1], "one line on both instances")
        served: list[str] = []
        for _ in range(len(waiters)):
            await until(lambda: sum(bool(w.offer) for _, w in waiters) == 1, "one caller offered the agent")
            await asyncio.sleep(0.1)        # nobody else is offered 101 meanwhile
            offered = [(m, w) for m, w in waiters if w.offer]
            assert len(offered) == 1 and offered[0][1].offer == ("101",)
            manager, waiter = offered[0]
            served.append(waiter.channel_id)
            manager.offer_ended(waiter, "101")
            manager.talk_ended(waiter, "101")
            waiters.remove((manager, waiter))
            await manager.settled()
        assert served == ["a1", "vip", "b1", "a2"]     # a1 was offered before the VIP arrived
    finally:
        await made.close()


async def test_a_login_on_one_instance_is_seen_by_the_other(pg_url):
    made = Instances("postgresql", pg_url)
    try:
        (a, _), (b, bus_b) = await made.manager("node1"), await made.manager("node2")
        await a.agent_action("101", "logout")
        await until(lambda: not b.agents["101"].logged_in if "101" in b.agents else False, "logout seen")
        waiter_b = b.join(node(), "+79160000001", "b1", None)
        assert waiter_b == "no_agents"
        await a.agent_action("101", "login")
        await until(lambda: b.agents["101"].logged_in, "login seen")
    finally:
        await made.close()


async def test_a_standby_starting_for_the_same_node_leaves_the_line_alone(pg_url):
    made = Instances("postgresql", pg_url)
    try:
        a, _ = await made.manager("node1")
        waiter = await joined(a, node(), "+79160000001", "a1")
        await until(lambda: waiter.offer == ("101",), "offered")
        standby, _ = await made.manager("node1")        # starts its service before it takes the node
        later = await joined(standby, node(), "+79160000002", "s1")
        assert standby.position(later) == 2 and later.offer == ()
        assert [w["caller"] for w in (await standby.snapshot(T0))["queues"][0]["waiting"]] == \
            ["+79160000001", "+79160000002"]
        await a.settled()
        assert a.position(waiter) == 1 and a.agents["101"].state is AgentState.RINGING
    finally:
        await made.close()


async def test_a_silent_instance_loses_its_places_and_frees_its_agents(pg_url):
    made = Instances("postgresql", pg_url)
    try:
        (a, _), (b, _) = await made.manager("node1"), await made.manager("node2")
        stuck = await joined(a, node(), "+79160000001", "a1")
        await until(lambda: stuck.offer == ("101",), "offered on node1")
        waiting = await joined(b, node(), "+79160000002", "b1")
        status = await b.snapshot(T0)
        assert [(w["caller"], w["node"], w["ringing"]) for w in status["queues"][0]["waiting"]] == \
            [("+79160000001", "node1", ["101"]), ("+79160000002", "node2", [])]
        await a.stop()                           # node1's instance dies with 101 ringing for it
        pool = await b.database.pool()
        await pool.execute("UPDATE shared_presence SET seen = seen - 60 WHERE node LIKE 'node1:%'")
        b.dispatch()
        await until(lambda: waiting.offer == ("101",), "101 offered to node2's caller")
        assert b.position(waiting) == 1
    finally:
        await made.close()


def test_the_setting_is_checked():
    assert not uses_postgresql("process", "sqlite+aiosqlite:///x.db")
    assert uses_postgresql("postgresql", "postgresql+asyncpg://u@h/ivr")
    with pytest.raises(ConfigError, match="shared_state: 'redis' is not one of process, postgresql"):
        uses_postgresql("redis", "postgresql+asyncpg://u@h/ivr")
    with pytest.raises(ConfigError, match="shared_state: postgresql needs database_url on PostgreSQL, not sqlite"):
        uses_postgresql("postgresql", "sqlite+aiosqlite:///x.db")


# ----- trunks -----

# The router tests' plan, its default trunk limited to 4 channels (a landline call goes only there).
PLAN = ROUTER_PLAN.replace('default: yes, international: yes', 'default: yes, international: yes, capacity: 4')


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
async def test_a_trunk_carries_no_more_than_its_channels(kind, postgres_url, tmp_path):
    """Six calls decided at once by two routers (one process: one router twice) on one trunk of 4."""
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    plan = load_plan_text(PLAN, "plan.yaml", secrets_path=tmp_path / "secrets.yaml")
    # One process has one Asterisk: its "two nodes" are one.
    nodes = ("node1", "node2") if kind == "postgresql" else ("node1", "node1")
    channels: dict[str, list[str]] = {"node1": [], "node2": []}
    url = await migrated(postgres_url) if kind == "postgresql" else ""
    routers = []
    for name in nodes:
        counter = ChannelCounter() if kind == "process" else \
            SharedChannelCounter(SharedDatabase(url), name)

        async def live(name=name) -> list[str]:
            return list(channels[name])

        routers.append(Router(Lookup(), lambda: plan, live, channels=counter))
    if kind == "process":
        routers[1] = routers[0]               # one process: one router for every call
    for router in routers:
        await router.start()

    async def place(router: Router, name: str, i: int) -> str:
        try:
            decision = await router.route("+74957654321", dial=True)
        except NoTrunk:
            return "refused"
        await asyncio.sleep(0.03 * i)         # the channel shows up a moment after the decision
        channels[name].append(f"PJSIP/trunk-default-{name}{i:04x}")     # the channel the dial makes
        return decision.trunk or ""

    try:
        results = await asyncio.gather(*(place(routers[i % 2], nodes[i % 2], i) for i in range(6)))
        assert sorted(results) == ["default"] * 4 + ["refused"] * 2
        assert len(channels["node1"]) + len(channels["node2"]) == 4
        await routers[0].refresh()            # node1's channels seen: its reservations are over
        # A call ends on node1: its published channels free one for node2.
        channels["node1"].pop()
        await routers[0].refresh()
        assert await place(routers[1], nodes[1], 99) == "default"
        assert await place(routers[0], nodes[0], 98) == "refused"
    finally:
        for router in {id(r): r for r in routers}.values():
            await router.stop()
            if isinstance(router.channels, SharedChannelCounter):
                await router.channels.database.close()


async def test_staff_dial_out_on_the_last_counts_while_the_database_is_away(tmp_path):
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    plan = load_plan_text(PLAN, "plan.yaml", secrets_path=tmp_path / "secrets.yaml")
    away = SharedChannelCounter(SharedDatabase("postgresql+asyncpg://postgres@127.0.0.1:1/ivr"), "node1")
    live = ["PJSIP/trunk-default-0001"] * 3

    async def channels() -> list[str]:
        return live

    router = Router(Lookup(), lambda: plan, channels, channels=away)
    assert (await router.route("+74957654321", dial=True)).trunk == "default"      # 3 + this one
    with pytest.raises(NoTrunk):
        await router.route("+74957654321", dial=True)          # this node's own count still holds


async def test_a_hunt_rotates_from_its_first_member_while_the_database_is_away():
    away = SharedHuntMemories(SharedDatabase("postgresql+asyncpg://postgres@127.0.0.1:1/ivr"))
    started = asyncio.get_running_loop().time()
    assert await away.change("team", next_member) == "101"
    assert asyncio.get_running_loop().time() - started < 2.0       # never holds the call up for long
