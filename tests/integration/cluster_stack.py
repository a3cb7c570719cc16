"""The cluster stack of the cluster test modules (test_cluster, test_cluster_queue): PostgreSQL,
the Kamailio edge, two Asterisk nodes and their service instances, and the world Asterisk as
carrier and phones registered at the edge.

Addresses on a net of its own, CNET (this worker's net + 32: 127.0.52 for 127.0.20), so the worker's
single-node stack on NET keeps running: edge CNET.1, world CNET.2, carrier CNET.11 (the plan's trunk),
nodes CNET.21 and CNET.22; the instances take web ports of their own (CWEB, CWEB+1). One module's
cluster is stopped before the next module starts its own.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from ivr.asterisk.process import Instance
from ivr.asterisk.render import WorldLayout, render_world
from ivr.cluster.database import stop_database
from ivr.cluster.layout import ClusterLayout, load_layout
from ivr.cluster.run import node_settings, start_cluster, stop_cluster
from ivr.config import ROOT, load_settings
from ivr.plan.loader import load_plan
from ivr.testing.world import World, wait_registered

from conftest import NET, PLANS

_prefix, _third = NET.rsplit(".", 1)
CNET = f"{_prefix}.{int(_third) + 32}"
CWEB = 18200 + 2 * int(_third)
EDGE_IP, WORLD_IP = f"{CNET}.1", f"{CNET}.2"
NUMBER = "+74951110000"
PG_PREFIX = f"ivr-cluster-pg-{CNET}-"


def on_cluster_net(plan_text: str) -> str:
    """A test plan (already on NET) with its addresses moved onto the cluster's net."""
    return plan_text.replace(f"{NET}.", f"{CNET}.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reap_stale_cluster() -> None:
    """A killed earlier run on this net leaves its processes in their own sessions: Asterisks and
    Kamailio on this net's addresses, the services on their ports, PostgreSQL in its directory."""
    sockets = subprocess.run(["ss", "-Hulnpt"], capture_output=True, text=True).stdout
    ours = (f" {CNET}.", f" 127.0.0.1:{CWEB} ", f" 127.0.0.1:{CWEB + 1} ")
    for line in sockets.splitlines():
        if any(o in line for o in ours):
            for pid in re.findall(r"pid=(\d+)", line):
                subprocess.run(["kill", "-9", pid], check=False)
    for stale in Path(tempfile.gettempdir()).glob(f"{PG_PREFIX}*"):
        stop_database(stale)
        shutil.rmtree(stale, ignore_errors=True)


@asynccontextmanager
async def running_cluster(tmp_path_factory, plan: str, settings: dict[str, str] | None = None,
                          ) -> AsyncIterator[tuple[ClusterLayout, dict[str, str]]]:
    """Two nodes, svc1 and svc2 serving them, svc1b standing by for node1, all on `plan`, with
    `settings` (IVR_* variables) added. Several service processes: each runs the real clock (a fixed
    test clock runs on from each process's own start, so they would disagree)."""
    reap_stale_cluster()
    root = tmp_path_factory.mktemp("cluster")
    # The `postgres` OS user cannot enter pytest's private temp directories.
    database_dir = Path(tempfile.mkdtemp(prefix=PG_PREFIX))
    (root / "ivr.yaml").write_text(plan, encoding="utf-8")
    (root / "cluster.yaml").write_text(
        f"edge: {{address: {EDGE_IP}, port: 5060}}\n"
        f"database_port: {_free_port()}\ndatabase_directory: {database_dir}\n"
        f"directory: {root}/var\n"
        f"nodes:\n  - {{name: node1, address: {CNET}.21}}\n  - {{name: node2, address: {CNET}.22}}\n"
        f"instances:\n  - {{name: svc1, node: node1, web_port: {CWEB}}}\n"
        f"  - {{name: svc2, node: node2, web_port: {CWEB + 1}}}\n"
        # node1's standby: the same port on an address of this net
        f"  - {{name: svc1b, node: node1, web_host: {CNET}.31, web_port: {CWEB}}}\n", encoding="utf-8")
    env = {"IVR_PLAN_FILE": str(root / "ivr.yaml"), "IVR_SECRETS_FILE": str(PLANS / "secrets.yaml"),
           "IVR_SETTINGS": str(PLANS / "settings.yaml"), "IVR_CLOCK": "",
           "IVR_CLUSTER_FILE": str(root / "cluster.yaml"), **(settings or {})}
    layout = load_layout(load_settings(env=env))
    try:
        await start_cluster(layout, env)
        yield layout, env
    finally:
        stop_cluster(layout, env)
        shutil.rmtree(database_dir, ignore_errors=True)


@asynccontextmanager
async def running_world(layout: ClusterLayout, env: dict[str, str]) -> AsyncIterator[World]:
    """The world Asterisk: the plan's carrier and its phones, registered with the edge (Kamailio's
    registrar), not with a node."""
    settings = node_settings(layout, layout.nodes[0], env)
    plan = load_plan(Path(env["IVR_PLAN_FILE"]), secrets_path=PLANS / "secrets.yaml")
    instance = Instance("world", layout.root / "world", Path(settings.asterisk_rootfs))
    world_layout = WorldLayout(WORLD_IP, 8088, EDGE_IP, 5060)
    render_world(settings, plan, world_layout, instance)
    (instance.spool / "recording").mkdir(parents=True, exist_ok=True)
    instance.start()
    carriers = {t.host.split(":")[0]: name for name, t in plan.trunks.items()}
    driver = World(world_layout.ari_url, world_layout.ari_user, world_layout.ari_password,
                   instance.spool, carriers=carriers)
    try:
        await driver.start()
        await wait_registered(instance, list(plan.staff))
        yield driver
    finally:
        await driver.stop()
        instance.stop()


def active_calls(asterisk: Instance) -> int:
    return int(asterisk.cli("core show calls").split()[0])


def cluster_cli(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """`ivr cluster ARGS` as a user runs it (`make cluster` is setup, then `ivr cluster start`)."""
    return subprocess.run([sys.executable, "-m", "ivr.cli", "--lang", "en", "cluster", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def status(env: dict[str, str]) -> dict:
    return json.loads(cluster_cli(env, "status", "--json").stdout)


def admin(layout: ClusterLayout, via: int = 1) -> dict[str, str]:
    """An instance's credentials (svc2 by default: only the last test kills it): the admin token it
    writes for local `ivr` commands."""
    token = (layout.root / layout.instances[via].name / "cli-token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


async def call_records(layout: ClusterLayout, via: int = 1) -> list[dict]:
    """The shared database's latest call records, through one instance."""
    async with aiohttp.ClientSession(headers=admin(layout, via)) as http:
        async with http.get(f"{layout.instances[via].url}/api/calls?limit=200") as r:
            return (await r.json())["calls"]


async def call_nodes(layout: ClusterLayout, first: int, count: int, via: int = 1) -> dict[str, str]:
    """caller -> node prefix of the channel id, from the shared call records (either instance)."""
    wanted = {f"+7916555{first + i:04d}" for i in range(count)}
    for _ in range(50):
        found = {c["caller"]: c["channel_id"].split("-", 1)[0] for c in await call_records(layout, via)
                 if c["caller"] in wanted}
        if len(found) == count:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"call records missing for {sorted(wanted - set(found))}")


async def finished_record(layout: ClusterLayout, caller: str, via: int = 1) -> dict:
    for _ in range(50):
        mine = [c for c in await call_records(layout, via) if c["caller"] == caller and c["ended_at"]]
        if mine:
            return mine[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"the call from {caller} was never finished")


async def answered_calls(world: World, count: int, first: int, number: str = NUMBER) -> list:
    legs = [await world.call(number, f"+7916555{first + i:04d}") for i in range(count)]
    await asyncio.gather(*(asyncio.wait_for(leg.answered.wait(), 10) for leg in legs))
    return legs
