"""A plan's trunks (`trunks:`, their SIP side in trunk_sip.py) and daily call limits (`limits:`)."""
from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from ruamel.yaml.nodes import MappingNode, Node as YNode

from ivr.plan.keys import CARRIER_KEY
from ivr.plan.model import DailyLimits, DayCap, Trunk
from ivr.plan.trunk_sip import read_trunk_sip
from ivr.yaml_reader import Fields, did_you_mean

if TYPE_CHECKING:
    from ivr.plan.validate import PlanBuilder

TRUNK_KEYS = ("host", "caller_id", "capacity", "default", "carriers", "cost", "priority", "international",
              "calls_per_minute", "sip")
COST_CLASSES = ("onnet", "mobile", "landline", "international")
# A trunk name becomes a PJSIP section and a dialplan word.
_TRUNK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")


def read_trunks(b: PlanBuilder, top: Fields) -> dict:
    r = b.r
    node = top.get("trunks")
    fields = r.mapping(node, "trunks") if node is not None else None
    trunks: dict[str, Trunk] = {}
    defaults: list[YNode] = []
    unpriced: list[YNode] = []
    for name, (key, value) in (fields.entries.items() if fields else ()):
        info = r.mapping(value, f"trunk '{name}'", TRUNK_KEYS)
        if info is None:
            continue
        if not _TRUNK_NAME.fullmatch(name):
            r.problem(key, f"trunks: name '{name}' must be lower-case letters, digits, - and _")
            continue
        credentials = b.secrets.trunk_credentials.get(name, ("", ""))
        sip = read_trunk_sip(r, info, name, bool(credentials[1]))
        host_node = r.require(info, "host", f"trunk '{name}'")
        host = r.text(host_node, "host") if host_node is not None else None
        if host is not None and not _HOST.fullmatch(host):
            r.problem(host_node, f"trunk '{name}': host '{host}' must be an address or name with an optional :port")
            host = None
        # Calls out (campaigns, call-backs) present it: without one they reach people as
        # "Anonymous", many never answer, and none can call back.
        caller_id_node = info.get("caller_id")
        if caller_id_node is None:
            r.problem(info.at, f"trunk '{name}': 'caller_id' is missing: the company number calls out "
                               "present (without it they reach people as 'Anonymous' and nobody can call back)")
        caller_id = (b.phone(caller_id_node, f"trunk '{name}' caller_id") or "") \
            if caller_id_node is not None else ""
        whole = lambda n, w: r.number(n, w, integer=True)   # noqa: E731
        capacity = r.optional(info, "capacity", whole, 0)
        default = r.optional(info, "default", r.boolean, False)
        if default:
            defaults.append(key)
        carriers = []
        if (n := info.get("carriers")) is not None:
            for word, item in r.texts(n, f"trunk '{name}': carriers"):
                if CARRIER_KEY.fullmatch(word):
                    carriers.append(word)
                else:
                    r.problem(item, f"trunk '{name}': carriers: '{word}' is not a carrier key like megafon or mts")
        costs = _costs(b, info, name)
        if costs is None:
            unpriced.append(key)
            # A lone trunk without prices carries every domestic call (international only if allowed).
            costs = {"mobile": 0.0, "landline": 0.0, "international": 0.0}
        if host is not None:
            trunks[name] = Trunk(
                name=name, host=host, caller_id=caller_id, capacity=int(capacity), default=default,
                carriers=tuple(carriers), cost_onnet=costs.get("onnet"), cost_mobile=costs.get("mobile"),
                cost_landline=costs.get("landline"), cost_international=costs.get("international"),
                priority=int(r.optional(info, "priority", whole, 100)),
                international=r.optional(info, "international", r.boolean, False),
                calls_per_minute=int(r.optional(info, "calls_per_minute", whole, 0)),
                username=credentials[0], password=credentials[1], sip=sip)
    for extra in defaults[1:]:
        r.problem(extra, "trunks: only one trunk can be the default")
    if len(fields.entries if fields else ()) > 1:
        for at in unpriced:
            r.problem(at, f"trunk '{at.value}': with several trunks each needs cost: "
                          f"{{{', '.join(COST_CLASSES)}}} (price per minute)")
    return trunks


def _costs(b: PlanBuilder, info: Fields, name: str) -> dict[str, float] | None:
    """`cost: {onnet: 0, mobile: 1.9, landline: 1.9}`; a class left out is not carried."""
    node = info.get("cost")
    if node is None:
        return None
    fields = b.r.mapping(node, f"trunk '{name}': cost", COST_CLASSES)
    costs: dict[str, float] = {}
    for cls, (_, value) in (fields.entries.items() if fields else ()):
        price = b.r.number(value, f"trunk '{name}': cost.{cls}")
        if price is not None:
            costs[cls] = price
    return costs



def read_limits(b: PlanBuilder, top: Fields, trunks: dict[str, Trunk]) -> DailyLimits:
    """`limits: {campaigns: {calls_per_day, minutes_per_day}, trunks: {NAME: {...}},
    phones: {calls_per_day, minutes_per_day, extensions: {EXT: {...}}}, alert_to: [mail, ...]}`."""
    r = b.r
    node = top.get("limits")
    fields = r.mapping(node, "limits", ("campaigns", "trunks", "phones", "alert_to")) \
        if node is not None else None
    if fields is None:
        return DailyLimits()
    campaigns = _day_cap(b, fields.get("campaigns"), "limits campaigns")
    caps: dict[str, DayCap] = {}
    if (node := fields.get("trunks")) is not None and (named := r.mapping(node, "limits trunks")):
        for name, (key, value) in named.entries.items():
            if name not in trunks:
                r.problem(key, f"limits trunks: no trunk '{name}' in `trunks:`{did_you_mean(name, trunks)}")
            caps[name] = _day_cap(b, value, f"limits trunks {name}")
    phones, phone_caps = DayCap(), {}
    if (node := fields.get("phones")) is not None:
        phones = _day_cap(b, node, "limits phones", ("extensions",))
        each = r.mapping(node, "limits phones") if isinstance(node, MappingNode) else None
        if each is not None and (node := each.get("extensions")) is not None \
                and (named := r.mapping(node, "limits phones extensions")):
            for ext, (key, value) in named.entries.items():
                if ext not in b.staff:
                    r.problem(key, f"limits phones extensions: no staff phone '{ext}'"
                                   f"{did_you_mean(ext, b.staff)}")
                phone_caps[ext] = _day_cap(b, value, f"limits phones extensions {ext}")
    alert_to = []
    if fields.get("alert_to") is not None:
        for address, at in r.texts(fields.get("alert_to"), "limits alert_to"):
            if "@" not in address:
                r.problem(at, f"limits alert_to: {address!r} is not a mail address")
            alert_to.append(address)
    return DailyLimits(campaigns.calls, campaigns.minutes, tuple(alert_to), caps, phones, phone_caps)


def _day_cap(b: PlanBuilder, node: YNode | None, what: str, more: tuple[str, ...] = ()) -> DayCap:
    """`{calls_per_day: N, minutes_per_day: M}` (both optional, whole, 0 or more)."""
    r = b.r
    fields = r.mapping(node, what, ("calls_per_day", "minutes_per_day", *more)) if node is not None else None
    if fields is None:
        return DayCap()

    def whole(name: str) -> int:
        return int(r.optional(fields, name, partial(r.number, integer=True), 0) or 0)
    return DayCap(whole("calls_per_day"), whole("minutes_per_day"))

