"""Choosing the outbound trunk for a callee: pure logic over trunk specs and live channel counts.

Candidates are the trunks that may carry the destination and have a free channel, cheapest first
for this callee's carrier (the on-net price when the trunk reaches that carrier on-net), then by
priority (lower first), then by name so the order is stable. The dialplan tries them in order.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ivr.routing.lookup import CarrierInfo
from ivr.routing.numbers import DestClass, for_trunk

if TYPE_CHECKING:
    from ivr.plan.model import Trunk as PlanTrunk

# A trunk's PJSIP endpoint is this prefix and its name (dialplan/pbx/pjsip.conf.j2).
ENDPOINT_PREFIX = "trunk-"

CostClass = Literal["onnet", "mobile", "landline", "international"]

_COST_CLASS: dict[str, CostClass] = {
    "mobile": "mobile",
    "local": "landline",
    "long_distance": "landline",
    "international": "international",
}


@dataclass(frozen=True)
class Trunk:
    name: str
    carriers: tuple[str, ...] = ()     # carrier keys this trunk reaches on-net
    capacity: int = 0                  # concurrent channels; 0 = no limit
    cost_onnet: float | None = None    # per minute; None: the trunk does not carry that class
    cost_mobile: float | None = None
    cost_landline: float | None = None
    cost_international: float | None = None
    priority: int = 100                # lower is tried first among equal costs
    international: bool = False        # may carry international calls off-net
    caller_id: str = ""
    number_format: str = "e164"        # numbers sent on this trunk (ivr.routing.numbers.for_trunk)

    def cost(self, cost_class: CostClass) -> float | None:
        return {"onnet": self.cost_onnet, "mobile": self.cost_mobile, "landline": self.cost_landline,
                "international": self.cost_international}[cost_class]


@dataclass(frozen=True)
class Candidate:
    trunk: Trunk
    cost: float          # per minute for this call
    free: int | None     # free channels; None when the trunk has no limit
    onnet: bool


def price(trunk: Trunk, carrier: str | None, dest_class: DestClass) -> tuple[float, bool] | None:
    """(cost per minute, on-net) of this call on this trunk, or None if it may not carry it.

    On-net is the callee's own carrier on a trunk of that carrier: the carrier's network places
    the call as a domestic on-net one, whatever class it is from here. Off-net, international
    needs the trunk's permission as well as a price.
    """
    if dest_class == "internal":
        return None
    if carrier is not None and carrier in trunk.carriers and trunk.cost_onnet is not None:
        return trunk.cost_onnet, True
    cost_class = _COST_CLASS[dest_class]
    if cost_class == "international" and not trunk.international:
        return None
    cost = trunk.cost(cost_class)
    return None if cost is None else (cost, False)


def choose_trunks(info: CarrierInfo, dest_class: DestClass, trunks: Iterable[Trunk],
                  live_channels: Mapping[str, int]) -> list[Candidate]:
    """Trunks to try in order for a callee; empty when none may carry it or all are full."""
    candidates = []
    for trunk in trunks:
        priced = price(trunk, info.carrier, dest_class)
        if priced is None:
            continue
        free = None if trunk.capacity <= 0 else trunk.capacity - live_channels.get(trunk.name, 0)
        if free is not None and free <= 0:
            continue
        candidates.append(Candidate(trunk, priced[0], free, priced[1]))
    candidates.sort(key=lambda c: (c.cost, c.trunk.priority, c.trunk.name))
    return candidates


def candidate_dict(c: Candidate, number: str) -> dict:
    """One trunk of a decision as the route API and `ivr route --json` show it; `caller_id` and
    `dial` (the callee) in the format the trunk wants."""
    return {"trunk": c.trunk.name, "endpoint": ENDPOINT_PREFIX + c.trunk.name, "cost": c.cost,
            "free": c.free, "onnet": c.onnet, "caller_id": for_trunk(c.trunk.caller_id, c.trunk.number_format),
            "dial": for_trunk(number, c.trunk.number_format)}


def route_trunk(t: PlanTrunk) -> Trunk:
    return Trunk(name=t.name, carriers=t.carriers, capacity=t.capacity, cost_onnet=t.cost_onnet,
                 cost_mobile=t.cost_mobile, cost_landline=t.cost_landline,
                 cost_international=t.cost_international, priority=t.priority,
                 international=t.international, caller_id=t.caller_id,
                 number_format=t.sip.number_format)
