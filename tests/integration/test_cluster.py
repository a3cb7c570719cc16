"""The cluster on the real stack: the world's carrier calls the Kamailio edge, which spreads the calls
over two Asterisk nodes, each served by its own service instance on one PostgreSQL; a node killed
with SIGKILL is out within seconds and every new call is answered on the other one. The stack and
its addresses: cluster_stack.py.
"""
from __future__ import annotations

import asyncio
import os
import signal

import asyncpg
import pytest

from ivr.cluster.run import instance_pid, node_instance, node_settings
from ivr.testing.world import Behaviour

from cluster_stack import (active_calls, answered_calls, call_nodes, finished_record, on_cluster_net,
                           running_cluster, running_world, status)
from conftest import plan_text
from test_routing import dial_from_phone


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory):
    # The office is always open: the services run the real clock.
    always_open = on_cluster_net(plan_text()).replace(
        'hours: {mon-fri: "09:00-18:00", sat: "10:00-15:00"}', 'hours: {daily: "00:00-24:00"}').replace(
        "holidays: [{date: 2026-11-04, name: Unity Day}]", "holidays: []")
    assert "daily" in always_open and "Unity Day" not in always_open
    async with running_cluster(tmp_path_factory, always_open) as running:
        yield running


@pytest.fixture(scope="module")
async def world(cluster):
    async with running_world(*cluster) as driver:
        yield driver


async def test_phone_calls_phone_through_the_edge(cluster, world):
    """101 authenticates at the edge, a node serves the call and reaches 102 by the edge's location
    lookup (102 registered there, in PostgreSQL, not with any node)."""
    layout, _ = cluster
    conn = await asyncpg.connect(host="127.0.0.1", port=layout.database_port, user="postgres",
                                 database="kamailio")
    try:
        registered = sorted(r["username"] for r in await conn.fetch("SELECT username FROM location"))
    finally:
        await conn.close()
    assert registered == ["101", "102", "103"]      # the edge keeps locations in PostgreSQL
    world.reset()
    world.behaviours["102"] = Behaviour("answer")
    caller = await dial_from_phone(world, "101", "102")
    await asyncio.wait_for(caller.answered.wait(), 10)
    assert [(leg.target, leg.answered_at is not None) for leg in world.incoming] == [("102", True)]
    await world.hangup(caller)
    await asyncio.wait_for(world.incoming[0].ended.wait(), 5)
    world.reset()


async def test_staff_dials_out_through_the_edge(cluster, world):
    """The node's trunk has the edge as outbound proxy: the carrier sees the call from the edge."""
    world.reset()
    number = "+74957654321"
    world.behaviours[number] = Behaviour("answer", after=0.2, hangup_after=0.5)
    phone = await dial_from_phone(world, "101", "8" + number[2:])
    await asyncio.wait_for(phone.ended.wait(), 15)
    assert [(leg.target, leg.via, leg.answered_at is not None) for leg in world.incoming] == \
        [(number, "default", True)]
    world.reset()


async def test_a_standby_instance_takes_over_a_killed_one(cluster, world):
    """kill -9 of node1's service: its standby takes the node's lease, connects to node1's ARI and
    picks up the call left in Stasis; new calls on node1 are answered again."""
    layout, env = cluster
    svc1 = layout.instances[0]
    report = status(env)
    assert [(i["name"], i["nodes"], i["standby_for"]) for i in report["instances"]] == \
        [("svc1", ["node1"], []), ("svc2", ["node2"], []), ("svc1b", [], ["node1"])]
    legs = await answered_calls(world, 2, first=200)
    nodes = await call_nodes(layout, 200, 2)
    assert sorted(nodes.values()) == ["node1", "node2"]
    os.kill(instance_pid(layout, svc1), signal.SIGKILL)
    for _ in range(40):
        report = status(env)
        if report["instances"][2]["ari_connected"]:
            break
        await asyncio.sleep(0.25)
    assert [(i["name"], i["nodes"]) for i in report["instances"]] == \
        [("svc1", []), ("svc2", ["node2"]), ("svc1b", ["node1"])]
    await asyncio.sleep(2)
    assert not any(leg.ended.is_set() for leg in legs)      # the caller on node1 kept the call
    more = await answered_calls(world, 2, first=300)
    assert sorted((await call_nodes(layout, 300, 2)).values()) == ["node1", "node2"]
    for leg in legs + more:
        await world.hangup(leg)
    # svc1b served the rest of the call svc1 had: the record of it is finished.
    [on_node1] = [caller for caller, node in nodes.items() if node == "node1"]
    assert (await finished_record(layout, on_node1))["ended_at"]


async def test_calls_spread_over_nodes_and_survive_a_node_kill(cluster, world):
    layout, env = cluster
    node1, node2 = (node_instance(layout, n, node_settings(layout, n, env)) for n in layout.nodes)

    legs = await answered_calls(world, 4, first=0)
    assert (active_calls(node1), active_calls(node2)) == (2, 2)
    report = status(env)
    assert [(n["name"], n["state"], n["calls"]) for n in report["nodes"]] == [("node1", "up", 2), ("node2", "up", 2)]
    assert [(i["name"], i["state"], i["nodes"]) for i in report["instances"]] == \
        [("svc1", "down", []), ("svc2", "up", ["node2"]), ("svc1b", "up", ["node1"])]
    # Each node's calls were recorded by its own service, with node-qualified channel ids.
    assert sorted((await call_nodes(layout, 0, 4)).values()) == ["node1", "node1", "node2", "node2"]

    # Mid-traffic: node1 dies like a crash, with its two calls on it.
    node1.kill()
    for leg in legs:
        await world.hangup(leg)
    await asyncio.sleep(3)          # the edge's probes (every second) take it out
    edge_log = layout.root / "edge" / "edge.log"
    seen = edge_log.stat().st_size
    legs = await answered_calls(world, 6, first=100)
    assert active_calls(node2) == 6
    assert set((await call_nodes(layout, 100, 6)).values()) == {"node2"}
    # The probes took it out: no INVITE was tried on the dead node first.
    assert "did not answer INVITE" not in edge_log.read_bytes()[seen:].decode(errors="replace")
    report = status(env)
    assert [(n["name"], n["state"]) for n in report["nodes"]] == [("node1", "down"), ("node2", "up")]
    # svc1b lives on without its node (it serves no other node).
    assert [(i["name"], i["ari_connected"]) for i in report["instances"]] == \
        [("svc1", False), ("svc2", True), ("svc1b", False)]
    for leg in legs:
        await world.hangup(leg)
