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
    # Behind the office router's NAT: the public address carriers and remote phones reach, and the
    # networks (comma-separated, e.g. "192.168.1.0/24,10.8.0.0/16") that need no translation.
    public_address: str = ""
    local_networks: str = ""
    qualify_seconds: int = 0        # OPTIONS keepalives to phones, 0 = none (30 behind NAT)
    # Phones outside the office: SIP over TLS on this port (0 = off) with these files, and SRTP
    # ("" = off, "optional" = when the phone offers it, "required").
    tls_port: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    srtp: str = ""
    # In a cluster: the Kamailio edge (address:port) phones register with and this node reaches
    # them through; trunk calls arrive from it. Empty: phones and carriers talk to this Asterisk.
    sip_edge: str = ""
    node_name: str = ""      # in a cluster: this node's name, prefixed to its channel ids
    cluster_file: str = "config/cluster.yaml"   # nodes and instances of `make cluster`
    # In a cluster: a node whose ARI stays unreachable this long is dead, its calls recorded as lost.
    node_lost_seconds: int = 10
    instance_name: str = ""  # in a cluster: this service instance's name (who holds which lease)
    # In a cluster: a node taken over goes back to its own instance standing by again once the
    # taker's calls there have ended, and at the latest after this long (calls left in Stasis).
    hand_back_seconds: int = 60
    # Queue lines, agent states, hunt memory and trunk channel counts: "process" (one instance) or
    # "postgresql" (shared by the instances of a cluster; database_url must be PostgreSQL).
    shared_state: str = "process"
    agi_path: str = "agi_scripts"
    # SIP brute force: this many failed authentications from one address within the window
    # (seconds) block it for sip_block_seconds (doubled each time it is blocked again).
    sip_block_failures: int = 5
    sip_block_window: int = 300
    sip_block_seconds: int = 900
    # Addresses and networks (comma-separated, e.g. "192.168.1.0/24") never blocked: an office's
    # phones behind one NAT address would all be cut off by one phone with a stale account.
    sip_trusted: str = ""
    fastagi_port: int = 4573
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    public_url: str = "http://127.0.0.1:8080"     # https: makes the session cookie Secure
    # TLS of the console itself: PEM certificate (chain) and key; both empty = plain HTTP (e.g. behind
    # a reverse proxy that terminates TLS). With TLS on, the AGI script and `ivr` commands on this
    # machine reach the API over plain HTTP on 127.0.0.1:internal_port instead.
    tls_cert: str = ""
    tls_key: str = ""
    internal_port: int = 8081
    # Reverse proxies (comma-separated addresses) whose X-Forwarded-For names the client: log-in
    # throttling and the audit log then see the user's address, not the proxy's.
    trusted_proxies: str = ""
    # A local catch-all SMTP server for demos (0 = none); the console lists what it received.
    demo_mailbox_port: int = 0
    # A fixed wall clock (ISO 8601 with offset) for tests and demos; empty means the real clock.
    clock: str = ""
    trunk_check_seconds: int = 30   # how often the service checks trunk registrations (ivr trunks)
    # Call recordings (plan `record:`): the directory (empty: <var_dir>/recordings) and the free-space
    # floor below which no new recording starts (and an alert is mailed); calls are never refused.
    recordings_dir: str = ""
    recording_min_free_mb: int = 500
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

    @property
    def recordings(self) -> Path:
        return self.path(self.recordings_dir) if self.recordings_dir else self.var / "recordings"

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


def settings_path(env: dict[str, str] | None = None) -> Path:
    """The settings file: $IVR_SETTINGS, else config/settings.yaml."""
    env = os.environ if env is None else env
    return Path(env.get("IVR_SETTINGS") or ROOT / "config" / "settings.yaml")


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = Path(path or settings_path(env))
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
