"""The outbound router: which trunks a call to a number tries, from the plan's trunks, the callee's
carrier, live channel counts across the whole system and rate limits.

Live counts come from Asterisk itself (GET /channels: every channel, inbound, outbound, campaign
legs and those the dialplan dials for staff, none of which our Stasis app sees as events). Channel
names tell the trunk: "PJSIP/trunk-megafon-0000001a". A decision just made reserves a channel on its
first trunk for a few seconds, so two calls decided before either channel exists do not both take
the last free one.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ivr.errors import IvrError
from ivr.plan.model import Plan
from ivr.routing.carriers import load_carrier_table
from ivr.routing.choose import ENDPOINT_PREFIX, Candidate, candidate_dict, choose_trunks, route_trunk
from ivr.routing.daily import DayUse
from ivr.routing.lookup import CarrierInfo, CarrierLookup
from ivr.routing.numbers import (DestClass, caller_id_for_trunk, caller_number, classify, for_trunk,
                                 is_internal, normalize)

if TYPE_CHECKING:
    from ivr.ari.client import AriClient
    from ivr.config import Settings
    from ivr.plan.live import PlanHolder

log = logging.getLogger(__name__)

RESERVE_SECONDS = 1.0
OPERATORS_FILE = "config/numbering/operators.yaml"


class RouteRefused(IvrError):
    """The call may not leave: class of service or a rate limit."""
    status_code = 403
    error_id = "route-refused"


class NoTrunk(IvrError):
    """No trunk may carry the call, or every one that may is full."""
    status_code = 503
    error_id = "no-trunk"


@dataclass(frozen=True)
class Decision:
    info: CarrierInfo
    dest_class: DestClass
    candidates: tuple[Candidate, ...]

    @property
    def trunk(self) -> str | None:
        return self.candidates[0].trunk.name if self.candidates else None

    def to_dict(self) -> dict:
        """The JSON of `ivr route --json` and GET /api/route (keys fixed by issue 6)."""
        return {
            "number": self.info.number, "carrier": self.info.carrier,
            "carrier_source": self.info.carrier_source, "operator": self.info.operator,
            "region": self.info.region, "timezone": self.info.timezone,
            "candidates": [candidate_dict(c, self.info.number) for c in self.candidates],
            "trunk": self.trunk,
        }


def trunk_endpoint(number: str, trunk: str) -> str:
    """The one place that turns a callee and a trunk into a dial string."""
    return f"PJSIP/{number}@{ENDPOINT_PREFIX}{trunk}"


def default_trunk_endpoint(number: str, plan: Plan) -> str:
    """Without the carrier router: the plan's default trunk (no failover: it is the only one)."""
    return trunk_endpoint(number, plan.default_trunk or "default")


def trunk_of_endpoint(endpoint: str) -> str | None:
    """"PJSIP/+79161234567@trunk-mts" -> "mts"; None for a phone's endpoint."""
    _, sep, trunk = endpoint.rpartition("@" + ENDPOINT_PREFIX)
    return trunk if sep and trunk else None


def trunk_of_channel(name: str) -> str | None:
    """"PJSIP/trunk-megafon-0000001a" -> "megafon"; None for phones and local channels."""
    tech, _, rest = name.partition("/")
    if tech != "PJSIP" or not rest.startswith(ENDPOINT_PREFIX):
        return None
    endpoint = rest.rsplit("-", 1)[0]
    return endpoint[len(ENDPOINT_PREFIX):] or None


class ChannelCounter:
    """Live channels per trunk: the last snapshot of Asterisk's channels plus fresh reservations.

    A reservation covers the moment between a decision and its channel: it ends once a snapshot
    shows the trunk with more channels than when it was made, or after `seconds`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._live: dict[str, int] = {}
        # (expires, trunk, channels then with the reservations then open): ends once live exceeds it
        self._reserved: list[tuple[float, str, int]] = []

    async def start(self, list_channels: Callable[[], Awaitable[list[str]]] | None) -> None:
        """Nothing to start for one process (ivr/routing/shared_channels.py publishes its node's)."""

    async def stop(self) -> None:
        pass

    @asynccontextmanager
    async def deciding(self) -> AsyncIterator[None]:
        """A decision from its counts to its reservation; one process decides on one event loop."""
        yield

    async def sync(self) -> None:
        """Counts of other processes: none here."""

    def update(self, channel_names: Iterable[str]) -> None:
        live: dict[str, int] = {}
        for name in channel_names:
            if (trunk := trunk_of_channel(name)) is not None:
                live[trunk] = live.get(trunk, 0) + 1
        self._live = live
        self._reserved = [r for r in self._reserved if live.get(r[1], 0) <= r[2]]

    def reserve(self, trunk: str, seconds: float = RESERVE_SECONDS) -> None:
        # Counted with the reservations still open on the trunk: one new channel must not end two
        # reservations made before either channel existed.
        now = self._clock()
        pending = sum(1 for expires, t, _ in self._reserved if t == trunk and expires > now)
        self._reserved.append((now + seconds, trunk, self._live.get(trunk, 0) + pending))

    def counts(self) -> dict[str, int]:
        now = self._clock()
        self._reserved = [r for r in self._reserved if r[0] > now]
        counts = dict(self._live)
        for _, trunk, _ in self._reserved:
            counts[trunk] = counts.get(trunk, 0) + 1
        return counts


class RateLimiter:
    """At most `limit` events per `window` seconds for each key (sliding window)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, window: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        horizon = self._clock() - window
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def allowed(self, key: str, limit: int, window: float) -> bool:
        return limit <= 0 or len(self._recent(key, window)) < limit

    def record(self, key: str) -> None:
        self._events.setdefault(key, deque()).append(self._clock())


class Router:
    """Outbound trunk choice for the service (ctx.services.router) and its web API.

    `plan` gives the live plan; `list_channels` the names of Asterisk's channels right now;
    `usage` today's use of trunks and phones against the plan's daily limits (ivr.routing.daily).
    """

    def __init__(self, lookup: CarrierLookup, plan: Callable[[], Plan | None],
                 list_channels: Callable[[], Awaitable[list[str]]] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 usage: Callable[[Plan], Awaitable[DayUse]] | None = None,
                 channels: ChannelCounter | None = None):
        self.lookup = lookup
        self._plan = plan
        self._list_channels = list_channels
        self._usage = usage
        self.today = DayUse()
        self.channels = channels or ChannelCounter(clock)
        self.rates = RateLimiter(clock)

    @classmethod
    def for_service(cls, settings: Settings, plans: PlanHolder, ari: AriClient,
                    usage: Callable[[Plan], Awaitable[DayUse]] | None = None,
                    channels: ChannelCounter | None = None) -> Router:
        """The service's router: the numbering stores under var/, the live plan, ARI's channels,
        the toll-fraud guard's count of the day; `channels` shared with other nodes in a cluster."""
        async def channel_names() -> list[str]:
            return [c.name for c in await ari.list_channels()]

        lookup = CarrierLookup(settings.var / "numbering", load_carrier_table(settings.path(OPERATORS_FILE)))
        return cls(lookup, lambda: plans.current.plan if plans.current else None, channel_names, usage=usage,
                   channels=channels)

    async def start(self) -> None:
        await self.channels.start(self._list_channels)

    async def stop(self) -> None:
        await self.channels.stop()

    def plan(self) -> Plan:
        plan = self._plan()
        if plan is None:
            raise NoTrunk("no plan is loaded yet")
        return plan

    def caller_id_on(self, trunk: str, caller_id: str = "") -> str:
        """What a leg the service originates on `trunk` presents: `caller_id` (a forwarded caller's
        number, the company number of a call-back), else the trunk's own caller ID, in the number
        format the carrier expects. An extension never leaves the PBX: it becomes the trunk's."""
        plan_trunk = self.plan().trunks.get(trunk)
        if plan_trunk is None:
            return caller_id
        number = caller_number(caller_id)
        if not number or is_internal(number):
            caller_id = plan_trunk.caller_id
        return caller_id_for_trunk(caller_id, plan_trunk.sip.number_format) if caller_id else ""

    async def refresh(self) -> None:
        """Take a fresh snapshot of live channels, registry changes made by the CLI and the day's use."""
        self.lookup.refresh()
        if self._list_channels is not None:
            self.channels.update(await self._list_channels())
        await self.channels.sync()
        if self._usage is not None and (plan := self._plan()) is not None:
            self.today = await self._usage(plan)

    def decide(self, raw: str, *, phone: str | None = None) -> Decision:
        """Candidates for a number as dialled; raises InvalidNumber, RouteRefused (the phone may
        not call that class)."""
        plan = self.plan()
        if is_internal(raw.strip()):
            raise RouteRefused(f"{raw!r} is a short number, not an outside one")
        number = normalize(raw, plan.country or "RU")
        dest_class = classify(number, plan.country or "RU")
        if phone is not None:
            staff = plan.staff.get(phone)
            if staff is None:
                raise RouteRefused(f"phone {phone!r} is not a staff phone of the plan")
            if dest_class not in staff.dial:
                raise RouteRefused(f"phone {phone} may not dial {dest_class.replace('_', '-')} numbers")
        info = self.lookup.lookup(number)
        trunks = [route_trunk(t) for t in plan.trunks.values()
                  if self.rates.allowed("trunk:" + t.name, t.calls_per_minute, 60.0)
                  and not self.today.trunk_full(plan, t.name)]
        candidates = choose_trunks(info, dest_class, trunks, self.channels.counts())
        return Decision(info, dest_class, tuple(candidates))

    async def route(self, raw: str, *, phone: str | None = None, dial: bool = False) -> Decision:
        """A decision on live counts. With `dial` the call is about to be placed: the phone's rate
        limit applies, and the first trunk is counted and reserved."""
        async with self.channels.deciding():       # in a cluster: no other node decides meanwhile
            await self.refresh()
            decision = self.decide(raw, phone=phone)
            if dial:
                self._placed(decision, phone)
        return decision

    def _placed(self, decision: Decision, phone: str | None) -> None:
        plan = self.plan()
        if phone is not None:
            limit = plan.staff[phone].dial_per_hour
            if not self.rates.allowed("phone:" + phone, limit, 3600.0):
                raise RouteRefused(f"phone {phone} reached its limit of {limit} outside calls an hour")
            if self.today.phone_full(plan, phone):
                cap = plan.limits.phone(phone)
                raise RouteRefused(f"phone {phone} reached its daily limit of outside calls "
                                   f"({cap.calls or 'unlimited'} calls, {cap.minutes or 'unlimited'} minutes)")
            self.rates.record("phone:" + phone)
        if not decision.candidates:
            raise NoTrunk(f"no trunk may carry a call to {decision.info.number} now")
        first = decision.candidates[0].trunk.name
        self.rates.record("trunk:" + first)
        self.channels.reserve(first)
        log.info("route number=%s carrier=%s source=%s trunk=%s", decision.info.number,
                 decision.info.carrier, decision.info.carrier_source, first)

    def endpoint_for(self, number: str, exclude: Collection[str] = ()) -> str:
        """The dial string of a service-originated leg (hunt, forward, call-back, campaign) to an
        outside number, on counts as of the last refresh; `exclude` names trunks this call already
        tried (failover). Raises NoTrunk, InvalidNumber."""
        decision = self.decide(number)
        if exclude:
            decision = replace(decision, candidates=tuple(c for c in decision.candidates
                                                          if c.trunk.name not in exclude))
        self._placed(decision, None)
        first = decision.candidates[0].trunk
        return trunk_endpoint(for_trunk(decision.info.number, first.number_format), first.name)
