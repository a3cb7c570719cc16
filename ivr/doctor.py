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

from ivr import i18n
from ivr.asterisk.render import nat_settings, pbx_instance
from ivr.config import Settings
from ivr.errors import IvrError
from ivr.i18n import _, lazy, ngettext
from ivr.notify.config import load_notify_config
from ivr.plan.loader import load_plan
from ivr.plan.model import Plan
from ivr.routing.trunk_status import check as check_trunks
from ivr.store.db import open_database

MIN_FREE_BYTES = 1 << 30
# What a check looked at, named when the check itself fails.
TOPICS = {"plan_file": lazy("plan"), "addresses": lazy("address"), "nat": "NAT", "asterisk": "asterisk",
          "web": lazy("service"), "database": lazy("database"), "mail": lazy("mail"), "disk": lazy("disk"),
          "clock": lazy("clock")}


@dataclass(frozen=True)
class Finding:
    ok: bool
    topic: str
    text: str

    def line(self) -> str:
        mark = _("ok") if self.ok else _("PROBLEM")
        return f"{mark:7} {self.topic}: {self.text}"


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
                self.note(False, _(TOPICS[check.__name__]), getattr(e, "message", None) or str(e))
        return self.found

    def plan_file(self) -> None:
        self.plan = load_plan(self.s.path(self.s.plan_file), secrets_path=self.s.path(self.s.secrets_file))
        self.note(True, _("plan"), _("%(file)s: %(phones)s phones, %(trunks)s trunks", file=self.s.plan_file,
                                     phones=len(self.plan.staff), trunks=len(self.plan.trunks)))

    def addresses(self) -> None:
        address = ipaddress.ip_address(self.s.sip_address)
        with socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((self.s.sip_address, 0))
            except OSError:
                self.note(False, _("address"), _("sip_address %(address)s is not an address of this machine",
                                                  address=address))
                return
        if address.is_loopback:
            self.note(False, _("address"), _("sip_address %(address)s is a loopback address: phones and gateways "
                                             "on the office network cannot reach it; set the server's office address",
                                             address=address))
        else:
            self.note(True, _("address"), _("phones reach the PBX at %(address)s:%(port)s", address=address,
                                            port=self.s.sip_port))

    def nat(self) -> None:
        nat = nat_settings(self.s)
        address = ipaddress.ip_address(self.s.sip_address)
        outside = self.plan is not None and any(t.sip.register for t in self.plan.trunks.values())
        if nat.public_address and not nat.local_networks:
            self.note(False, "NAT", _("public_address is set but local_networks is empty: office phones would "
                                      "be sent the public address too"))
        elif address.is_private and not address.is_loopback and not nat.public_address and (outside or nat.tls_port):
            self.note(False, "NAT", _("the PBX has a private address (%(address)s) and talks to carriers or remote "
                                      "phones: set public_address and local_networks (docs/trunks.md)",
                                      address=address))
        else:
            self.note(True, "NAT", _("public address %(address)s, local networks %(networks)s",
                                     address=nat.public_address, networks=", ".join(nat.local_networks))
                      if nat.public_address else _("no NAT settings needed"))

    def asterisk(self) -> None:
        instance = pbx_instance(self.s)
        if not instance.running():
            self.note(False, "asterisk", _("Asterisk is not running (`ivr asterisk start`, or "
                                           "`systemctl start ivr-pbx-asterisk`): no phone can call"))
            return
        transports = instance.cli("pjsip show transports")
        where = f"{self.s.sip_address}:{self.s.sip_port}"
        self.note(where in transports, _("ports"), _("SIP listens on %(where)s", where=where) if where in transports
                  else _("Asterisk does not listen on %(where)s: another program holds the port, or the address "
                         "is wrong", where=where))
        if self.plan is None:
            return
        for state in check_trunks(instance, self.plan):
            topic = _("trunk %(name)s", name=state.name)
            if state.kind == "peer":
                self.note(True, topic, _("known by address (no registration)"))
            elif state.ok:
                self.note(True, topic, _("registered"))
            else:
                whose = _("the carrier refuses our registration") if state.kind == "register" else \
                    _("the gateway has not registered to the PBX")
                self.note(False, topic, _("not registered (%(state)s): %(whose)s; check the login in the secrets "
                                          "file and the address", state=state.registration, whose=whose))
        contacts = instance.cli("pjsip show contacts")
        for ext, staff in sorted(self.plan.staff.items()):
            registered = f"Contact:  {ext}/" in contacts
            self.note(registered, _("phone %(ext)s", ext=ext), _("registered") if registered else
                      _("%(name)s is not registered: check the phone's server, user %(ext)s and password",
                        name=staff.name, ext=ext))

    def web(self) -> None:
        host = self.s.web_host if self.s.web_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        url = f"http://{host}:{self.s.web_port}/status"
        try:
            with urllib.request.urlopen(url, timeout=3):
                self.note(True, _("service"), _("answers at %(url)s", url=url))
        except urllib.error.HTTPError as e:
            self.note(False, _("service"), _("answers %(code)s at %(url)s: not connected to Asterisk's ARI",
                                             code=e.code, url=url))
        except OSError:
            self.note(False, _("service"), _("nothing answers at %(url)s: the service is not running "
                                             "(`systemctl status ivr-pbx`, `journalctl -u ivr-pbx`)", url=url))

    def database(self) -> None:
        async def probe() -> str:
            db = await open_database(self.s.database_url, self.s)
            try:
                return db.url
            finally:
                await db.close()
        self.note(True, _("database"), _("%(url)s opens and is up to date", url=asyncio.run(probe())))

    def mail(self) -> None:
        config = load_notify_config(self.s)
        if config.mail is None:
            self.note(False, _("mail"), _("no mail server in notifications.yaml: missed-call mails and trunk "
                                          "alerts are not sent"))
            return
        try:
            socket.create_connection((config.mail.host, config.mail.port), timeout=3).close()
        except OSError as e:
            self.note(False, _("mail"), _("the mail server %(host)s:%(port)s does not answer (%(error)s)",
                                          host=config.mail.host, port=config.mail.port, error=e))
            return
        alerts = _("; alerts go to %(to)s", to=", ".join(config.alerts)) if config.alerts else \
            _("; no alerts: addresses, so nobody hears of a failing trunk")
        self.note(bool(config.alerts), _("mail"), _("server %(host)s:%(port)s answers", host=config.mail.host,
                                                    port=config.mail.port) + alerts)

    def disk(self) -> None:
        var = self.s.var
        var.mkdir(parents=True, exist_ok=True)
        usage = shutil.disk_usage(var)
        free = usage.free / usage.total if usage.total else 0
        ok = usage.free >= MIN_FREE_BYTES and free >= 0.05
        self.note(ok, _("disk"), _("%(gib)s GiB free (%(share)s) where %(var)s is",
                                   gib=i18n.number(usage.free / (1 << 30), 1), share=i18n.percent(free), var=var)
                  + ("" if ok else _(": recordings and the database will fail when it is full")))

    def clock(self) -> None:
        if self.s.clock:
            self.note(False, _("clock"), _("the clock is fixed at %(at)s (setting clock / IVR_CLOCK): for tests "
                                           "and demos only; schedules and reports use it", at=self.s.clock))
            return
        synced = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if synced == "no":
            self.note(False, _("clock"), _("the system clock is not synchronised (NTP): schedules, call times and "
                                           "digest mails drift; `timedatectl set-ntp true`"))
        else:
            self.note(True, _("clock"), _("synchronised") if synced == "yes" else
                      _("real time (NTP state unknown here)"))


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
    say(ngettext("%(num)s problem", "%(num)s problems", problems) if problems else _("no problems found"))
    return 1 if problems else 0
