from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ivr.cli import numbering, route
from ivr.config import Settings
from ivr.errors import IvrError

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ivr")
    sub = parser.add_subparsers(dest="command", required=True)
    numbering.register(sub)
    route.register(sub)
    args = parser.parse_args(argv)
    return args.handler(args, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=str(tmp_path / "var"))


def test_import_prints_broken_rows_and_exits_1_but_loads_good_rows(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "numbering", "import", str(DATA / "registry_2026.csv")) == 1
    out = capsys.readouterr().out
    assert f"{DATA / 'registry_2026.csv'}:4: Емкость:" in out
    assert f"{DATA / 'registry_2026.csv'}:9: До:" in out
    assert "registry: 4 ranges" in out
    assert run(settings, "numbering", "import", str(ROOT / "config/numbering/sample-DEF-9xx.csv")) == 0


def test_lookup_and_route_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    run(settings, "numbering", "import", str(ROOT / "config/numbering/sample-DEF-9xx.csv"))
    capsys.readouterr()
    assert run(settings, "numbering", "lookup", "8 926 123-45-67", "--json") == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["number"], found["carrier"], found["carrier_source"]) == ("+79261234567", "megafon", "registry")
    trunks = str(ROOT / "config/trunks.yaml")
    assert run(settings, "route", "8 926 123-45-67", "--json", "--trunks", trunks) == 0
    decision = json.loads(capsys.readouterr().out)
    assert list(decision) == ["number", "carrier", "carrier_source", "operator", "region", "timezone",
                              "candidates", "trunk"]
    assert decision["trunk"] == "gsm-megafon"
    assert decision["candidates"][0] == {"trunk": "gsm-megafon", "endpoint": "trunk-gsm-megafon", "cost": 0.0,
                                         "free": 2, "onnet": True, "caller_id": "+79261230000",
                                         "dial": decision["number"]}


def test_port_override_changes_route(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    run(settings, "numbering", "import", str(ROOT / "config/numbering/sample-DEF-9xx.csv"))
    assert run(settings, "numbering", "port", "+7 926 123 45 67", "tele2") == 0
    capsys.readouterr()
    run(settings, "route", "89261234567", "--json", "--trunks", str(ROOT / "config/trunks.yaml"))
    decision = json.loads(capsys.readouterr().out)
    assert (decision["carrier"], decision["carrier_source"], decision["trunk"]) == ("tele2", "override", "gsm-tele2")
    assert run(settings, "numbering", "port", "+79261234567", "--remove") == 0
    run(settings, "numbering", "lookup", "89261234567", "--json")
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["carrier_source"] == "registry"


def test_import_ported_cli(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "numbering", "import-ported", str(DATA / "Port_All_test.csv")) == 1
    out = capsys.readouterr().out
    assert f"{DATA / 'Port_All_test.csv'}:5: Number:" in out and "4 ported numbers stored" in out
    run(settings, "numbering", "lookup", "+79161234567", "--json")
    assert json.loads(capsys.readouterr().out)["carrier_source"] == "ported"


@pytest.mark.parametrize("argv, bad", [
    (["route", "8916123&4567"], "8916123&4567"), (["route", "8916,1234567"], "8916,1234567"),
    (["numbering", "lookup", "abc"], "abc"), (["numbering", "port", "x;y", "mts"], "x;y")])
def test_non_numbers_are_one_line_errors(settings: Settings, argv: list[str], bad: str) -> None:
    with pytest.raises(IvrError) as exc:
        run(settings, *argv)
    assert "\n" not in exc.value.message and repr(bad) in exc.value.message


def test_main_prints_one_line_and_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import ivr.cli as cli
    monkeypatch.setenv("IVR_VAR_DIR", str(tmp_path))
    assert cli.main(["route", "+7916&1234567"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ivr: '+7916&1234567' is not a phone number")
