"""Benchmark of the cluster path (issue 14): the Kamailio edge, two Asterisk nodes, two service
instances on PostgreSQL, and the world simulator's carrier placing calls through the edge.

    .venv/bin/python bench/bench_cluster.py [--calls 60] [--concurrency 10] [--hold 3] [--json FILE] [--keep DIR]

Measured, in this order:
- spread: a batch of calls (each answered by the IVR, held `hold` seconds, hung up by the caller);
  the share of each node from the call records' node-qualified channel ids;
- cost per call: CPU seconds of every cluster process (edge with its children, both Asterisks, both
  services, PostgreSQL with its backends) over that batch, against the same batch on the single-node
  path (one Asterisk, one service on SQLite, the carrier straight to the PBX);
- takeover: kill -9 of node2's service with a caller on node2: time until node1's service serves
  node2 (its /status), and whether the caller kept the call;
- failover: kill -9 of node1's Asterisk: new calls placed one after the other (at most 4 a second)
  for 6 s from that moment: time until the first is answered, the longest wait for an answer among them (a call the
  edge still sends to the dead node waits for its INVITE timeout), and how many failed.

Everything runs on 127.0.33.x (edge .1, world .2, carrier .11, nodes .21/.22, single-node PBX .41)
with web ports 18133-18135; all it starts it stops.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

from stack import HERE, OPEN, BenchError, Stack, cpu_seconds, run_bench

from ivr.asterisk.process import Instance
from ivr.asterisk.render import WorldLayout, render_world
from ivr.cluster.database import database_pid
from ivr.cluster.edge import Edge
from ivr.cluster.layout import ClusterLayout, load_layout
from ivr.cluster.run import instance_pid, node_instance, node_settings, start_cluster, stop_cluster
from ivr.config import Settings, load_settings
from ivr.plan.loader import load_plan
from ivr.testing.world import World, wait_registered

NET = "127.0.33"
EDGE_IP, WORLD_IP, CARRIER_IP, SINGLE_IP = f"{NET}.1", f"{NET}.2", f"{NET}.11", f"{NET}.41"
WEB_PORT = 18133
NUMBER = "+74951110000"
SECRETS = HERE / "secrets.yaml"
ANSWER_TIMEOUT = 15.0
FAILOVER_WINDOW = 6.0        # seconds of new calls after a node kill,
FAILOVER_GAP = 0.25          # one every 0.25 s at most


@dataclass(frozen=True)
class Result:
    calls: int
    concurrency: int
    hold_s: float
    per_node: dict[str, int]
    failed: int
    cluster_cpu_per_call_s: float
    cluster_cpu_by_part: dict[str, float]       # edge, nodes, services, postgres: CPU s per call
    single_failed: int
    single_cpu_per_call_s: float
    takeover_s: float
    caller_kept: bool
    failover_first_answer_s: float
    failover_longest_wait_s: float
    failover_calls: int
    failover_failed: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of a process and its direct children (Kamailio's and PostgreSQL's workers): the
    live ones, and those that ended (their time is added to the parent's when it reaps them)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")    # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += cpu_seconds(int(entry.name))
    return total


def cluster_cpu(layout: ClusterLayout, env: dict[str, str]) -> dict[str, float]:
    nodes = [node_instance(layout, n, node_settings(layout, n, env)).pid() for n in layout.nodes]
    return {"edge": tree_cpu(Edge(layout.root / "edge", layout.edge_address, layout.edge_port).pid()),
            "nodes": sum(cpu_seconds(p) for p in nodes if p),
            "services": sum(cpu_seconds(p) for i in layout.instances if (p := instance_pid(layout, i))),
            "postgres": tree_cpu(database_pid(layout.database_dir))}


def plan_file(work: Path) -> Path:
    """The benchmark plan with its carrier on this net, open at every hour (the services of a
    cluster each run the real clock)."""
    text = (HERE / "plan.yaml").read_text(encoding="utf-8").replace("127.0.30.11", CARRIER_IP)
    text = text.replace('hours: {mon-fri: "09:00-18:00", sat: "10:00-15:00"}', 'hours: {daily: "00:00-24:00"}')
    path = work / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def start_world(work: Path, settings: Settings, plan_path: Path, pbx: str) -> tuple[World, Instance]:
    plan = load_plan(plan_path, secrets_path=SECRETS)
    instance = Instance("world", work / "world", Path(settings.asterisk_rootfs))
    layout = WorldLayout(WORLD_IP, 8088, pbx, 5060)
    render_world(settings, plan, layout, instance)
    (instance.spool / "recording").mkdir(parents=True, exist_ok=True)
    instance.start()
    world = World(layout.ari_url, layout.ari_user, layout.ari_password, instance.spool,
                  carriers={t.host.split(":")[0]: name for name, t in plan.trunks.items()})
    await world.start()
    await wait_registered(instance, list(plan.staff))
    return world, instance


async def batch(world: World, calls: int, concurrency: int, hold: float, first: int) -> int:
    """`calls` callers, `concurrency` at a time: answered, held, hung up. Returns how many failed."""
    gate = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(i: int) -> None:
        nonlocal failed
        async with gate:
            leg = await world.call(NUMBER, f"+7916{first + i:07d}")
            try:
                await asyncio.wait_for(leg.answered.wait(), ANSWER_TIMEOUT)
            except asyncio.TimeoutError:
                failed += 1
            else:
                await asyncio.sleep(hold)
            await world.hangup(leg)
            await asyncio.wait_for(leg.ended.wait(), 10)

    await asyncio.gather(*(one(i) for i in range(calls)))
    return failed


async def after_a_kill(world: World, since: float, first: int, window: float = FAILOVER_WINDOW) -> tuple[float, float, int, int]:
    """New calls one after the other for `window` seconds from `since` (the kill): seconds until the
    first answer, the longest wait for an answer among them (a call the edge still sent to the dead
    node waits for its INVITE timeout, then goes to the other node), failed calls, calls."""
    first_answer: float | None = None
    longest, failed, calls = 0.0, 0, 0
    while time.monotonic() - since < window or first_answer is None:
        placed = time.monotonic()
        leg = await world.call(NUMBER, f"+7916{first + calls:07d}")
        calls += 1
        try:
            await asyncio.wait_for(leg.answered.wait(), ANSWER_TIMEOUT)
        except asyncio.TimeoutError:
            failed += 1
        else:
            longest = max(longest, time.monotonic() - placed)
            if first_answer is None:
                first_answer = time.monotonic() - since
        await world.hangup(leg)
        if failed > 20:
            raise BenchError("no call answered after the node kill")
        await asyncio.sleep(max(0.0, placed + FAILOVER_GAP - time.monotonic()))
    return first_answer, longest, failed, calls


class Api:
    def __init__(self, layout: ClusterLayout, index: int):
        instance = layout.instances[index]
        token = (layout.root / instance.name / "cli-token").read_text().strip()
        self.url, self.headers = instance.url, {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> dict:
        async with aiohttp.ClientSession(headers=self.headers) as http, http.get(self.url + path) as r:
            return await r.json()


async def per_node(api: Api, first: int, calls: int) -> dict[str, int]:
    wanted = {f"+7916{first + i:07d}" for i in range(calls)}
    records = (await api.get("/api/calls?limit=1000"))["calls"]
    counts: dict[str, int] = {}
    for record in records:
        if record["caller"] in wanted:
            node = record["channel_id"].split("-", 1)[0]
            counts[node] = counts.get(node, 0) + 1
    return dict(sorted(counts.items()))


async def on_cluster(work: Path, args: argparse.Namespace) -> dict:
    database_dir = Path(tempfile.mkdtemp(prefix="bench-cluster-pg-"))    # the postgres user must enter it
    (work / "settings.yaml").write_text("{}\n")
    (work / "cluster.yaml").write_text(
        f"edge: {{address: {EDGE_IP}, port: 5060}}\ndatabase_port: {_free_port()}\n"
        f"database_directory: {database_dir}\ndirectory: {work}/var\n"
        f"nodes:\n  - {{name: node1, address: {NET}.21}}\n  - {{name: node2, address: {NET}.22}}\n"
        f"instances:\n  - {{name: svc1, node: node1, web_port: {WEB_PORT}}}\n"
        f"  - {{name: svc2, node: node2, web_port: {WEB_PORT + 1}}}\n", encoding="utf-8")
    env = {"IVR_PLAN_FILE": str(plan_file(work)), "IVR_SECRETS_FILE": str(SECRETS),
           "IVR_SETTINGS": str(work / "settings.yaml"), "IVR_CLUSTER_FILE": str(work / "cluster.yaml"),
           "IVR_LOG_LEVEL": "WARNING", "IVR_CLOCK": ""}
    layout = load_layout(load_settings(env=env))
    try:
        print("starting the cluster", file=sys.stderr, flush=True)
        await start_cluster(layout, env)
        settings = node_settings(layout, layout.nodes[0], env)
        world, world_asterisk = await start_world(work / "cluster-world", settings, Path(env["IVR_PLAN_FILE"]),
                                                  EDGE_IP)
        try:
            api = Api(layout, 0)
            await batch(world, 4, 4, 0.5, first=9_000_000)                # warm-up
            before = cluster_cpu(layout, env)
            failed = await batch(world, args.calls, args.concurrency, args.hold, first=0)
            after = cluster_cpu(layout, env)
            await asyncio.sleep(1)                                        # the last records stored
            spread = await per_node(api, 0, args.calls)
            by_part = {k: (after[k] - before[k]) / args.calls for k in before}

            print("takeover: kill -9 of node2's service", file=sys.stderr, flush=True)
            legs = [await world.call(NUMBER, f"+7916{8_000_000 + i:07d}") for i in range(2)]
            await asyncio.gather(*(asyncio.wait_for(leg.answered.wait(), ANSWER_TIMEOUT) for leg in legs))
            killed = time.monotonic()
            os.kill(instance_pid(layout, layout.instances[1]), signal.SIGKILL)
            takeover = await serving(api, "node2", killed)
            await asyncio.sleep(1)
            kept = not any(leg.ended.is_set() for leg in legs)
            for leg in legs:
                await world.hangup(leg)

            print("failover: kill -9 of node1's Asterisk", file=sys.stderr, flush=True)
            node1 = node_instance(layout, layout.nodes[0], settings)
            killed = time.monotonic()
            node1.kill()
            failover, longest, failover_failed, failover_calls = await after_a_kill(world, killed, first=7_000_000)
        finally:
            await world.stop()
            world_asterisk.stop()
    finally:
        stop_cluster(layout, env)
        shutil.rmtree(database_dir, ignore_errors=True)
    return {"per_node": spread, "failed": failed, "cluster_cpu_per_call_s": sum(by_part.values()),
            "cluster_cpu_by_part": by_part, "takeover_s": takeover, "caller_kept": kept,
            "failover_first_answer_s": failover, "failover_longest_wait_s": longest,
            "failover_calls": failover_calls, "failover_failed": failover_failed}


async def serving(api: Api, node: str, since: float, timeout: float = 30) -> float:
    """Seconds from `since` until the instance behind `api` serves `node` (its /status)."""
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - since < timeout:
            async with http.get(f"{api.url}/status") as r:
                if node in (await r.json()).get("nodes", []):
                    return time.monotonic() - since
            await asyncio.sleep(0.05)
    raise BenchError(f"{node} not taken over in {timeout:.0f} s")


async def on_single_node(work: Path, args: argparse.Namespace) -> dict:
    stack = Stack(work, SINGLE_IP, WEB_PORT + 2, plan_file(work), SECRETS, clock=OPEN, isolated=True)
    try:
        print("starting the single node", file=sys.stderr, flush=True)
        await stack.start()
        world, world_asterisk = await start_world(work / "single-world", stack.settings, stack.plan_path, SINGLE_IP)
        try:
            await batch(world, 4, 4, 0.5, first=9_000_000)
            before = sum(stack.cpu())
            failed = await batch(world, args.calls, args.concurrency, args.hold, first=0)
            cpu = sum(stack.cpu()) - before
        finally:
            await world.stop()
            world_asterisk.stop()
    finally:
        stack.stop()
    return {"single_failed": failed, "single_cpu_per_call_s": cpu / args.calls}


def table(r: Result) -> str:
    total = sum(r.per_node.values()) or 1
    spread = ", ".join(f"{node} {n} ({100 * n / total:.0f} %)" for node, n in r.per_node.items())
    parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in r.cluster_cpu_by_part.items())
    return f"""## Cluster: spread, takeover, failover, cost per call (`bench/bench_cluster.py`)

The world simulator's carrier places {r.calls} calls, {r.concurrency} at a time, each answered by the
IVR's greeting and menu, held {r.hold_s:.0f} s and hung up by the caller: through the Kamailio edge to two
Asterisk nodes served by two instances on PostgreSQL, then the same batch on the single-node path (one
Asterisk, one service on SQLite). CPU is every process of the path (the world simulator excluded).

| measure | value |
|---|---|
| spread over the nodes | {spread} |
| failed calls (cluster / single node) | {r.failed} / {r.single_failed} |
| CPU per call, cluster path | {r.cluster_cpu_per_call_s * 1000:.0f} ms ({parts}) |
| CPU per call, single-node path | {r.single_cpu_per_call_s * 1000:.0f} ms |
| takeover after kill -9 of node2's service (node1's instance serves node2) | {r.takeover_s:.2f} s, caller kept the call: {'yes' if r.caller_kept else 'NO'} |
| failover after kill -9 of node1's Asterisk: first new call answered | {r.failover_first_answer_s:.2f} s after the kill |
| new calls in the {FAILOVER_WINDOW:.0f} s after the kill: longest wait for the answer, failed | {r.failover_longest_wait_s:.2f} s, {r.failover_failed} of {r.failover_calls} |
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each caller stays after the answer")
    parser.add_argument("--json", type=Path, help="also write the result as JSON")
    parser.add_argument("--keep", type=Path, help="work directory to keep (logs)")
    args = parser.parse_args()

    async def bench(work: Path) -> Result:
        for part in ("cluster", "single"):
            (work / part).mkdir(exist_ok=True)
        cluster = await on_cluster(work / "cluster", args)
        single = await on_single_node(work / "single", args)
        return Result(args.calls, args.concurrency, args.hold, **cluster, **single)

    result = run_bench("bench_cluster", args.keep, bench)
    if result is None:
        return 1
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
