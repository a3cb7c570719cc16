"""The cluster on the real stack: the world's carrier calls the Kamailio edge, which spreads the calls
over two Asterisk nodes, each served by its own service instance on one PostgreSQL; a node killed
with SIGKILL is out within seconds and every new call is answered on the other one.

Addresses on a net of its own, CNET (this worker's net + 32: 127.0.52 for 127.0.20), so the worker's
single-node stack on NET keeps running: edge CNET.1, world CNET.2, carrier CNET.11 (the plan's trunk),
nodes CNET.21 and CNET.22; the instances take web ports of their own (CWEB, CWEB+1).
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from ivr.campaigns.config import load_profiles
from ivr.campaigns.model import Passenger
from ivr.campaigns.service import create_campaign
from ivr.campaigns.store import CampaignStore
from ivr.cluster.database import start_database, stop_database
from ivr.cluster.run import instance_pid, node_instance, node_settings, start_instance
from ivr.cluster.lease import JOBS_KEY, holders
from ivr.config import Settings, load_settings
from ivr.plan.loader import load_plan
from ivr.store import open_database
from ivr.testing.world import Behaviour

from test_campaign_crash import PROFILE as CRASH_PROFILE, check_never_twice_and_answers_kept, scripts
from test_demo import demo_module
from test_routing import dial_from_phone

from cluster_stack import (EDGE_IP, active_calls, admin, answered_calls, call_nodes, call_records, cluster_cli,
                           finished_record, on_cluster_net, running_cluster, running_world, status)
from conftest import PLANS, plan_text

NODE_LOST_SECONDS = 3       # a node's ARI away this long: its calls are lost (compressed from 10)
TAKEOVER_SECONDS = 5        # the bound for another instance to serve a dead one's node
SETTLING_SECONDS = 2        # after it: the survivor still starting the taken-over node's service
HAND_BACK_SECONDS = 12      # a node taken over goes back to its own instance by then (compressed from 60)


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory):
    # The office always open: the instances run the real clock.
    always_open = on_cluster_net(plan_text()).replace('hours: {mon-fri: "09:00-18:00", sat: "10:00-15:00"}',
                                                     'hours: {daily: "00:00-24:00"}').replace(
        "holidays: [{date: 2026-11-04, name: Unity Day}]", "holidays: []")
    assert "daily" in always_open and "Unity Day" not in always_open
    async with running_cluster(tmp_path_factory, always_open,
                               {"IVR_NODE_LOST_SECONDS": str(NODE_LOST_SECONDS),
                                "IVR_HAND_BACK_SECONDS": str(HAND_BACK_SECONDS)}) as running:
        yield running


@pytest.fixture(scope="module")
async def world(cluster):
    async with running_world(*cluster) as driver:
        yield driver


class InstanceApi:
    """One instance's HTTP API as an admin (what the campaign checks read a campaign through)."""

    def __init__(self, layout, via: int):
        self.url, self.headers = layout.instances[via].url, admin(layout, via)

    async def get(self, path: str):
        async with aiohttp.ClientSession(headers=self.headers) as http, http.get(self.url + path) as r:
            assert r.status == 200, (path, r.status)
            return await r.json()


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


async def test_calls_on_a_dead_node_are_recorded_lost_and_become_missed_items(cluster, world):
    """node1 died (the test above) under two answered calls: svc1b, which served it, records them as
    lost with their callers once node1's ARI stays away, and each caller is a missed-call item."""
    layout, _ = cluster
    on_node1 = sorted(c for c, n in (await call_nodes(layout, 0, 4)).items() if n == "node1")
    assert len(on_node1) == 2
    for caller in on_node1:
        record = await finished_record(layout, caller)
        assert record["outcome"] == "node_lost", record
        assert record["steps"][-1]["kind"] == "node_lost"
    async with aiohttp.ClientSession(headers=admin(layout)) as http:
        for caller in on_node1:
            async with http.get(f"{layout.instances[1].url}/api/missed", params={"customer": caller}) as r:
                items = (await r.json())["items"]
            assert [(i["reason"], i["status"]) for i in items] == [("node_lost", "open")], items


async def until(check, seconds: float, what: str):
    """Poll `check` (async, returns a true value when done) every 0.2 s for at most `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        if result := await check():
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.2)


async def nothing_left(layout, env) -> None:
    """No call left on either node's Asterisk (both running)."""
    asterisks = [node_instance(layout, n, node_settings(layout, n, env)) for n in layout.nodes]

    async def no_channel_left() -> bool:
        return [active_calls(a) for a in asterisks] == [0, 0]
    await until(no_channel_left, 15, "no call left on either node")


async def node1_back(layout, env, world) -> None:
    """Start node1's Asterisk again (it was killed above): svc1b, which holds its lease, reconnects,
    and the edge's probes put it back into the dispatcher set."""
    node1 = node_instance(layout, layout.nodes[0], node_settings(layout, layout.nodes[0], env))
    if node1.pid() is None:
        await asyncio.to_thread(node1.start)

    async def serving() -> bool:
        return (await asyncio.to_thread(status, env))["instances"][2]["nodes"] == ["node1"]
    await until(serving, 30, "svc1b serving node1 again")


async def calls_on_both_nodes(layout, world, first: int, via: int = 1) -> tuple[list, list[str], dict[str, str]]:
    """Two answered callers, one on each node (the edge's probes put a node that came back into the
    set within seconds: until then both may land on the other). Returns legs, callers, caller->node."""
    for start in range(first, first + 100, 10):
        legs = await answered_calls(world, 2, first=start)
        nodes = await call_nodes(layout, start, 2, via)
        if sorted(nodes.values()) == ["node1", "node2"]:
            return legs, [f"+7916555{start + i:04d}" for i in range(2)], nodes
        for leg in legs:
            await world.hangup(leg)
        await asyncio.sleep(0.5)
    raise AssertionError("no call reached one of the nodes")


async def test_calls_and_their_records_survive_a_database_restart(cluster, world):
    """PostgreSQL stops with a call on each node: one caller hangs up while it is down (its record
    is written once it is back), the other talks on through the restart; the holders of the leases
    take them back, and both records are finished."""
    layout, env = cluster
    await node1_back(layout, env, world)
    world.reset()
    legs, callers, nodes = await calls_on_both_nodes(layout, world, 400)
    leases = status(env)["leases"]
    assert (leases["node1"], leases["node2"]) == ("svc1b", "svc2")
    gone_early = legs[0]
    early_node = nodes[callers[0]]
    serving = {"node1": layout.instances[2], "node2": layout.instances[1]}[early_node]
    log = layout.root / serving.name / "service.log"
    seen = log.stat().st_size

    await asyncio.to_thread(stop_database, layout.database_dir)
    try:
        await world.hangup(gone_early)

        async def retrying() -> bool:
            return b"database away, storing the call record" in log.read_bytes()[seen:]
        await until(retrying, 10, f"{serving.name} retrying the record while the database is down")
    finally:
        await asyncio.to_thread(start_database, layout.database_dir, layout.database_port)

    seen_leases: list[dict] = []

    async def leases_back() -> bool:
        seen_leases.append(status(env)["leases"])
        return seen_leases[-1] == leases
    try:
        await until(leases_back, 15, "the holders taking their leases back")
    except AssertionError as e:
        lines = {i.name: [line for line in (layout.root / i.name / "service.log").read_text(errors="replace")
                          .splitlines() if "lease" in line][-8:] for i in layout.instances}
        raise AssertionError(f"{e}: wanted {leases}, last seen {seen_leases[-2:]}; the instances' lease "
                             f"log: {lines}") from None
    assert not legs[1].ended.is_set()           # the other caller talked through the restart
    await world.hangup(legs[1])
    for caller in callers:
        record = await finished_record(layout, caller)
        assert record["ended_at"] and record["outcome"] != "node_lost", record


async def test_a_killed_instance_s_node_and_the_dialer_move_to_the_other_instance(cluster, world):
    """All instances active, singletons once: the instance holding the jobs' lease dials a campaign;
    kill -9 of it mid-campaign, with an inbound caller in the menu on its node. Within 5 s the other
    instance serves both nodes and runs the dialer; the caller keeps the call, the campaign ends with
    no passenger dialled twice for one attempt and every answer heard kept."""
    layout, env = cluster
    plan_path = Path(env["IVR_PLAN_FILE"])
    profiles = plan_path.with_name("campaigns.yaml")
    profiles.write_text((PLANS / "campaign.yaml").read_text(encoding="utf-8") + CRASH_PROFILE, encoding="utf-8")
    plan = load_plan(plan_path, secrets_path=PLANS / "secrets.yaml")
    profile = load_profiles(profiles, plan)["crash"]
    index = {i.name: n for n, i in enumerate(layout.instances)}
    jobs = status(env)["leases"]["jobs"]
    assert jobs in ("svc2", "svc1b")                # svc1 was killed above
    victim = layout.instances[index[jobs]]
    survivor = index["svc1b" if jobs == "svc2" else "svc2"]
    db = await open_database(layout.database_url())
    try:
        store = CampaignStore(db)
        world.reset()
        legs, callers, nodes = await calls_on_both_nodes(layout, world, 600, via=survivor)
        numbers = [f"+7916700{i:04d}" for i in range(20)]
        behaviours = scripts(numbers)
        world.behaviours.update(behaviours)
        now = datetime.now(timezone.utc)
        campaign, added = await create_campaign(store, "crash", profile, plan,
                                                [Passenger(name=n, phone=n, trip_id="T30") for n in numbers], now)
        assert added == len(numbers)
        await store.change(campaign.id, "start", now)

        async def talking() -> bool:
            return any(leg.answered_at and not leg.ended_at for leg in world.incoming if leg.target in behaviours)
        await until(talking, 30, "a campaign call in progress")
        down = time.monotonic()
        os.kill(instance_pid(layout, victim), signal.SIGKILL)

        other = layout.instances[survivor]
        database = replace(Settings(), database_url=layout.database_url())

        seen: list = [None, None]

        async def taken_over() -> bool:     # polled directly: `ivr cluster status` takes seconds here
            async with aiohttp.ClientSession() as http, http.get(f"{other.url}/status") as r:
                nodes = (await r.json())["nodes"]
            seen[:] = [nodes, (await holders(database, [JOBS_KEY]))[JOBS_KEY]]
            return seen == [["node1", "node2"], other.name]
        try:
            await until(taken_over, TAKEOVER_SECONDS, "the other instance serving both nodes and the dialer")
        except AssertionError as e:
            raise AssertionError(f"{e}: {other.name} last said it serves {seen[0]}, jobs held by {seen[1]}") from None
        up = time.monotonic()
        report = status(env)
        assert [(i["name"], i["state"], i["nodes"]) for i in report["instances"]] == \
            [(i.name, "up" if i is other else "down", ["node1", "node2"] if i is other else [])
             for i in layout.instances]
        assert not any(leg.ended.is_set() for leg in legs)       # both callers kept their calls

        async def done() -> bool:
            return (await store.get(campaign.id)).status == "done"
        await until(done, 150, "the campaign done")
        # The survivor starts the taken-over node's service on its one event loop for a moment after
        # it reports serving: a digit pressed then may be missed (seen on 2 busy cores).
        await check_never_twice_and_answers_kept(InstanceApi(layout, survivor), campaign.id, profile, world, behaviours,
                                                 [(down, up + SETTLING_SECONDS)])
        # Each campaign leg's id names the node that carried it: the victim's before the kill, the
        # survivor's after.
        attempts = (await InstanceApi(layout, survivor).get(f"/api/campaigns/{campaign.id}"))["attempts"]
        assert {a["channel_id"].split("-camp-")[0] for a in attempts} == {victim.node, other.node}, attempts
        assert all(a["channel_id"].split("-camp-")[1].startswith(f"{campaign.id}-") for a in attempts), attempts
        for leg in legs:
            await world.hangup(leg)
        on_victim = next(c for c in callers if nodes[c] == victim.node)
        assert (await finished_record(layout, on_victim, via=survivor))["ended_at"]
        await nothing_left(layout, env)
    finally:
        profiles.unlink(missing_ok=True)
        await db.close()


async def instance_status(instance) -> dict:
    """An instance's /status body; {} while it does not answer (a standby serves no web yet)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http, \
                http.get(f"{instance.url}/status") as r:
            return await r.json()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return {}


async def test_a_restarted_instance_gets_its_node_back(cluster, world):
    """The instance killed above starts again and stands by for its node; the instance that took the
    node over hands it back. A caller on that node holds the hand-back up to its bound
    (`IVR_HAND_BACK_SECONDS`); then the taker leaves the call in Stasis, the node's own instance
    picks it up and the caller keeps the call. The cluster is as before the kill: svc1b serves
    node1, svc2 node2."""
    layout, env = cluster
    index = {i.name: n for n, i in enumerate(layout.instances)}
    [victim] = [layout.instances[index[i["name"]]] for i in status(env)["instances"]
                if i["name"] != "svc1" and i["state"] == "down"]
    taker = layout.instances[index["svc1b" if victim.name == "svc2" else "svc2"]]
    world.reset()
    legs, callers, nodes = await calls_on_both_nodes(layout, world, 700, via=index[taker.name])
    [left] = [c for c in callers if nodes[c] == victim.node]
    log = layout.root / taker.name / "service.log"
    seen = log.stat().st_size
    start_instance(layout, victim, env)

    async def handing_back() -> bool:
        return (await instance_status(taker)).get("handing_back") == [victim.node]
    await until(handing_back, 30, f"{taker.name} handing {victim.node} back")
    report = status(env)
    assert [(i["name"], i["nodes"], i["standby_for"], i["handing_back"]) for i in report["instances"]
            if i["name"] != "svc1"] == [
        (i.name, sorted({i.node, victim.node}) if i is taker else [], [victim.node] if i is victim else [],
         [victim.node] if i is taker else []) for i in layout.instances[1:]]

    async def handed_back() -> bool:
        return (await instance_status(victim)).get("nodes") == [victim.node] and \
            (await instance_status(taker)).get("nodes") == [taker.node]
    await until(handed_back, HAND_BACK_SECONDS + 20, f"{victim.name} serving {victim.node} again")
    assert b"node handed back with calls in progress" in log.read_bytes()[seen:]
    [channel] = [c["channel_id"] for c in await call_records(layout, index[taker.name]) if c["caller"] == left]
    victim_log = layout.root / victim.name / "service.log"

    async def picked_up() -> bool:      # the call's walk started again on the node's own instance
        return f"call started call={channel} ".encode() in victim_log.read_bytes()
    await until(picked_up, 10, f"{victim.name} picking up {channel}")
    assert not any(leg.ended.is_set() for leg in legs)      # both callers kept their calls
    leases = status(env)["leases"]
    assert (leases["node1"], leases["node2"]) == ("svc1b", "svc2")
    for leg in legs:
        await world.hangup(leg)
    record = await finished_record(layout, left, via=index[taker.name])
    assert "picked_up_after_restart" in [s["kind"] for s in record["steps"]], record
    assert record["outcome"] != "node_lost", record
    await nothing_left(layout, env)


async def test_the_demo_runs_against_the_cluster(cluster, world):
    """`make demo` with the cluster running: it finds a serving instance from the cluster file, its
    callers go through the edge (menu and hunt, queue, missed call, campaign, outbound routes), and
    every caller's call is in the shared call log. svc2 and svc1b serve their own nodes again."""
    layout, env = cluster
    demo = demo_module()
    api, console, address, port = await demo.cluster_target(load_settings(env={**os.environ, **env}))
    assert (address, port) == (EDGE_IP, 5060)
    assert console in {i.url for i in layout.instances}
    plan = load_plan(Path(env["IVR_PLAN_FILE"]), secrets_path=PLANS / "secrets.yaml")
    world.reset()
    said: list[str] = []
    callers = await demo.Demo(world, api, plan, said.append).run()
    text = "\n".join(said)
    assert "the office is open" in said[0], text
    assert "answered by 101" in text, text
    assert "missed-call list: item #" in text and "campaign #" in text, text
    assert "another branch" not in text, text
    logged = {c["caller"] for c in (await api.get("/api/calls?limit=500"))["calls"]}
    assert set(callers) <= logged, set(callers) - logged
    await nothing_left(layout, env)


async def test_stop_and_start_from_the_command_line(cluster, world):
    """What `make stop` and `make cluster` run, `ivr cluster stop` and `ivr cluster start` (the last
    test: it restarts the whole cluster): everything stops; everything starts again, says where phones
    register and where the console is, and each node is served by one instance, node2 by its own."""
    layout, env = cluster
    stopped = await asyncio.to_thread(cluster_cli, env, "stop", timeout=120)
    assert stopped.returncode == 0 and "cluster stopped" in stopped.stdout, stopped.stderr
    report = status(env)
    assert (report["edge"]["state"], report["database"]["state"]) == ("down", "down")
    assert {n["state"] for n in report["nodes"]} == {i["state"] for i in report["instances"]} == {"down"}

    started = await asyncio.to_thread(cluster_cli, env, "start", timeout=180)
    assert started.returncode == 0, started.stderr
    assert f"phones register at sip:EXTENSION@{EDGE_IP}" in started.stdout, started.stdout
    assert f"console: {layout.instances[0].url}" in started.stdout, started.stdout
    seen: list[dict] = []

    async def serving() -> bool:
        seen[:] = [await asyncio.to_thread(status, env)]
        served = {i["name"]: i["nodes"] for i in seen[0]["instances"]}
        return served["svc2"] == ["node2"] and sorted(sum(served.values(), [])) == ["node1", "node2"]
    try:
        await until(serving, 60, "each node served again")
    except AssertionError as e:
        raise AssertionError(f"{e}: {seen}") from None
    assert {n["state"] for n in seen[0]["nodes"]} == {"up"}

