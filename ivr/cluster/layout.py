"""The cluster's shape (config/cluster.yaml): the Kamailio edge, the Asterisk nodes, the service
instances and the PostgreSQL server they share, each on its own loopback address or port.

Each node and each instance is an ordinary single-node configuration: `instance_env` gives the
IVR_* variables that make one service (and the Asterisk it renders) serve one node behind the edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from ivr.config import Settings
from ivr.errors import ConfigError


@dataclass(frozen=True)
class Node:
    name: str
    address: str          # SIP and ARI listen here
    ari_port: int = 8088

    @property
    def ari_url(self) -> str:
        return f"http://{self.address}:{self.ari_port}"


@dataclass(frozen=True)
class ServiceInstance:
    name: str
    node: str             # the node whose Stasis calls it serves while it holds the node's lease
    web_port: int
    web_host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"


@dataclass(frozen=True)
class ClusterLayout:
    edge_address: str
    edge_port: int
    database_port: int    # PostgreSQL on 127.0.0.1
    nodes: tuple[Node, ...]
    instances: tuple[ServiceInstance, ...]
    root: Path            # where nodes, instances and the edge keep their files
    database_dir: Path    # PostgreSQL's files: the `postgres` OS user must reach them

    @property
    def edge(self) -> str:
        return f"{self.edge_address}:{self.edge_port}"

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def database_url(self, name: str = "ivr") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.database_port}/{name}"

    def node_dir(self, node: Node) -> Path:
        return self.root / node.name

    def node_env(self, node: Node) -> dict[str, str]:
        """The settings (as IVR_* variables) that render one node's Asterisk behind the edge."""
        return {
            "IVR_ARI_URL": node.ari_url,
            "IVR_SIP_ADDRESS": node.address,
            "IVR_SIP_EDGE": self.edge,
            "IVR_NODE_NAME": node.name,
            "IVR_ASTERISK_CONFIG_DIR": str(self.node_dir(node) / "etc"),
        }

    def instance_env(self, instance: ServiceInstance) -> dict[str, str]:
        """The settings of one service instance: those of its node, plus its own."""
        return {
            **self.node_env(self.node(instance.node)),
            "IVR_DATABASE_URL": self.database_url(),
            "IVR_SHARED_STATE": "postgresql",     # queues, agents, hunts and trunk counts across nodes
            "IVR_VAR_DIR": str(self.root / instance.name),
            "IVR_INSTANCE_NAME": instance.name,
            "IVR_WEB_HOST": instance.web_host,
            "IVR_WEB_PORT": str(instance.web_port),
            "IVR_PUBLIC_URL": instance.url,
            "IVR_DEMO_MAILBOX_PORT": "0",   # one port on the machine: no instance takes it
        }


def load_layout(settings: Settings, path: Path | None = None) -> ClusterLayout:
    path = path or settings.path(settings.cluster_file)
    if not path.exists():
        raise ConfigError(f"{path}: no cluster file (setting cluster_file)")
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the cluster file must be a mapping")
    unknown = sorted(set(data) - {"edge", "database_port", "database_directory", "nodes", "instances", "directory"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(unknown)}")
    edge = _mapping(data.get("edge"), f"{where}: edge")
    nodes = tuple(Node(_text(n, "name", f"{where}: nodes[{i}]"), _text(n, "address", f"{where}: nodes[{i}]"),
                       _int(n.get("ari_port", 8088), f"{where}: nodes[{i}].ari_port"))
                  for i, n in enumerate(_list(data.get("nodes"), f"{where}: nodes")))
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: nodes: names must be unique, got {names}")
    instances = []
    for i, raw in enumerate(_list(data.get("instances"), f"{where}: instances")):
        at = f"{where}: instances[{i}]"
        instance = ServiceInstance(_text(raw, "name", at), _text(raw, "node", at),
                                   _int(raw.get("web_port"), f"{at}.web_port"),
                                   _text(raw, "web_host", at) if "web_host" in raw else "127.0.0.1")
        if instance.node not in names:
            raise ConfigError(f"{at}.node: {instance.node!r} is not a node ({', '.join(names)})")
        instances.append(instance)
    root = settings.path(str(data.get("directory") or "var/cluster"))
    return ClusterLayout(
        edge_address=_text(edge, "address", f"{where}: edge"),
        edge_port=_int(edge.get("port", 5060), f"{where}: edge.port"),
        database_port=_int(data.get("database_port"), f"{where}: database_port"),
        nodes=nodes, instances=tuple(instances),
        root=root,
        database_dir=settings.path(str(data["database_directory"])) if data.get("database_directory")
        else root / "postgres",
    )


def _mapping(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping")
    return value


def _list(value: object, where: str) -> list[dict]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: expected a non-empty list of mappings")
    return value


def _text(mapping: dict, key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    return value
