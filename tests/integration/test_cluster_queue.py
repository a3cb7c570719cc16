"""Live state shared by the cluster's instances (setting shared_state: postgresql), on the real
stack of cluster_stack.py: one queue whose callers arrive on both nodes and whose agent is a phone
registered at the edge, and one trunk of 4 channels used by staff phones on both nodes.

The plan is tests/integration/plans/queue.yaml (queue `line`: agent 101 alone, linear, 2 s of
wrap-up, +79169990000 a VIP) with the trunk limited to 4 channels. The edge sends consecutive
calls to the nodes in turn, so the callers of one test are on both nodes (the records prove it).
"""
from __future__ import annotations

import asyncio

import pytest

from ivr.cluster.run import node_instance, node_settings
from ivr.testing.world import Behaviour, Leg, World

from cluster_stack import active_calls, call_records, on_cluster_net, running_cluster, running_world
from conftest import plan_text
from test_routing import dial_from_phone

LINE = "+74951110000"
VIP = "+79169990000"
OUTSIDE = "+74957654321"


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory):
    plan = on_cluster_net(plan_text("queue.yaml")).replace('default: yes}', 'default: yes, capacity: 4}')
    assert "capacity: 4" in plan
    async with running_cluster(tmp_path_factory, plan) as running:
        yield running


@pytest.fixture(scope="module")
async def world(cluster):
    async with running_world(*cluster) as driver:
        yield driver


async def all_ended(legs: list[Leg], timeout: float) -> None:
    await asyncio.wait_for(asyncio.gather(*(leg.ended.wait() for leg in legs)), timeout)


async def no_calls_left(cluster) -> None:
    """Neither node keeps a channel or a bridge once every party has hung up."""
    layout, env = cluster
    nodes = [node_instance(layout, n, node_settings(layout, n, env)) for n in layout.nodes]

    def left(node) -> list[str]:
        return [line for line in node.cli("core show channels concise").splitlines() if line.strip()] + \
            [line for line in node.cli("bridge show all").splitlines()[1:] if line.strip()]

    for _ in range(40):
        if not any(left(n) for n in nodes):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"left on the nodes: {[left(n) for n in nodes]}")


def overlapping(legs: list[Leg]) -> list[tuple[str, str]]:
    """Pairs of legs that were up at the same time."""
    ordered = sorted(legs, key=lambda leg: leg.invited_at)
    return [(a.caller_number, b.caller_number) for a, b in zip(ordered, ordered[1:])
            if a.ended_at is None or b.invited_at < a.ended_at]


async def test_one_queue_over_two_nodes_serves_callers_in_order_vip_first(cluster, world: World):
    layout, _ = cluster
    world.reset()
    # The agent answers after half a second and talks for two; 2 s of wrap-up follow each call.
    world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=2.0)
    plain = ["+79165550001", "+79165550002", "+79165550003"]
    callers: list[Leg] = []
    for number in plain + [VIP]:            # the VIP arrives last, while the first caller talks
        callers.append(await world.call(LINE, number))
        await asyncio.wait_for(callers[-1].answered.wait(), 10)
        await asyncio.sleep(0.3)

    async def served(count: int) -> list[Leg]:
        while len([leg for leg in world.incoming if leg.target == "101" and leg.answered_at]) < count:
            await asyncio.sleep(0.1)
        return [leg for leg in world.incoming if leg.target == "101"]

    agent_legs = await asyncio.wait_for(served(4), 40)
    await all_ended([leg for leg in agent_legs if leg.answered_at], 10)
    order = [leg.caller_number for leg in sorted(agent_legs, key=lambda leg: leg.invited_at) if leg.answered_at]
    assert order == [plain[0], VIP, plain[1], plain[2]]
    # Never offered two calls at once: each ring of 101 began after the previous call ended.
    assert overlapping(agent_legs) == []
    records = {c["caller"]: c for c in await call_records(layout) if c["caller"] in plain + [VIP]}
    assert {r["channel_id"].split("-", 1)[0] for r in records.values()} == {"node1", "node2"}
    for leg in callers:
        await world.hangup(leg)
    await all_ended(callers, 10)
    await no_calls_left(cluster)
    world.reset()


async def test_a_trunk_of_4_channels_never_carries_5_calls_from_both_nodes(cluster, world: World):
    layout, env = cluster
    world.reset()
    world.behaviours[OUTSIDE] = Behaviour("answer", after=0.3)       # the callee stays on the line
    phones = [await dial_from_phone(world, ext, "8" + OUTSIDE[2:]) for ext in ("101", "102", "103") * 2]

    async def settled() -> None:
        while sum(leg.answered_at is not None for leg in world.incoming) + \
                sum(leg.ended.is_set() for leg in phones) < len(phones):
            await asyncio.sleep(0.1)

    await asyncio.wait_for(settled(), 30)
    await asyncio.sleep(1.0)                 # a late fifth call would show up now
    carried = [leg for leg in world.incoming if leg.target == OUTSIDE]
    assert len(carried) == 4 and all(leg.via == "default" for leg in carried)
    assert sum(leg.ended.is_set() for leg in phones) == 2          # refused: no trunk free
    # The carried calls went out from both nodes.
    nodes = [node_instance(layout, n, node_settings(layout, n, env)) for n in layout.nodes]
    assert all(active_calls(n) > 0 for n in nodes)
    for leg in phones:
        if not leg.ended.is_set():
            await world.hangup(leg)
    await all_ended(phones + carried, 15)
    await no_calls_left(cluster)
    world.reset()
