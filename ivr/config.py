"""Settings: config/settings.yaml, each key overridable by an IVR_<NAME> environment variable.

Relative paths in settings are taken from the project root, so every command works from any directory.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

from ruamel.yaml import YAML

from ivr.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///var/ivr.db"
    plan_file: str = "config/plan.yaml"
    secrets_file: str = "config/secrets.yaml"
    var_dir: str = "var"
    sounds_dir: str = "sounds"
    # ARI of the PBX Asterisk
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "ivr"
    ari_password: str = "ivr-secret"
    ari_app: str = "ivr"
    # "bundled": the Asterisk of the root filesystem the Makefile builds; "system": an installed one
    asterisk_mode: str = "bundled"
    asterisk_rootfs: str = "/var/cache/ivr-pbx/rootfs"
    asterisk_config_dir: str = "var/asterisk/pbx/etc"   # where rendered configuration is written
    asterisk_data_dir: str = ""      # core sounds, music on hold; empty: derived from asterisk_mode
    sip_address: str = "127.0.0.1"
    sip_port: int = 5060
    # In a cluster: the Kamailio edge (address:port) phones register with and this node reaches
    # them through; trunk calls arrive from it. Empty: phones and carriers talk to this Asterisk.
    sip_edge: str = ""
    node_name: str = ""      # in a cluster: this node's name, prefixed to its channel ids
    cluster_file: str = "config/cluster.yaml"   # nodes and instances of `make cluster`
    agi_path: str = "agi_scripts"
    fastagi_port: int = 4573
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    # A local catch-all SMTP server for demos (0 = none); the console lists what it received.
    demo_mailbox_port: int = 0
    # A fixed wall clock (ISO 8601 with offset) for tests and demos; empty means the real clock.
    clock: str = ""
    log_level: str = "INFO"
    log_format: str = "text"   # text | json

    def path(self, value: str) -> Path:
        """A settings path made absolute against the project root."""
        p = Path(value)
        return p if p.is_absolute() else ROOT / p

    @property
    def data_dir(self) -> Path:
        """Asterisk's data directory (sounds/, moh/) as seen from this host."""
        if self.asterisk_data_dir:
            return self.path(self.asterisk_data_dir)
        if self.asterisk_mode == "bundled":
            return Path(self.asterisk_rootfs) / "usr/share/asterisk"
        return Path("/usr/share/asterisk")

    @property
    def var(self) -> Path:
        return self.path(self.var_dir)

    def fixed_now(self) -> datetime | None:
        if not self.clock:
            return None
        try:
            now = datetime.fromisoformat(self.clock)
        except ValueError:
            raise ConfigError(f"IVR_CLOCK / clock: {self.clock!r} is not an ISO 8601 time") from None
        if now.tzinfo is None:
            raise ConfigError(f"clock: {self.clock!r} needs a UTC offset, e.g. 2026-11-23T10:00:00+03:00")
        return now


def _coerce(name: str, raw: object, kind: type) -> object:
    if kind is int:
        try:
            return int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name}: {raw!r} is not a whole number") from None
    return "" if raw is None else str(raw)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = Path(path or env.get("IVR_SETTINGS") or ROOT / "config" / "settings.yaml")
    values: dict[str, object] = {}
    if path.exists():
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: settings must be a mapping of name: value")
        values.update(data)
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    for name in known:
        env_name = "IVR_" + name.upper()
        if env_name in env:
            values[name] = env[env_name]
    kinds = {f.name: type(f.default) for f in known.values()}
    return dataclasses.replace(Settings(), **{k: _coerce(k, v, kinds[k]) for k, v in values.items()})
