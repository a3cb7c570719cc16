"""The SIP brute-force guard's rules: failures counted per address in a window, blocks that double
and end, the ACL file it writes (and reads back after a restart), and security-log parsing."""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from ivr.config import Settings
from ivr.security import sip_guard
from ivr.security.sip_guard import Blocks, SipGuard, parse

LINE = ('[2026-12-06 04:47:23.512] SECURITY[8170] res_security_log.c: SecurityEvent="ChallengeResponseFailed",'
        'EventTV="2026-12-06T04:47:23.512+0000",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="103",'
        'SessionID="abc",LocalAddress="IPV4/UDP/127.0.40.1/5060",RemoteAddress="IPV4/UDP/127.0.40.60/40211",'
        'Challenge="x",ReceivedChallenge="x",ReceivedHash="y"')


def test_security_log_lines_give_the_event_and_the_remote_address():
    assert parse(LINE) == ("ChallengeResponseFailed", "127.0.40.60")
    assert parse("[2026-12-06] NOTICE something else") is None
    assert parse(LINE.replace("127.0.40.60", "not-an-ip")) is None


def test_failures_within_the_window_block_and_a_repeat_blocks_twice_as_long():
    blocks = Blocks(failures=3, window=60, block=100)
    assert not blocks.failed("a", 0) and not blocks.failed("a", 10)
    assert not blocks.failed("a", 80)                 # the first two fell out of the window
    assert not blocks.failed("a", 85) and blocks.failed("a", 90)
    assert blocks.until == {"a": 190}
    assert not blocks.failed("b", 91)                 # another address counts on its own
    assert not blocks.failed("a", 100)                # blocked: not counted again
    assert blocks.expire(190) and blocks.until == {}
    for t in (200, 201, 202):
        blocked = blocks.failed("a", t)
    assert blocked and blocks.until["a"] == 202 + 200


def test_the_acl_file_lists_each_block_with_its_end_and_is_read_back():
    blocks = Blocks(failures=1, window=60, block=100)
    assert blocks.render() == "; no address is blocked\n"
    blocks.failed("127.0.40.60", 1000)
    text = blocks.render()
    assert "[ivr-blocked]\ntype = acl\ndeny = 127.0.40.60 ; until 1100\n" in text
    again = Blocks()
    again.load(text, 1050)
    assert again.until == {"127.0.40.60": 1100}
    later = Blocks()
    later.load(text, 1200)
    assert later.until == {}


async def test_an_acl_file_out_of_reach_is_logged_and_the_guard_goes_on(tmp_path, monkeypatch, caplog):
    # The guard runs in the service's task group: an OSError of its files must not end the service.
    monkeypatch.setattr(sip_guard, "POLL_SECONDS", 0.01)
    (tmp_path / "etc").write_text("a file where the config directory should be")
    log = tmp_path / "security.log"
    log.write_text("")
    reloads = []

    async def reload() -> None:
        reloads.append(1)
    guard = SipGuard(log, tmp_path / "etc" / "pjsip_blocked.conf", reload, Blocks(failures=1, window=60, block=100))
    task = asyncio.create_task(guard.run())
    log.write_text(LINE + "\n")

    async def blocked() -> None:
        while "127.0.40.60" not in guard.blocks.until:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(blocked(), 5)               # read on, though the block cannot be written
    assert not task.done() and "sip guard:" in caplog.text
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_trusted_networks_and_the_edge_are_never_blocked(tmp_path, monkeypatch):
    """An office's phones behind one NAT address: a phone retrying a deleted account must not cut
    off the others. Addresses outside the trusted networks are still blocked."""
    monkeypatch.setattr(sip_guard, "POLL_SECONDS", 0.01)
    settings = replace(Settings(), sip_trusted="127.0.40.0/28, 10.8.0.7", sip_edge="127.0.40.99:5060",
                       sip_block_failures=2)
    log = tmp_path / "security.log"
    log.write_text("")
    guard = sip_guard.for_settings(settings, tmp_path, _no_reload)
    guard.acl_file = tmp_path / "pjsip_blocked.conf"
    task = asyncio.create_task(guard.run())
    try:
        while not guard.acl_file.exists():         # started: it follows the log from its end on
            await asyncio.sleep(0.01)
        with log.open("a") as f:
            for address in ("127.0.40.2", "10.8.0.7", "127.0.40.99", "127.0.40.60"):
                f.write((LINE.replace("127.0.40.60/40211", f"{address}/40211") + "\n") * 3)

        async def blocked() -> None:
            while "127.0.40.60" not in guard.blocks.until:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(blocked(), 5)
        assert set(guard.blocks.until) == {"127.0.40.60"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_bad_trusted_network_is_named():
    with pytest.raises(ValueError, match="sip_trusted: '192.168.1.0/33'"):
        sip_guard.trusted_networks("10.0.0.0/8, 192.168.1.0/33")


async def _no_reload() -> None:
    pass
