"""One outside number dialled by the service (hunt and forward legs, call-backs) over the router's
trunks, trying the next trunk within the same call when the trunk fails (503, 408, no response, no
circuit), never on the callee's own answer (486, 480, 404).

A leg to an outside number is originated into Stasis, not created and then dialled: Asterisk keeps
the call detail record of an originated channel even when its trunk refuses it, whereas a channel
that was only dialled and never got a party B (no bridge) has its record discarded (main/cdr.c,
cdr_object_create_public_records: "dialed and has no Party B"). The record carries the dialled
number in its userfield, which is how the trunk report counts the attempt on its trunk. An
originated leg enters Stasis once answered: its StasisStart is the answer.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from ivr.ari.bus import Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import ChannelDestroyed, ChannelHangupRequest, Dial, Event, StasisEnd, StasisStart
from ivr.calls.legs import hangup_quietly
from ivr.calls.outcome import Outcome, of_cause, of_dial_status
from ivr.errors import IvrError
from ivr.routing.failover import should_fail_over
from ivr.routing.router import trunk_of_endpoint

log = logging.getLogger(__name__)

LEG_ARGS = "leg"
# Dial statuses after which the hang-up cause tells whose fault it was (the trunk's or the callee's).
WAIT_FOR_CAUSE = ("CONGESTION", "CHANUNAVAIL")
GONE = Outcome.GONE             # a watched channel (the staff member, the agent) left first
GRACE_SECONDS = 10.0            # past the ring time, for Asterisk's own end of the leg to arrive


def dialled_number(endpoint: str) -> str:
    """"PJSIP/+79161234567@trunk-mts" -> "+79161234567"."""
    return endpoint.partition("/")[2].partition("@")[0]


async def originate_leg(ari: AriClient, endpoint: str, channel_id: str, *, ring_seconds: int,
                        caller_id: str = "") -> None:
    """Start ringing an outside number; its StasisStart (args "leg") comes once it answers."""
    await ari.originate(endpoint, channel_id, LEG_ARGS, caller_id=caller_id, timeout=ring_seconds,
                        variables={"CDR(userfield)": dialled_number(endpoint)})


@dataclass(frozen=True)
class Verdict:
    kind: Literal["answered", "ended", "trunk_failed"]
    reason: str = ""            # ended: an Outcome (busy, no_answer, declined, unavailable, congestion, gone)
    cause: int = 0              # Q.850 cause of the end


ANSWERED = Verdict("answered")


@dataclass
class LegWatch:
    """What the events of one originated trunk leg mean, up to its answer."""

    channel_id: str
    failing: str = ""           # CONGESTION / CHANUNAVAIL seen: the hangup cause tells whose fault

    def verdict(self, event: Event) -> Verdict | None:
        if isinstance(event, Dial):
            outcome = of_dial_status(event.dialstatus)
            if event.peer_id != self.channel_id or outcome is None or outcome is Outcome.ANSWERED:
                return None
            if event.dialstatus in WAIT_FOR_CAUSE:
                self.failing = event.dialstatus
                return None
            return Verdict("ended", outcome)
        if event.keys()[:1] != (self.channel_id,):
            return None
        if isinstance(event, StasisStart):
            return ANSWERED
        if isinstance(event, (ChannelHangupRequest, ChannelDestroyed)):
            if isinstance(event, ChannelHangupRequest) and not event.cause:
                return None             # the cause comes with ChannelDestroyed
            return self.ended(event.cause)
        return None

    def ended(self, cause: int) -> Verdict:
        if should_fail_over(self.failing, None, cause or None):
            return Verdict("trunk_failed", cause=cause)
        return Verdict("ended", of_cause(cause, self.failing), cause)


@dataclass(frozen=True)
class Reached:
    """How dialling one number ended."""

    result: str                                 # an Outcome: answered, gone, or why not (busy, ...)
    channel_id: str                             # the last leg: the answered one ("" if none started)
    trunks: tuple[str, ...] = ()                # router trunks tried, in order
    failed: tuple[tuple[str, int], ...] = ()    # (trunk, cause) of each trunk that failed


EndpointFor = Callable[[str, tuple[str, ...]], str]     # (number, trunks to skip) -> dial string
CallerIdOn = Callable[[str, str], str]                  # (trunk, caller ID) -> as that trunk presents it


async def dial_number(ari: AriClient, sub: Subscription, number: str, endpoint_for: EndpointFor,
                      new_id: Callable[[], str], *, ring_seconds: int, caller_id: str = "",
                      watch: Collection[str] = (), first_endpoint: str = "",
                      on_leg: Callable[[str], None] | None = None,
                      caller_id_on: CallerIdOn | None = None) -> Reached:
    """Ring `number`, on the next trunk whenever one fails, until it answers, ends, or a `watch`ed
    channel leaves (GONE). `endpoint_for` raises IvrError when no trunk is left; `first_endpoint`
    is a dial string already chosen. Every leg but an answered one is hung up before returning;
    `on_leg` learns each leg id first (cleanup on cancellation); `caller_id_on` writes the caller
    ID as each trunk tried wants it (the router's)."""
    loop = asyncio.get_running_loop()
    tried: tuple[str, ...] = ()
    failed: tuple[tuple[str, int], ...] = ()
    leg_id = ""
    endpoint = first_endpoint
    while True:
        if not endpoint:
            try:
                endpoint = endpoint_for(number, tried)
            except IvrError as e:
                log.info("no trunk left number=%s tried=%s error=%s", number, tried, e.message)
                return Reached(Outcome.CONGESTION if failed else Outcome.UNAVAILABLE, leg_id, tried, failed)
        trunk = trunk_of_endpoint(endpoint)
        if trunk is not None and trunk in tried:     # no router: nothing else to try
            return Reached(Outcome.CONGESTION, leg_id, tried, failed)
        leg_id = new_id()
        if on_leg is not None:
            on_leg(leg_id)
        sub.add_key(leg_id)                           # subscribe, then originate
        if trunk is not None:
            tried += (trunk,)
        try:
            presented = caller_id_on(trunk, caller_id) if caller_id_on and trunk is not None else caller_id
            await originate_leg(ari, endpoint, leg_id, ring_seconds=ring_seconds, caller_id=presented)
        except AriError as e:
            log.warning("originate failed number=%s endpoint=%s error=%s", number, endpoint, e.message)
            return Reached(Outcome.UNAVAILABLE, leg_id, tried, failed)
        verdict = await _until_decided(sub, LegWatch(leg_id), watch, loop.time() + ring_seconds + GRACE_SECONDS)
        if verdict.kind == "answered":
            return Reached(Outcome.ANSWERED, leg_id, tried, failed)
        await hangup_quietly(ari, leg_id)
        if verdict.kind == "trunk_failed" and trunk is not None:
            log.info("trunk failed, trying the next number=%s trunk=%s cause=%s", number, trunk, verdict.cause)
            failed += ((trunk, verdict.cause),)
            endpoint = ""
            continue
        return Reached(verdict.reason or Outcome.NO_ANSWER, leg_id, tried, failed)


async def _until_decided(sub: Subscription, leg: LegWatch, watch: Collection[str], deadline: float) -> Verdict:
    loop = asyncio.get_running_loop()
    while (left := deadline - loop.time()) > 0:
        try:
            event = await sub.get(left)
        except asyncio.TimeoutError:
            break
        if isinstance(event, (StasisEnd, ChannelDestroyed, ChannelHangupRequest)) and event.channel.id in watch:
            return Verdict("ended", Outcome.GONE)
        if (verdict := leg.verdict(event)) is not None:
            return verdict
    return Verdict("ended", Outcome.NO_ANSWER)
