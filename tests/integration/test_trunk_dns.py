"""A carrier known only by its DNS name (docs/trunks.md): a test resolver (Debian's dnsmasq on this
run's net) publishes an SRV record for it, and the PBX finds the carrier's signalling address through
that record, for its calls out and to know the carrier's calls in. The name's own A record points
to an address where nobody listens, so a call only goes through if the SRV record was followed.

The host's resolver cannot be changed by a test: the PBX's Asterisk is started again in a mount
namespace of its own whose /etc/resolv.conf names the test resolver (root needed, as for port 53)."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import NET, plan_text
from ivr.asterisk.process import Instance
from ivr.testing.world import Behaviour
from test_routing import dial_from_phone, wait_incoming

DOMAIN = "carrier.ivr.test"
RESOLVER_IP = f"{NET}.53"
CARRIER_IP = f"{NET}.11"            # where the world plays the plan's "default" carrier
NOBODY_IP = f"{NET}.99"             # the name's A record: no SIP there
MAIN = "+74951110000"


@dataclass(frozen=True)
class ResolvingThrough(Instance):
    """An Asterisk that reads `resolv_conf` as its /etc/resolv.conf."""

    resolv_conf: Path = Path("/etc/resolv.conf")

    def binary(self) -> list[str]:
        return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                str(self.resolv_conf), *super().binary()]


async def wait_service_on(pbx: Instance, service, timeout: float = 30) -> None:
    """The service is connected to the (restarted) PBX and its Stasis app is registered there."""
    deadline = time.monotonic() + timeout
    while "ivr" not in pbx.cli("ari show apps"):
        assert time.monotonic() < deadline, "the service did not reconnect to the restarted PBX"
        await asyncio.sleep(0.3)
    await service.wait_ready(timeout)


@pytest.fixture
async def by_name(service_process, pbx, world, stack_dir):
    # `make test` runs as root (README): the mount namespace and the resolver on port 53 need it.
    assert os.geteuid() == 0, "a mount namespace and a resolver on port 53 need root"
    home = stack_dir / "dns"
    home.mkdir(exist_ok=True)
    (home / "resolv.conf").write_text(f"nameserver {RESOLVER_IP}\n")
    queries = home / "dnsmasq.log"
    queries.write_text("")
    resolver = subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=53", f"--listen-address={RESOLVER_IP}",
         "--bind-interfaces", "--no-resolv", "--no-hosts", "--log-queries", f"--log-facility={queries}",
         f"--srv-host=_sip._udp.{DOMAIN},sip1.{DOMAIN},5060,10,100",
         f"--host-record=sip1.{DOMAIN},{CARRIER_IP}", f"--host-record={DOMAIN},{NOBODY_IP}"])
    # The test plan with its one trunk named by DNS only; the hostess may call mobiles.
    plan_path = home / "ivr.yaml"
    plan_path.write_text(plan_text().replace(f'host: "{CARRIER_IP}"', f'host: "{DOMAIN}"')
                         .replace('"101": {name: Hostess}', '"101": {name: Hostess, dial: [local, mobile]}'),
                         encoding="utf-8")
    assert DOMAIN in plan_path.read_text(encoding="utf-8")
    service_process.stop()
    (home / "var").mkdir(exist_ok=True)
    # A database of its own: a service keeps its database's live plan over the plan file.
    service_process.start(IVR_PLAN_FILE=str(plan_path), IVR_VAR_DIR=str(home / "var"),
                          IVR_DATABASE_URL=f"sqlite+aiosqlite:///{home}/dns.db")   # renders the PBX's files
    await service_process.wait_ready()
    pbx.stop()
    resolving = ResolvingThrough(pbx.name, pbx.root, pbx.rootfs, home / "resolv.conf")
    resolving.start()
    try:
        await wait_service_on(resolving, service_process)
        world.reset()
        yield resolving, resolver, queries
    finally:
        resolving.stop()
        resolver.terminate()
        resolver.wait(5)
        pbx.start()
        service_process.stop()
        service_process.start()                               # the default plan's files again
        await wait_service_on(pbx, service_process)


async def test_a_carrier_known_by_its_dns_name_carries_calls_both_ways(by_name, world, service_process):
    pbx, resolver, queries = by_name
    # Its calls in are known as the trunk's: identify resolved the name's SRV record at load.
    assert CARRIER_IP in pbx.cli("pjsip show identify trunk-default")
    caller = await world.call(MAIN, "+79161000701", via="default")
    await asyncio.wait_for(caller.answered.wait(), 10)
    await world.hangup(caller)
    record = await service_process.call_record("+79161000701")
    assert record["company_number"] == MAIN, record
    # A call out reaches the carrier at the SRV record's address (the A record leads nowhere).
    world.behaviours["+79161234567"] = Behaviour("answer", after=0.2, hangup_after=0.5)
    phone = await dial_from_phone(world, "101", "89161234567")
    [leg] = await wait_incoming(world, 1)
    assert (leg.target, leg.via) == ("+79161234567", "default")
    await asyncio.wait_for(phone.ended.wait(), 10)
    assert leg.answered_at is not None
    resolver.send_signal(signal.SIGUSR2)          # dnsmasq writes its log lines out
    deadline = time.monotonic() + 5
    while f"query[SRV] _sip._udp.{DOMAIN}" not in (log := queries.read_text()):
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.2)
