"""The `trunks:` section of a YAML file as Trunk specs, for `ivr route` until the plan carries
trunks. Errors point to FILE:LINE."""
from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ivr.errors import ConfigError
from ivr.routing.carriers import CARRIER_KEY
from ivr.routing.choose import Trunk

_COSTS = ("onnet", "mobile", "landline", "international")
_KEYS = {"name", "carriers", "capacity", "cost", "priority", "international", "caller_id"}


def _where(path: Path, node: object) -> str:
    lc = getattr(node, "lc", None)
    return f"{path}:{lc.line + 1}" if lc is not None else str(path)


def _number(value: object, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where}: {what} must be a number >= 0, not {value!r}")
    return float(value)


def load_trunks(path: Path) -> tuple[Trunk, ...]:
    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such trunks file") from None
    except YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    items = data.get("trunks") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: expected a 'trunks:' list")
    trunks: list[Trunk] = []
    for item in items:
        where = _where(path, item)
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: a trunk is a mapping with name, carriers, capacity, cost, ...")
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown trunk key(s): {', '.join(unknown)}")
        name = item.get("name")
        if not isinstance(name, str) or not name or any(c in name for c in " ,;&|/\\"):
            raise ConfigError(f"{where}: trunk name {name!r} must be a word without spaces or , ; & |")
        if any(t.name == name for t in trunks):
            raise ConfigError(f"{where}: trunk {name!r} is defined twice")
        carriers = item.get("carriers") or []
        if not isinstance(carriers, list) or not all(isinstance(c, str) and CARRIER_KEY.fullmatch(c)
                                                     for c in carriers):
            raise ConfigError(f"{where}: {name}: carriers must be a list of carrier keys (megafon, mts, ...)")
        cost = item.get("cost") or {}
        if not isinstance(cost, dict) or set(cost) - set(_COSTS):
            raise ConfigError(f"{where}: {name}: cost is a mapping of {', '.join(_COSTS)} to a price per minute")
        capacity = item.get("capacity", 0)
        priority = item.get("priority", 100)
        for what, value in (("capacity", capacity), ("priority", priority)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}: {name}: {what} must be a whole number >= 0")
        international = item.get("international", False)
        if not isinstance(international, bool):
            raise ConfigError(f"{where}: {name}: international must be true or false")
        prices = {k: None if cost.get(k) is None else _number(cost[k], where, f"{name}: cost.{k}")
                  for k in _COSTS}
        trunks.append(Trunk(
            name=name, carriers=tuple(carriers), capacity=capacity,
            cost_onnet=prices["onnet"], cost_mobile=prices["mobile"], cost_landline=prices["landline"],
            cost_international=prices["international"], priority=priority,
            international=international, caller_id=str(item.get("caller_id") or "")))
    return tuple(trunks)
