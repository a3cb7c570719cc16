"""Render Asterisk configuration for the PBX (from settings + plan) and for the world simulator.

Templates live in dialplan/: common/ for both instances, pbx/ and world/ for each. A file is
rewritten only when its content changed, through a temporary file, so Asterisk never reads half a file.
"""
from __future__ import annotations

import ipaddress
import os
import re
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import jinja2

from ivr.asterisk.process import Instance
from ivr.config import ROOT, Settings
from ivr.security.local import AGI_TOKEN, local_url, token_path
from ivr.errors import ConfigError
from ivr.plan.model import Plan, Trunk

TEMPLATES = ROOT / "dialplan"
AGI_SCRIPTS = ROOT / "agi_scripts"
# Asterisk runs AGI scripts with its own environment, which has no virtualenv: each script gets a
# small wrapper in the instance that runs it with the project's Python, the service's address and
# the file holding its API token (role system; the service writes it at start).
AGI_WRAPPER = """#!/bin/sh
# Rendered by ivr: run {script} with the project's Python; the service answers at {url}.
IVR_ROUTE_URL={url} IVR_TOKEN_FILE={token_file} exec {python} -E -s {script} "$@"
"""
OUTBOUND_RING_SECONDS = 120


@dataclass(frozen=True)
class Carrier:
    """A carrier's network (or a gateway) as the world plays it, from the PBX's trunk."""

    name: str
    ip: str
    codecs: str = "alaw,ulaw"
    registrar: bool = False        # accepts calls only from a PBX registered with the trunk's login
    gateway: bool = False          # registers to the PBX with the trunk's login
    username: str = ""
    password: str = ""

    @classmethod
    def of(cls, trunk: Trunk, ip: str) -> Carrier:
        return cls(trunk.name, ip, ",".join(trunk.sip.codecs), trunk.sip.register, trunk.sip.client,
                   trunk.username, trunk.password)


@dataclass(frozen=True)
class WorldLayout:
    """Addresses of the simulated outside world."""

    address: str                      # phones register from here
    http_port: int
    pbx_address: str
    pbx_port: int
    ari_user: str = "world"
    ari_password: str = "world-secret"
    app: str = "world"

    @property
    def ari_url(self) -> str:
        return f"http://{self.address}:{self.http_port}"


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def _render(instance: Instance, groups: list[str], context: dict, skip: set[str] = frozenset()) -> list[Path]:
    env = _env()
    changed = []
    for group in groups:
        for template in sorted((TEMPLATES / group).glob("*.j2")):
            name = template.name[:-3]
            if name in skip:
                continue
            text = env.get_template(f"{group}/{template.name}").render(**context)
            if _write_if_changed(instance.etc / name, text):
                changed.append(instance.etc / name)
    return changed


def _host_ip(host: str) -> str:
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _common_context(settings: Settings, instance: Instance, http_address: str, http_port: int,
                    ari_user: str, ari_password: str, language: str, country: str) -> dict:
    rootfs = instance.rootfs
    return {
        "instance": instance,
        "modules_dir": (rootfs / "usr/lib/x86_64-linux-gnu/asterisk/modules") if rootfs
        else "/usr/lib/x86_64-linux-gnu/asterisk/modules",
        "sbin_dir": (rootfs / "usr/sbin") if rootfs else "/usr/sbin",
        "data_dir": settings.data_dir,
        "agi_dir": settings.path(settings.agi_path),
        "http_address": http_address,
        "http_port": http_port,
        "ari_user": ari_user,
        "ari_password": ari_password,
        "language": language,
        "country": country.lower(),
        "rtp_start": 10000,
        "rtp_end": 20000,
    }


def pbx_instance(settings: Settings) -> Instance:
    bundled = settings.asterisk_mode == "bundled"
    return Instance("pbx", settings.path(settings.asterisk_config_dir).parent,
                    Path(settings.asterisk_rootfs) if bundled else None)


def render_pbx(settings: Settings, plan: Plan, instance: Instance | None = None) -> list[Path]:
    instance = instance or pbx_instance(settings)
    ari = urlparse(settings.ari_url)
    context = _common_context(settings, instance, ari.hostname or "127.0.0.1", ari.port or 8088,
                              settings.ari_user, settings.ari_password, plan.language, plan.country)
    extensions = sorted(plan.staff)
    context["agi_dir"] = _render_agi(settings, instance)
    # cdr_csv writes into log/cdr-csv but never makes it (packages do).
    (instance.root / "log" / "cdr-csv").mkdir(parents=True, exist_ok=True)
    context.update(
        plan_source=plan.source or "plan",
        app=settings.ari_app,
        sip_address=settings.sip_address,
        sip_port=settings.sip_port,
        nat=nat_settings(settings),
        sip_edge=settings.sip_edge,
        system_name=settings.node_name,
        staff=[plan.staff[e] for e in extensions],
        trunks=[pjsip_trunk(t) for t in plan.trunks.values()],
        outbound_ring_seconds=OUTBOUND_RING_SECONDS,
        fallback_dial="&".join(f"PJSIP/{e}" for e in plan.fallback) or "PJSIP/none",
        fallback_seconds=60,
        extension_pattern=_extension_pattern(extensions),
        voicemail_ring_seconds=round(plan.voicemail_ring_seconds),
    )
    # A system-installed Asterisk keeps its own directories and module list.
    skip = set() if instance.rootfs else {"asterisk.conf", "modules.conf"}
    return _render(instance, ["common", "pbx"], context, skip)


# Where a trunk's dialplan finds the company number called (did_from).
DID_EXPRESSIONS = {
    "request": "${EXTEN}",
    "to": "${CUT(CUT(PJSIP_HEADER(read,To),@,1),:,2)}",     # <sip:NUMBER@host> -> NUMBER
    "header": "${PJSIP_HEADER(read,%s)}",
}


def pjsip_trunk(trunk: Trunk) -> dict:
    """What pjsip.conf and extensions.conf need of one trunk."""
    sip = trunk.sip
    did = DID_EXPRESSIONS[sip.did_from]
    # Asterisk resolves a name in `match` with the system's resolver, once, at load: the carrier's
    # published addresses (sip.match) are the dependable way to know its calls.
    match = ",".join(sip.match) or _host_ip(trunk.host)
    return {"name": trunk.name, "host": trunk.host, "match": match,
            "username": trunk.username or trunk.name, "password": trunk.password, "sip": sip,
            "context": "from-trunk" if sip.did_from == "request" else f"from-trunk-{trunk.name}",
            "did": did % sip.did_header if sip.did_from == "header" else did}


@dataclass(frozen=True)
class Nat:
    public_address: str
    local_networks: tuple[str, ...]
    qualify_seconds: int
    tls_port: int
    tls_cert_file: str
    tls_key_file: str
    srtp: str


def nat_settings(settings: Settings) -> Nat:
    """The NAT and remote-phone settings, checked: a mistake is named by its setting."""
    networks = []
    for raw in filter(None, (n.strip() for n in settings.local_networks.split(","))):
        try:
            networks.append(str(ipaddress.ip_network(raw, strict=False)))
        except ValueError:
            raise ConfigError(f"setting local_networks: {raw!r} is not a network like 192.168.1.0/24") from None
    if settings.public_address and not re.fullmatch(r"[A-Za-z0-9.:-]+", settings.public_address):
        raise ConfigError(f"setting public_address: {settings.public_address!r} is not an address or name")
    if settings.srtp not in ("", "optional", "required"):
        raise ConfigError(f"setting srtp: {settings.srtp!r} is not one of '', optional, required")
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if settings.tls_port:
        for name, value in (("tls_cert_file", cert), ("tls_key_file", key)):
            if not value or not settings.path(value).is_file():
                raise ConfigError(f"setting {name}: {value!r} is not a file (tls_port is set)")
        cert, key = str(settings.path(cert)), str(settings.path(key))
    return Nat(settings.public_address, tuple(networks), settings.qualify_seconds, settings.tls_port,
               cert, key, settings.srtp)


def _service_url(settings: Settings) -> str:
    host = settings.web_host if settings.web_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{settings.web_port}"


def _render_agi(settings: Settings, instance: Instance) -> Path:
    """Wrappers for agi_scripts/*.py in <instance>/agi (Asterisk's astagidir); returns that directory."""
    agi_dir = instance.root / "agi"
    for script in sorted(AGI_SCRIPTS.glob("*.py")):
        text = AGI_WRAPPER.format(script=shlex.quote(str(script)), python=shlex.quote(sys.executable),
                                  url=shlex.quote(local_url(settings)),
                                  token_file=shlex.quote(str(token_path(settings, AGI_TOKEN))))
        wrapper = agi_dir / script.stem
        _write_if_changed(wrapper, text)
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return agi_dir


def render_world(settings: Settings, plan: Plan, layout: WorldLayout, instance: Instance) -> list[Path]:
    context = _common_context(settings, instance, layout.address, layout.http_port,
                              layout.ari_user, layout.ari_password, "en", plan.country)
    context.update(
        app=layout.app,
        world_address=layout.address,
        sip_port=5060,
        pbx_address=layout.pbx_address,
        pbx_port=layout.pbx_port,
        staff=[plan.staff[e] for e in sorted(plan.staff)],
        carriers=[Carrier.of(t, _host_ip(t.host)) for t in plan.trunks.values()],
    )
    return _render(instance, ["common", "world"], context)


def _extension_pattern(extensions: list[str]) -> str:
    """A dialplan pattern matching staff extensions, e.g. 1XX for 101..199."""
    if not extensions:
        return "1XX"
    width = max(len(e) for e in extensions)
    first = {e[0] for e in extensions}
    lead = first.pop() if len(first) == 1 else "X"
    if not re.fullmatch(r"\d", lead):
        lead = "X"
    return lead + "X" * (width - 1)
