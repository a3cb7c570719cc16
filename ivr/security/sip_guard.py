"""SIP brute-force guard: Asterisk's security log (res_security_log) in, a PJSIP ACL out.

The service follows the PBX's security.log. An address with `failures` failed authentications
(wrong password, unknown account: REGISTER or INVITE) within `window` seconds is denied by a
`type = acl` section in pjsip_blocked.conf (which pjsip.conf `#tryinclude`s) and res_pjsip is
reloaded; the address gets no answer but 403 until the block ends (`block` seconds, doubled for an
address blocked again). Other addresses, and the registrations already made, are untouched.

Why not fail2ban: it needs iptables/nftables, root and a jail per Asterisk instance; this machine
class has neither firewall tool, and an ACL inside Asterisk works the same with the bundled and a
system Asterisk. The file also keeps each block's end, so a restarted service keeps the blocks.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.config import Settings

log = logging.getLogger(__name__)

FAILURES = ("InvalidPassword", "ChallengeResponseFailed", "InvalidAccountID")
_EVENT = re.compile(r'SecurityEvent="(\w+)".*?RemoteAddress="IPV[46]/\w+/([^/"]+)/')
_DENY = re.compile(r"^deny = (\S+) ; until (\d+)$", re.M)
POLL_SECONDS = 0.5


@dataclass
class Blocks:
    """Counting and blocking, apart from files and clocks so it can be tested alone."""

    failures: int = 5
    window: float = 300.0
    block: float = 900.0
    recent: dict[str, deque] = field(default_factory=dict)
    until: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)

    def failed(self, address: str, now: float) -> bool:
        """Counts one failure; True when it starts a block."""
        if self.until.get(address, 0) > now:
            return False
        times = self.recent.setdefault(address, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.failures:
            return False
        times.clear()
        self.rounds[address] = self.rounds.get(address, 0) + 1
        self.until[address] = now + self.block * 2 ** (self.rounds[address] - 1)
        return True

    def expire(self, now: float) -> bool:
        """Drops ended blocks; True when any ended."""
        ended = [a for a, t in self.until.items() if t <= now]
        for address in ended:
            del self.until[address]
        return bool(ended)

    def render(self) -> str:
        if not self.until:
            return "; no address is blocked\n"
        lines = ["; written by the IVR service (ivr/security/sip_guard.py): SIP brute-force blocks", "",
                 "[ivr-blocked]", "type = acl"]
        lines += [f"deny = {a} ; until {int(t)}" for a, t in sorted(self.until.items())]
        return "\n".join(lines) + "\n"

    def load(self, text: str, now: float) -> None:
        """Blocks of an earlier run that have not ended (wall-clock ends in the file)."""
        for address, until in _DENY.findall(text):
            if float(until) > now:
                self.until[address] = float(until)


def parse(line: str) -> tuple[str, str] | None:
    """(event, remote address) of a security-log line."""
    match = _EVENT.search(line)
    if not match:
        return None
    try:
        ipaddress.ip_address(match.group(2))
    except ValueError:
        return None
    return match.group(1), match.group(2)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(text: str) -> tuple[Network, ...]:
    """The `sip_trusted` setting: comma-separated addresses or networks."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"setting sip_trusted: {item!r} is not an IP address or network "
                             "(e.g. 192.168.1.0/24)") from None
    return tuple(networks)


class SipGuard:
    def __init__(self, security_log: Path, acl_file: Path, reload: Callable[[], Awaitable[None]], blocks: Blocks,
                 trusted: tuple[Network, ...] = ()):
        self.security_log, self.acl_file, self._reload, self.blocks = security_log, acl_file, reload, blocks
        # Never blocked: the cluster's SIP edge relays every phone's and carrier's traffic, and an
        # office's phones may share one address, so the failures of one phone would cut off all.
        self.trusted = trusted

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    async def run(self) -> None:
        """Follows the log from its current end until cancelled."""
        try:
            if self.acl_file.exists():
                self.blocks.load(self.acl_file.read_text(), time.time())
            await self._write()
            offset = self.security_log.stat().st_size if self.security_log.exists() else 0
        except OSError as e:
            log.error("sip guard: %s", e)
            offset = 0
        pending = b""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                offset, pending = await self._follow(offset, pending)
            except OSError as e:         # a log or ACL file out of reach must not stop the service
                log.error("sip guard: %s", e)

    async def _follow(self, offset: int, pending: bytes) -> tuple[int, bytes]:
        """One look at the log from `offset`: block who failed too often, let expired blocks go."""
        size = self.security_log.stat().st_size if self.security_log.exists() else 0
        if size < offset:
            offset, pending = 0, b""                         # rotated or truncated
        changed = self.blocks.expire(time.time())
        if size > offset:
            with self.security_log.open("rb") as f:
                f.seek(offset)
                data = pending + f.read(size - offset)
            offset = size
            *lines, pending = data.split(b"\n")
            for raw in lines:
                changed |= self._line(raw.decode("utf-8", "replace"))
        if changed:
            await self._write()
        return offset, pending

    def _line(self, line: str) -> bool:
        found = parse(line)
        if found is None or found[0] not in FAILURES:
            return False
        event, address = found
        if self._is_trusted(address) or not self.blocks.failed(address, time.time()):
            return False
        log.warning("sip address blocked address=%s after=%s failures (last %s) for=%ss", address,
                    self.blocks.failures, event, int(self.blocks.until[address] - time.time()))
        return True

    async def _write(self) -> None:
        text = self.blocks.render()
        if self.acl_file.exists() and self.acl_file.read_text() == text:
            return
        self.acl_file.parent.mkdir(parents=True, exist_ok=True)
        self.acl_file.write_text(text)
        await self._reload()


def for_settings(settings: Settings, log_dir: Path, reload: Callable[[], Awaitable[None]]) -> SipGuard:
    """The guard of the PBX these settings run: its security.log (in `log_dir`) and its pjsip_blocked.conf."""
    return SipGuard(log_dir / "security.log", settings.path(settings.asterisk_config_dir) / "pjsip_blocked.conf",
                    reload, Blocks(settings.sip_block_failures, settings.sip_block_window, settings.sip_block_seconds),
                    trusted_networks(settings.sip_trusted) + _edge(settings.sip_edge))


def _edge(sip_edge: str) -> tuple[Network, ...]:
    """The cluster edge's address ("host:port"), when it is an IP: the security log names IPs only."""
    try:
        return (ipaddress.ip_network(sip_edge.rsplit(":", 1)[0]),) if sip_edge else ()
    except ValueError:
        return ()
