from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import ConfigError
from ivr.routing.choose import Trunk, choose_trunks
from ivr.routing.lookup import CarrierInfo
from ivr.routing.trunkfile import load_trunks

ROOT = Path(__file__).resolve().parents[2]

DEFAULT = Trunk("default", capacity=0, cost_mobile=2.4, cost_landline=1.1, cost_international=12.0,
                priority=100, international=True)
MEGAFON = Trunk("gsm-megafon", ("megafon",), capacity=2, cost_onnet=0.0, cost_mobile=1.9,
                cost_landline=1.9, priority=10)
MTS = Trunk("gsm-mts", ("mts",), capacity=1, cost_onnet=0.0, cost_mobile=2.0, priority=10)
TELE2 = Trunk("gsm-tele2", ("tele2",), capacity=1, cost_onnet=0.0, cost_mobile=1.9, priority=5)
TRUNKS = (DEFAULT, MEGAFON, MTS, TELE2)


def info(carrier: str | None, number: str = "+79261234567") -> CarrierInfo:
    return CarrierInfo(number, carrier, "registry", "", "", "Europe/Moscow")


def names(candidates: list) -> list[str]:
    return [c.trunk.name for c in candidates]


def test_onnet_first_then_cost_then_priority() -> None:
    result = choose_trunks(info("megafon"), "mobile", TRUNKS, {})
    assert names(result) == ["gsm-megafon", "gsm-tele2", "gsm-mts", "default"]
    assert [c.cost for c in result] == [0.0, 1.9, 2.0, 2.4]
    assert result[0].onnet and not result[1].onnet
    assert (result[0].free, result[-1].free) == (2, None)
    # equal cost 1.9: tele2 (priority 5) before megafon (priority 10)
    assert names(choose_trunks(info("mts"), "mobile", TRUNKS, {}))[:3] == ["gsm-mts", "gsm-tele2", "gsm-megafon"]


def test_full_trunk_is_skipped_and_free_counts_live_channels() -> None:
    result = choose_trunks(info("megafon"), "mobile", TRUNKS, {"gsm-megafon": 1})
    assert result[0].trunk is MEGAFON and result[0].free == 1
    result = choose_trunks(info("megafon"), "mobile", TRUNKS, {"gsm-megafon": 2, "gsm-tele2": 1})
    assert names(result) == ["gsm-mts", "default"]


def test_class_restrictions() -> None:
    assert names(choose_trunks(info(None, "+74951234567"), "local", TRUNKS, {})) == ["default", "gsm-megafon"]
    assert names(choose_trunks(info("kyivstar", "+380671234567"), "international", TRUNKS, {})) == ["default"]
    no_intl = (MEGAFON, MTS)
    assert choose_trunks(info("kyivstar", "+380671234567"), "international", no_intl, {}) == []
    assert choose_trunks(info("mts"), "internal", TRUNKS, {}) == []


def test_unknown_carrier_gets_no_onnet_price() -> None:
    result = choose_trunks(info(None), "mobile", TRUNKS, {})
    assert not any(c.onnet for c in result)
    assert names(result)[0] == "gsm-tele2"


def test_sample_trunks_file() -> None:
    trunks = load_trunks(ROOT / "config/trunks.yaml")
    by_name = {t.name: t for t in trunks}
    assert {"default", "gsm-megafon", "gsm-mts", "gsm-beeline", "gsm-tele2"} <= set(by_name)
    assert all(1 <= t.capacity <= 2 for n, t in by_name.items() if n.startswith("gsm-"))
    assert by_name["default"].international and by_name["gsm-mts"].carriers == ("mts",)


@pytest.mark.parametrize("body, message", [
    ("trunks:\n  - name: a b\n", "name"),
    ("trunks:\n  - name: a\n    capacity: -1\n", "capacity"),
    ("trunks:\n  - name: a\n    cost: {mobil: 1}\n", "cost"),
    ("trunks:\n  - name: a\n  - name: a\n", "twice"),
    ("trunks:\n  - name: a\n    carriers: [Мегафон]\n", "carriers"),
    ("nothing: 1\n", "trunks"),
])
def test_trunks_file_errors(tmp_path: Path, body: str, message: str) -> None:
    f = tmp_path / "trunks.yaml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_trunks(f)
    assert message in exc.value.message and str(f) in exc.value.message
