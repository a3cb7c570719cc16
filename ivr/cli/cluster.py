"""`ivr cluster ...`: start, stop and inspect the cluster of config/cluster.yaml (setting cluster_file)."""
from __future__ import annotations

import argparse
import asyncio
import json

from ivr.cluster.layout import load_layout
from ivr.cluster.run import start_cluster, stop_cluster
from ivr.cluster.status import cluster_status, format_status
from ivr.config import Settings
from ivr.i18n import _


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cluster", help="Kamailio edge, Asterisk nodes and service instances")
    actions = parser.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    actions.add_parser("start", help="start PostgreSQL, the edge, the nodes and the services").set_defaults(
        handler=start_command)
    actions.add_parser("stop", help="stop everything `ivr cluster start` started").set_defaults(
        handler=stop_command)
    status = actions.add_parser("status", help="nodes, instances and calls per node")
    status.add_argument("--json", action="store_true", help="machine-readable")
    status.set_defaults(handler=status_command)


def start_command(args: argparse.Namespace, settings: Settings) -> int:
    layout = load_layout(settings)
    asyncio.run(start_cluster(layout))
    print(format_status(cluster_status(layout)))
    print(_("phones register at sip:EXTENSION@%(edge)s (password from the plan's secrets); carriers send calls "
            "to %(edge)s", edge=layout.edge))
    first = layout.instances[0]
    print(_("console: %(url)s (a new database's admin password: %(file)s)", url=first.url,
            file=layout.root / first.name / "admin-password"))
    return 0


def stop_command(args: argparse.Namespace, settings: Settings) -> int:
    stop_cluster(load_layout(settings))
    print(_("cluster stopped"))
    return 0


def status_command(args: argparse.Namespace, settings: Settings) -> int:
    report = cluster_status(load_layout(settings))
    print(json.dumps(report, indent=2) if args.json else format_status(report))
    return 0
