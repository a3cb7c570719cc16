"""What runs in the cluster: the edge, the database, each node (up, pid, calls) and each service
instance (up, pid, the nodes it serves). pid only where the process runs on this machine."""
from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import replace
import urllib.error
import urllib.request

from ivr.asterisk.process import AsteriskError
from ivr.cluster.database import database_pid
from ivr.cluster.layout import ClusterLayout
from ivr.cluster.lease import JOBS_KEY, holders, node_key
from ivr.cluster.run import edge_of, instance_pid, node_instance, node_settings
from ivr.config import Settings


def cluster_status(layout: ClusterLayout) -> dict:
    edge_pid = edge_of(layout).pid()
    db_pid = database_pid(layout.database_dir)
    leases = _leases(layout) if db_pid else {}
    return {
        "edge": {"address": layout.edge, "state": _state(edge_pid), "pid": edge_pid},
        "database": {"port": layout.database_port, "state": _state(db_pid), "pid": db_pid},
        "nodes": [_node(layout, node) for node in layout.nodes],
        "instances": [_instance(layout, instance, leases) for instance in layout.instances],
        "leases": leases,
    }


def _leases(layout: ClusterLayout) -> dict[str, str | None]:
    """Lease -> the instance holding it ("node1", ..., "jobs"), from PostgreSQL's lock table."""
    settings = replace(Settings(), database_url=layout.database_url())
    keys = {node_key(n.name): n.name for n in layout.nodes} | {JOBS_KEY: "jobs"}
    try:
        held = asyncio.run(holders(settings, list(keys)))
    except Exception:           # the database is starting or stopping: no lease is known
        return {}
    return {name: held[key] for key, name in keys.items()}


def _state(pid: int | None) -> str:
    return "up" if pid else "down"


def _node(layout: ClusterLayout, node) -> dict:
    asterisk = node_instance(layout, node, node_settings(layout, node, {}))
    pid, calls = asterisk.pid(), None
    if pid:
        try:
            calls = int(asterisk.cli("core show calls", timeout=3).split()[0])
        except (AsteriskError, subprocess.TimeoutExpired, ValueError, IndexError):
            pid = None          # a pid file whose Asterisk does not answer: not a working node
    return {"name": node.name, "state": _state(pid), "pid": pid, "calls": calls,
            "address": node.address, "ari_url": node.ari_url}


def _instance(layout: ClusterLayout, instance, leases: dict[str, str | None]) -> dict:
    """up: the process runs. `nodes`: the nodes whose calls it serves now (its own, and any it took
    over; ARI connected); `standby_for`: its own node while another holds that node's lease;
    `handing_back`: nodes it took over and is giving back to their own instance standing by;
    `leases`: what it holds."""
    pid = instance_pid(layout, instance)
    body = _service_status(instance.url) if pid else None
    nodes = list(body.get("nodes") or []) if body else []
    held = sorted(name for name, holder in leases.items() if holder == instance.name)
    waiting = bool(pid) and instance.node not in held and instance.node not in nodes
    return {"name": instance.name, "state": _state(pid), "pid": pid, "nodes": nodes,
            "standby_for": [instance.node] if waiting else [],
            "handing_back": list(body.get("handing_back") or []) if body else [], "leases": held,
            "ari_connected": bool(body and body.get("ari_connected")),
            "calls": body.get("calls_in_progress") if body else None, "url": instance.url}


def _service_status(url: str) -> dict | None:
    """The service's /status body (503 while its ARI is down), or None when it does not answer
    (a standby instance answers once it holds its lease)."""
    try:
        with urllib.request.urlopen(f"{url}/status", timeout=2) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def format_status(report: dict) -> str:
    lines = [f"edge      {report['edge']['address']:<22} {report['edge']['state']:<5} "
             f"pid {report['edge']['pid'] or '-'}",
             f"database  127.0.0.1:{report['database']['port']:<12} {report['database']['state']:<5} "
             f"pid {report['database']['pid'] or '-'}"]
    for n in report["nodes"]:
        lines.append(f"node      {n['name']:<10} {n['address']:<11} {n['state']:<5} pid {n['pid'] or '-'} "
                     f"calls {n['calls'] if n['calls'] is not None else '-'}")
    for i in report["instances"]:
        lines.append(f"instance  {i['name']:<10} {i['url']:<22} {i['state']:<5} pid {i['pid'] or '-'} "
                     + (f"serves {', '.join(i['nodes'])} " if i["nodes"] else "")
                     + (f"stands by for {', '.join(i['standby_for'])} " if i["standby_for"] else "")
                     + (f"hands back {', '.join(i['handing_back'])} " if i["handing_back"] else "")
                     + (f"holds {', '.join(i['leases'])} " if i["leases"] else "")
                     + f"calls {i['calls'] if i['calls'] is not None else '-'}")
    return "\n".join(lines)
