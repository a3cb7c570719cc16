"""Trunk health as Asterisk sees it: registration state, channels in use, and the last failure.

`check()` asks the PBX Asterisk (`asterisk -rx`, the same way `ivr asterisk status` does: ARI has no
outbound-registration state). The service's TrunkWatch checks every `trunk_check_seconds`, keeps the
last failure of each trunk in var/trunks.json (so `ivr trunks` shows it without asking the service)
and mails `alerts:` of notifications.yaml through the outbox when a registration fails and when it
is back.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from ivr import i18n
from ivr.asterisk.process import AsteriskError, Instance
from ivr.i18n import _
from ivr.plan.model import Plan, Trunk

log = logging.getLogger(__name__)

# `pjsip show registrations`: " trunk-x-reg/sip:host   trunk-x-auth   Registered   (exp. 95s)"
_REGISTRATION = re.compile(r"^\s*(trunk-[a-z0-9_-]+)-reg/\S+\s+\S+\s+(\w+)", re.M)
# `pjsip show contacts`: "  Contact:  goip1/sip:goip1@192.0.2.5:5060   1a2b3c  Avail  12.3"
_CONTACT = re.compile(r"^\s*Contact:\s+([^/\s]+)/", re.M)


@dataclass(frozen=True)
class TrunkState:
    name: str
    kind: str                   # register (we register to it) | client (it registers to us) | peer
    registration: str           # Registered, Unregistered, Rejected, ... or "" for a peer
    channels: int
    last_failure: str = ""      # what was seen, e.g. "Rejected"
    last_failure_at: str = ""   # ISO time
    failing_since: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "peer" or self.registration == "Registered"

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def kind_of(trunk: Trunk) -> str:
    return "register" if trunk.sip.register else "client" if trunk.sip.client else "peer"


def parse(plan: Plan, registrations: str, contacts: str, channels: str) -> list[TrunkState]:
    """Each trunk's state from the text of three CLI commands (`core show channels concise`)."""
    registered = {m.group(1): m.group(2) for m in _REGISTRATION.finditer(registrations)}
    aors = set(_CONTACT.findall(contacts))
    names = [line.split("!", 1)[0] for line in channels.splitlines() if line.startswith("PJSIP/")]
    states = []
    for trunk in plan.trunks.values():
        kind = kind_of(trunk)
        if kind == "register":
            registration = registered.get(f"trunk-{trunk.name}", "Unregistered")
        elif kind == "client":
            registration = "Registered" if trunk.username in aors else "Unregistered"
        else:
            registration = ""
        used = sum(1 for n in names if n.startswith(f"PJSIP/trunk-{trunk.name}-"))
        states.append(TrunkState(trunk.name, kind, registration, used))
    return states


def check(instance: Instance, plan: Plan) -> list[TrunkState]:
    """Ask the running Asterisk; raises AsteriskError when it does not answer."""
    return parse(plan, instance.cli("pjsip show registrations"), instance.cli("pjsip show contacts"),
                 instance.cli("core show channels concise"))


def load_history(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def with_history(states: list[TrunkState], history: dict[str, dict]) -> list[TrunkState]:
    return [replace(s, **{k: v for k, v in history.get(s.name, {}).items()
                          if k in ("last_failure", "last_failure_at", "failing_since")}) for s in states]


Alert = Callable[[str, str, str], Awaitable[None]]     # (key, subject, body)


class TrunkWatch:
    """Checks the trunks on a timer; a registration failing at two checks in a row is alerted once,
    and its recovery once."""

    def __init__(self, instance: Instance, plan: Callable[[], Plan | None], now: Callable[[], datetime],
                 history_path: Path, alert: Alert, interval: float):
        self.instance, self._plan, self.now = instance, plan, now
        self.path, self.alert, self.interval = history_path, alert, interval
        self.history = load_history(history_path)
        self._misses: dict[str, int] = {}
        self.states: list[TrunkState] = []

    async def run(self) -> None:
        while True:
            try:
                await self.check_once()
            except AsteriskError as e:
                log.warning("trunk check: asterisk not answering: %s", e.message)
            await asyncio.sleep(self.interval)

    async def check_once(self) -> list[TrunkState]:
        plan = self._plan()
        if plan is None:
            return []
        states = await asyncio.to_thread(check, self.instance, plan)
        at = self.now().isoformat()
        for s in states:
            entry = self.history.setdefault(s.name, {})
            if s.ok:
                self._misses[s.name] = 0
                if entry.pop("failing_since", ""):
                    log.info("trunk registration back trunk=%s", s.name)
                    with i18n.language(plan.language):       # an alert mail speaks the plan's language
                        subject = _("Trunk %(name)s: registration is back", name=s.name)
                        body = _("Trunk %(name)s is registered again (%(at)s).\nIt had failed with %(failure)s "
                                 "since %(since)s.\n", name=s.name, at=at, failure=entry.get("last_failure", "?"),
                                 since=entry.get("last_failure_at", "?"))
                    await self.alert(f"trunk:{s.name}:back:{at}", subject, body)
                continue
            self._misses[s.name] = self._misses.get(s.name, 0) + 1
            entry.update(last_failure=s.registration, last_failure_at=at)
            if self._misses[s.name] == 2 and not entry.get("failing_since"):
                entry["failing_since"] = at
                log.warning("trunk registration failing trunk=%s state=%s", s.name, s.registration)
                with i18n.language(plan.language):
                    subject = _("Trunk %(name)s: registration failed", name=s.name)
                    body = _("Trunk %(name)s (%(kind)s) is not registered: %(state)s (%(at)s).\nCalls through it "
                             "cannot come in. `ivr trunks` and `ivr doctor` show more; docs/trunks.md says what "
                             "carriers need.\n", name=s.name, kind=s.kind, state=s.registration, at=at)
                await self.alert(f"trunk:{s.name}:failed:{at}", subject, body)
        self._save()
        self.states = with_history(states, self.history)
        return self.states

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.history, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
