"""`ivr doctor`: what is wrong with an installation, in plain words. Each check names what it looked
at and what to do; one failing check never stops the others."""
from __future__ import annotations

import asyncio
import ipaddress
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from ivr.asterisk.render import nat_settings, pbx_instance
from ivr.config import Settings
from ivr.errors import IvrError
from ivr.notify.config import load_notify_config
from ivr.plan.loader import load_plan
from ivr.plan.model import Plan
from ivr.routing.trunk_status import check as check_trunks
from ivr.store.db import open_database

MIN_FREE_BYTES = 1 << 30


@dataclass(frozen=True)
class Finding:
    ok: bool
    topic: str
    text: str

    def line(self) -> str:
        return f"{'ok     ' if self.ok else 'PROBLEM'} {self.topic}: {self.text}"


class Doctor:
    def __init__(self, settings: Settings):
        self.s = settings
        self.found: list[Finding] = []
        self.plan: Plan | None = None

    def note(self, ok: bool, topic: str, text: str) -> None:
        self.found.append(Finding(ok, topic, text))

    def run(self) -> list[Finding]:
        for check in (self.plan_file, self.addresses, self.nat, self.asterisk, self.web, self.database,
                      self.mail, self.disk, self.clock):
            try:
                check()
            except (IvrError, OSError, subprocess.SubprocessError) as e:
                self.note(False, check.__name__.replace("_", " "), getattr(e, "message", None) or str(e))
        return self.found

    def plan_file(self) -> None:
        self.plan = load_plan(self.s.path(self.s.plan_file), secrets_path=self.s.path(self.s.secrets_file))
        self.note(True, "plan", f"{self.s.plan_file}: {len(self.plan.staff)} phones, {len(self.plan.trunks)} trunks")

    def addresses(self) -> None:
        address = ipaddress.ip_address(self.s.sip_address)
        with socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((self.s.sip_address, 0))
            except OSError:
                self.note(False, "address", f"sip_address {address} is not an address of this machine")
                return
        if address.is_loopback:
            self.note(False, "address", f"sip_address {address} is a loopback address: phones and gateways on the "
                                        "office network cannot reach it; set the server's office address")
        else:
            self.note(True, "address", f"phones reach the PBX at {address}:{self.s.sip_port}")

    def nat(self) -> None:
        nat = nat_settings(self.s)
        address = ipaddress.ip_address(self.s.sip_address)
        outside = self.plan is not None and any(t.sip.register for t in self.plan.trunks.values())
        if nat.public_address and not nat.local_networks:
            self.note(False, "NAT", "public_address is set but local_networks is empty: office phones would "
                                    "be sent the public address too")
        elif address.is_private and not address.is_loopback and not nat.public_address and (outside or nat.tls_port):
            self.note(False, "NAT", f"the PBX has a private address ({address}) and talks to carriers or remote "
                                    "phones: set public_address and local_networks (docs/trunks.md)")
        else:
            self.note(True, "NAT", f"public address {nat.public_address}, local networks "
                                   f"{', '.join(nat.local_networks)}" if nat.public_address else "no NAT settings needed")

    def asterisk(self) -> None:
        instance = pbx_instance(self.s)
        if not instance.running():
            self.note(False, "asterisk", "Asterisk is not running (`ivr asterisk start`, or "
                                         "`systemctl start ivr-pbx-asterisk`): no phone can call")
            return
        transports = instance.cli("pjsip show transports")
        where = f"{self.s.sip_address}:{self.s.sip_port}"
        self.note(where in transports, "ports", f"SIP listens on {where}" if where in transports else
                  f"Asterisk does not listen on {where}: another program holds the port, or the address is wrong")
        if self.plan is None:
            return
        for state in check_trunks(instance, self.plan):
            if state.kind == "peer":
                self.note(True, f"trunk {state.name}", "known by address (no registration)")
            elif state.ok:
                self.note(True, f"trunk {state.name}", "registered")
            else:
                whose = "the carrier refuses our registration" if state.kind == "register" else \
                    "the gateway has not registered to the PBX"
                self.note(False, f"trunk {state.name}", f"not registered ({state.registration}): {whose}; check "
                                                        "the login in the secrets file and the address")
        contacts = instance.cli("pjsip show contacts")
        for ext, staff in sorted(self.plan.staff.items()):
            registered = f"Contact:  {ext}/" in contacts
            self.note(registered, f"phone {ext}", "registered" if registered else
                      f"{staff.name} is not registered: check the phone's server, user {ext} and password")

    def web(self) -> None:
        host = self.s.web_host if self.s.web_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        url = f"http://{host}:{self.s.web_port}/status"
        try:
            with urllib.request.urlopen(url, timeout=3):
                self.note(True, "service", f"answers at {url}")
        except urllib.error.HTTPError as e:
            self.note(False, "service", f"answers {e.code} at {url}: not connected to Asterisk's ARI")
        except OSError:
            self.note(False, "service", f"nothing answers at {url}: the service is not running "
                                        "(`systemctl status ivr-pbx`, `journalctl -u ivr-pbx`)")

    def database(self) -> None:
        async def probe() -> str:
            db = await open_database(self.s.database_url, self.s)
            try:
                return db.url
            finally:
                await db.close()
        self.note(True, "database", f"{asyncio.run(probe())} opens and is up to date")

    def mail(self) -> None:
        config = load_notify_config(self.s)
        if config.mail is None:
            self.note(False, "mail", "no mail server in notifications.yaml: missed-call mails and trunk alerts "
                                     "are not sent")
            return
        try:
            socket.create_connection((config.mail.host, config.mail.port), timeout=3).close()
        except OSError as e:
            self.note(False, "mail", f"the mail server {config.mail.host}:{config.mail.port} does not answer ({e})")
            return
        alerts = f"; alerts go to {', '.join(config.alerts)}" if config.alerts else \
            "; no alerts: addresses, so nobody hears of a failing trunk"
        self.note(bool(config.alerts), "mail", f"server {config.mail.host}:{config.mail.port} answers{alerts}")

    def disk(self) -> None:
        var = self.s.var
        var.mkdir(parents=True, exist_ok=True)
        usage = shutil.disk_usage(var)
        free = usage.free / usage.total if usage.total else 0
        ok = usage.free >= MIN_FREE_BYTES and free >= 0.05
        self.note(ok, "disk", f"{usage.free / (1 << 30):.1f} GiB free ({free:.0%}) where {var} is"
                  + ("" if ok else ": recordings and the database will fail when it is full"))

    def clock(self) -> None:
        if self.s.clock:
            self.note(False, "clock", f"the clock is fixed at {self.s.clock} (setting clock / IVR_CLOCK): "
                                      "for tests and demos only; schedules and reports use it")
            return
        synced = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if synced == "no":
            self.note(False, "clock", "the system clock is not synchronised (NTP): schedules, call times and "
                                      "digest mails drift; `timedatectl set-ntp true`")
        else:
            self.note(True, "clock", "synchronised" if synced == "yes" else "real time (NTP state unknown here)")


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def diagnose(settings: Settings, say: Callable[[str], None] = print) -> int:
    found = Doctor(settings).run()
    for finding in found:
        say(finding.line())
    problems = sum(1 for f in found if not f.ok)
    say(f"{problems} problem(s)" if problems else "no problems found")
    return 1 if problems else 0
