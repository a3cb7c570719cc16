"""Start and stop a whole cluster on one machine (`make cluster`, `make stop`, the cluster tests):
PostgreSQL, the Kamailio edge, the Asterisk nodes and one service instance per node.

Every process runs in its own session with a pid file under the cluster directory, so `stop`
and `ivr cluster status` work from any later command.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiohttp

from ivr.asterisk.process import Instance, read_pid, terminate
from ivr.asterisk.render import render_pbx
from ivr.cluster.database import create_databases, kamailio_db_url, start_database, stop_database
from ivr.cluster.edge import Edge, render_edge
from ivr.cluster.layout import ClusterLayout, Node, ServiceInstance
from ivr.config import ROOT, Settings, load_settings
from ivr.errors import IvrError
from ivr.plan.loader import load_plan
from ivr.plan.model import Plan


class ClusterError(IvrError):
    error_id = "cluster-error"


def node_settings(layout: ClusterLayout, node: Node, extra_env: dict[str, str]) -> Settings:
    return load_settings(env={**os.environ, **extra_env, **layout.node_env(node)})


def node_instance(layout: ClusterLayout, node: Node, settings: Settings) -> Instance:
    return Instance(node.name, layout.node_dir(node), Path(settings.asterisk_rootfs)
                    if settings.asterisk_mode == "bundled" else None)


def edge_of(layout: ClusterLayout) -> Edge:
    return Edge(layout.root / "edge", layout.edge_address, layout.edge_port)


def load_cluster_plan(settings: Settings) -> Plan:
    from ivr.sounds.catalog import PromptCatalog
    return load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file),
                     prompt_exists=PromptCatalog(settings).exists)


# ----- service instances -----

def instance_dir(layout: ClusterLayout, instance: ServiceInstance) -> Path:
    return layout.root / instance.name


def instance_pid(layout: ClusterLayout, instance: ServiceInstance) -> int | None:
    return read_pid(instance_dir(layout, instance) / "service.pid")


def start_instance(layout: ClusterLayout, instance: ServiceInstance, extra_env: dict[str, str]) -> int:
    if (pid := instance_pid(layout, instance)) is not None:
        return pid
    directory = instance_dir(layout, instance)
    directory.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **extra_env, **layout.instance_env(instance)}
    log = open(directory / "service.log", "ab")
    proc = subprocess.Popen([sys.executable, str(ROOT / "ari_app.py")], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    (directory / "service.pid").write_text(str(proc.pid))
    return proc.pid


def stop_instance(layout: ClusterLayout, instance: ServiceInstance, timeout: float = 10.0) -> None:
    pid = instance_pid(layout, instance)
    if pid is not None:
        terminate(pid, timeout)
    (instance_dir(layout, instance) / "service.pid").unlink(missing_ok=True)


async def wait_instances_ready(layout: ClusterLayout, timeout: float = 40.0) -> None:
    """Until every instance answers /status with ARI connected to its node."""
    deadline = time.monotonic() + timeout
    pending = list(layout.instances)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while pending and time.monotonic() < deadline:
            for instance in list(pending):
                if instance_pid(layout, instance) is None:
                    log = instance_dir(layout, instance) / "service.log"
                    raise ClusterError(f"service {instance.name} exited; see {log}")
                try:
                    async with http.get(f"{instance.url}/status") as r:
                        if r.status == 200:
                            pending.remove(instance)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
            await asyncio.sleep(0.3)
    if pending:
        raise ClusterError(f"service(s) not ready in {timeout:.0f} s: {', '.join(i.name for i in pending)}")


# ----- the whole cluster -----

async def start_cluster(layout: ClusterLayout, extra_env: dict[str, str] | None = None) -> None:
    """Start what is not running yet; `extra_env` (IVR_* variables) applies to nodes and instances."""
    extra_env = extra_env or {}
    database = layout.database_dir
    await asyncio.to_thread(start_database, database, layout.database_port)
    await create_databases(layout.database_port)
    settings = node_settings(layout, layout.nodes[0], extra_env)
    plan = load_cluster_plan(settings)
    edge = render_edge(plan, layout, kamailio_db_url(layout.database_port))
    await asyncio.to_thread(edge.start)
    for node in layout.nodes:
        node_conf = node_settings(layout, node, extra_env)
        asterisk = node_instance(layout, node, node_conf)
        render_pbx(node_conf, plan, asterisk)
        (asterisk.spool / "recording").mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(asterisk.start)
    # One after the other: the first creates the schema, the next find it done. The first instance
    # of each node takes its lease and serves it; the others stand by for it.
    serving: set[str] = set()
    for instance in layout.instances:
        start_instance(layout, instance, extra_env)
        if instance.node not in serving:
            serving.add(instance.node)
            await wait_instances_ready(_only(layout, instance))


def _only(layout: ClusterLayout, instance: ServiceInstance) -> ClusterLayout:
    return replace(layout, instances=(instance,))


def stop_cluster(layout: ClusterLayout, extra_env: dict[str, str] | None = None) -> None:
    for instance in layout.instances:
        stop_instance(layout, instance)
    for node in layout.nodes:
        node_instance(layout, node, node_settings(layout, node, extra_env or {})).stop()
    edge_of(layout).stop()
    stop_database(layout.database_dir)

