"""Leases on a real PostgreSQL: a node's own standby comes before another instance taking the node
over, a node is taken over only once its holder has gone, and `holders` names who holds what."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from ivr.cluster.lease import JOBS_KEY, Lease, holders, node_key, standby_key
from ivr.config import Settings
from ivr.testing.postgres import create_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def settings(postgres_url: str) -> Settings:
    url = await create_database(postgres_url)
    return replace(Settings(), database_url=url)


async def test_a_standby_of_the_node_comes_before_a_taker(settings):
    home, standby, taker = (Lease(settings, node_key("node1"), name) for name in ("svc1", "svc1b", "svc2"))
    await home.acquire(standby=standby_key("node1"))
    waiting = asyncio.create_task(standby.acquire(standby=standby_key("node1")))
    taking = asyncio.create_task(taker.take_over(standby_key("node1")))
    try:
        await asyncio.sleep(1.2)                    # both have looked at least twice
        assert not waiting.done() and not taking.done()
        assert await holders(settings, [node_key("node1"), standby_key("node1")]) == \
            {node_key("node1"): "svc1", standby_key("node1"): "svc1b"}
        await home.release()                        # svc1 dies: its connection closes
        await asyncio.wait_for(waiting, 5)
        await asyncio.sleep(1.2)
        assert not taking.done()                    # the node has its own instance again
        assert (await holders(settings, [node_key("node1")]))[node_key("node1")] == "svc1b"
        await standby.release()                     # and that one dies too: no standby left
        await asyncio.wait_for(taking, 5)
        assert (await holders(settings, [node_key("node1")]))[node_key("node1")] == "svc2"
    finally:
        for task in (waiting, taking):
            task.cancel()
        await asyncio.gather(waiting, taking, return_exceptions=True)
        for lease in (home, standby, taker):
            await lease.release()


async def test_a_node_never_held_is_not_taken_over(settings):
    """At `make cluster` the second instance has not started yet: its node is left to it."""
    taker = Lease(settings, node_key("node2"), "svc1")
    taking = asyncio.create_task(taker.take_over(standby_key("node2")))
    try:
        await asyncio.sleep(1.5)
        assert not taking.done()
        assert await holders(settings, [node_key("node2")]) == {node_key("node2"): None}
    finally:
        taking.cancel()
        await asyncio.gather(taking, return_exceptions=True)
        await taker.release()


async def test_a_cluster_on_another_database_of_the_server_is_not_seen(settings, postgres_url):
    """Two sites (or a site and its staging copy) on one PostgreSQL server: each sees its own leases
    only, though pg_locks and pg_stat_activity list the whole server's."""
    other = replace(settings, database_url=await create_database(postgres_url))
    theirs, ours = Lease(other, node_key("node2"), "svc2"), Lease(settings, node_key("node2"), "svc1")
    await theirs.acquire()
    taking = asyncio.create_task(ours.take_over(standby_key("node2")))
    try:
        assert await holders(settings, [node_key("node2")]) == {node_key("node2"): None}
        assert await holders(other, [node_key("node2")]) == {node_key("node2"): "svc2"}
        await asyncio.sleep(1.2)                    # it looked at least twice, and saw no holder
        await theirs.release()
        await asyncio.sleep(1.2)
        assert not taking.done()                    # never held here: nothing to take over
    finally:
        taking.cancel()
        await asyncio.gather(taking, return_exceptions=True)
        await ours.release()
        await theirs.release()


async def test_the_jobs_lease_goes_to_one_instance_and_moves_when_it_dies(settings):
    first, second = Lease(settings, JOBS_KEY, "svc1"), Lease(settings, JOBS_KEY, "svc2")
    await first.acquire()
    waiting = asyncio.create_task(second.acquire())
    try:
        await asyncio.sleep(1.0)
        assert not waiting.done()
        holding = asyncio.create_task(first.hold())
        await asyncio.sleep(0.7)
        assert not holding.done()                   # held, connection fine: nothing to report
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
        await first.release()
        await asyncio.wait_for(waiting, 5)
        assert await holders(settings, [JOBS_KEY]) == {JOBS_KEY: "svc2"}
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await second.release()


async def test_after_a_database_restart_a_live_holder_gets_its_lease_back_first(settings, monkeypatch):
    """Every lock goes with a restart. A waiter that reconnected leaves a free lease to the instance it
    last saw holding it while that instance is connected again (alive, if slow), and takes it once
    that instance is gone."""
    from ivr.cluster import lease as lease_module
    monkeypatch.setattr(lease_module, "RECLAIM_SECONDS", 0.2)
    holder = Lease(settings, node_key("node1"), "svc1b")
    await holder.acquire()
    taker = Lease(settings, node_key("node1"), "svc2")
    assert await taker._holder(taker.key) == "svc1b"
    await holder.release()                                   # the restart: the lock is gone ...
    other_lease_of_svc1b = Lease(settings, JOBS_KEY, "svc1b")
    await other_lease_of_svc1b._connection()                 # ... but svc1b is connected again
    taker._reconnected_at = time.monotonic()
    taking = asyncio.create_task(taker.acquire())
    try:
        await asyncio.sleep(1.2)
        assert not taking.done()                             # a live holder is waited for
        await other_lease_of_svc1b.release()                 # svc1b dies
        await asyncio.wait_for(taking, 5)
        assert (await holders(settings, [node_key("node1")]))[node_key("node1")] == "svc2"
    finally:
        taking.cancel()
        await taker.release()


async def test_a_holder_whose_connection_was_replaced_takes_its_lock_again(settings):
    """The lock lives on the lease's connection: a holder that finds it closed and opens a new one
    (the database restarted between two checks) holds nothing until it takes the lock again."""
    holder = Lease(settings, node_key("node1"), "svc1")
    await holder.acquire()
    holding = asyncio.create_task(holder.hold())
    try:
        holder._conn.terminate()                      # gone between two checks, the lock with it
        key = node_key("node1")

        async def held_again() -> None:
            while (await holders(settings, [key]))[key] != "svc1":
                await asyncio.sleep(0.1)
        await asyncio.wait_for(held_again(), 5)
        assert not holding.done()
    finally:
        holding.cancel()
        await holder.release()
