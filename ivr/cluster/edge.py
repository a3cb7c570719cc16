"""The Kamailio SIP edge: its configuration rendered from the plan and the cluster file (like the
Asterisk nodes' configuration), and its process.

Carriers are identified by address (the plan's trunk hosts), phones authenticate with the plan's
passwords and register in usrloc, calls go to the nodes through the dispatcher, which probes them.
"""
from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ivr.asterisk.process import read_pid, terminate
from ivr.asterisk.render import _env, _host_ip, _write_if_changed
from ivr.cluster.layout import ClusterLayout
from ivr.errors import IvrError
from ivr.plan.model import Plan

MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
KAMAILIO = "/usr/sbin/kamailio"
INSTALL_HINT = "install Debian's Kamailio: apt-get install -y kamailio kamailio-postgres-modules"
# Probing cadence and INVITE timeout: together they bound how long a dead node is tried.
PING_SECONDS = 1
FAILOVER_MS = 1500


class EdgeError(IvrError):
    error_id = "edge-error"


@dataclass(frozen=True)
class Edge:
    """Where the edge keeps its files: root/kamailio.cfg, root/dispatcher.list, root/edge.pid."""

    root: Path
    address: str
    port: int

    @property
    def config(self) -> Path:
        return self.root / "kamailio.cfg"

    @property
    def dispatcher_list(self) -> Path:
        return self.root / "dispatcher.list"

    @property
    def pidfile(self) -> Path:
        return self.root / "edge.pid"

    @property
    def logfile(self) -> Path:
        return self.root / "edge.log"

    def pid(self) -> int | None:
        return read_pid(self.pidfile)

    def check(self) -> None:
        """Kamailio's own parse of the rendered configuration."""
        if not Path(KAMAILIO).exists():
            raise EdgeError(f"{KAMAILIO} not found; {INSTALL_HINT}")
        proc = subprocess.run([KAMAILIO, "-c", "-f", str(self.config)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise EdgeError(f"{self.config}: Kamailio refuses it:\n{proc.stderr[-2000:]}")

    def start(self, timeout: float = 10.0) -> int:
        if (pid := self.pid()) is not None:
            return pid
        self.check()
        self.pidfile.unlink(missing_ok=True)    # Kamailio refuses to start over a stale one
        run = self.root / "run"
        run.mkdir(parents=True, exist_ok=True)
        log = open(self.logfile, "ab")
        # -DD: the main process stays in the foreground (ours to stop), -E: log to stderr (the log file)
        proc = subprocess.Popen([KAMAILIO, "-f", str(self.config), "-P", str(self.pidfile), "-Y", str(run),
                                 "-DD", "-E"], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EdgeError(f"kamailio exited with {proc.returncode}; see {self.logfile}")
            if self._listening():
                return proc.pid
            time.sleep(0.1)
        self.stop()
        raise EdgeError(f"kamailio did not listen on {self.address}:{self.port} in {timeout:.0f} s; "
                        f"see {self.logfile}")

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((self.address, self.port))
            except OSError:
                return True
        return False

    def stop(self, timeout: float = 10.0) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, timeout)
        self.pidfile.unlink(missing_ok=True)


def render_edge(plan: Plan, layout: ClusterLayout, db_url: str = "") -> Edge:
    """Write the edge's kamailio.cfg and dispatcher.list; `db_url` (postgres://...) keeps phone
    locations in PostgreSQL, empty keeps them in memory."""
    edge = Edge(layout.root / "edge", layout.edge_address, layout.edge_port)
    env = _env()
    context = {
        "plan_source": plan.source or "plan",
        "edge_address": layout.edge_address,
        "edge_port": layout.edge_port,
        "modules_dir": MODULES_DIR,
        "db_url": db_url,
        "dispatcher_list": edge.dispatcher_list,
        "ping_seconds": PING_SECONDS,
        "failover_ms": FAILOVER_MS,
        "trunks": [{"name": t.name, "ip": _host_ip(t.host)} for t in plan.trunks.values()],
        "staff": [plan.staff[e] for e in sorted(plan.staff)],
    }
    _write_if_changed(edge.config, env.get_template("edge/kamailio.cfg.j2").render(**context))
    edge.config.chmod(0o600)     # it holds the phones' passwords
    nodes = "".join(f"1 sip:{n.address}:5060 0 0 duid={n.name}\n" for n in layout.nodes)
    _write_if_changed(edge.dispatcher_list, "# set destination flags priority attributes\n" + nodes)
    return edge

