"""Waits on what a test is about instead of fixed sleeps: a condition the test can read (the world's
legs, an API answer, the PBX's bridges), checked until it holds or the time is up."""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from ivr.asterisk.process import Instance


async def _value(call: Callable[[], Any]) -> Any:
    result = call()
    return await result if inspect.isawaitable(result) else result


async def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "the condition",
                     every: float = 0.2, detail: Callable[[], Any] | None = None) -> Any:
    """`check()` (plain or async) again and again until it returns something true; that value.
    An AssertionError naming `what` (and saying `detail()`, plain or async) when `timeout` seconds
    pass first."""
    deadline = time.monotonic() + timeout
    while not (result := await _value(check)):
        if time.monotonic() > deadline:
            extra = f": {await _value(detail)}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        await asyncio.sleep(every)
    return result


def bridges(instance: Instance) -> list[list[str]]:
    """The names of the channels in each bridge of one Asterisk now."""
    ids = [line.split()[0] for line in instance.cli("bridge show all").splitlines()[1:] if line.split()]
    return [[line.split(":", 1)[1].strip() for line in instance.cli(f"bridge show {i}").splitlines()
             if line.strip().startswith("Channel:")] for i in ids]


async def wait_bridged(instance: Instance, *parties: str, timeout: float = 10.0) -> list[str]:
    """Until a bridge on `instance` (the PBX) holds two SIP channels or more, one of each of
    `parties` ("PJSIP/102-": extension 102's) among them: they hear each other now. Its channels."""
    def talking() -> list[str] | None:
        for channels in bridges(instance):
            sip = [c for c in channels if c.startswith("PJSIP/")]     # not music or recording helpers
            if len(sip) >= 2 and all(any(c.startswith(p) for c in sip) for p in parties):
                return sip
        return None
    return await wait_until(talking, timeout, f"a bridge of {' and '.join(parties) or 'two parties'}")


def channel_states(instance: Instance) -> dict[str, str]:
    """Each channel of one Asterisk by name, with its state now (Ring, Ringing, Up, ...)."""
    rows = [line.split("!") for line in instance.cli("core show channels concise").splitlines()]
    return {row[0]: row[4] for row in rows if len(row) > 4}


async def wait_channel(instance: Instance, party: str, state: str, timeout: float = 10.0) -> str:
    """Until a channel of `party` ("PJSIP/102-") on `instance` is in `state`; its name."""
    def found() -> str | None:
        return next((name for name, now in channel_states(instance).items()
                     if name.startswith(party) and now == state), None)
    return await wait_until(found, timeout, f"{party} {state}")
