"""Manual carrier overrides set by hand (`ivr numbering port`): a small JSON file of
{"+79161234567": "megafon"} in the data directory, written atomically under the store's lock."""
from __future__ import annotations

import re
from pathlib import Path

from ivr.errors import InvalidInput
from ivr.routing import store
from ivr.routing.carriers import CARRIER_KEY
from ivr.routing.layout import OVERRIDES

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def check_e164(number: str) -> str:
    if not _E164.fullmatch(number):
        raise InvalidInput(f"{number!r} is not an E.164 number")
    return number


def check_carrier(carrier: str) -> str:
    if not CARRIER_KEY.fullmatch(carrier):
        raise InvalidInput(f"carrier {carrier!r}: use a carrier key such as megafon, mts, beeline, "
                           "tele2, kyivstar, vodafone_ua, lifecell")
    return carrier


def load_overrides(data_dir: Path) -> dict[str, str]:
    data = store.read_json(data_dir / OVERRIDES, dict)
    if not isinstance(data, dict):
        raise InvalidInput(f"{data_dir / OVERRIDES}: expected a JSON object of number: carrier")
    return {str(k): str(v) for k, v in data.items()}


def set_override(data_dir: Path, e164: str, carrier: str) -> None:
    check_e164(e164)
    check_carrier(carrier)
    with store.locked(data_dir):
        overrides = load_overrides(data_dir)
        overrides[e164] = carrier
        store.write_json_atomic(data_dir / OVERRIDES, overrides)


def remove_override(data_dir: Path, e164: str) -> bool:
    """Drop an override; False if the number had none."""
    check_e164(e164)
    with store.locked(data_dir):
        overrides = load_overrides(data_dir)
        if overrides.pop(e164, None) is None:
            return False
        store.write_json_atomic(data_dir / OVERRIDES, overrides)
    return True
