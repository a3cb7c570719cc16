"""`ivr --help` lists every command without importing any; a command imports only its own module;
`ivr route` decides without numpy, the database, the web stack or (once validated) the plan reader."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ivr import cli
from ivr.routing import registry

ROOT = Path(__file__).resolve().parents[2]
# Each a tenth of a second or more of a command's start, none needed to explain a route.
HEAVY = ("numpy", "sqlalchemy", "aiohttp", "aiosqlite", "urllib.request", "babel.dates", "babel.numbers",
         "jinja2", "openpyxl")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_the_table_names_what_each_module_registers(name: str) -> None:
    parser = cli.build_parser([name])
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices[name].get_default("handler") is not None or sub.choices[name]._subparsers is not None


def test_help_imports_no_command_module_nor_heavy_library() -> None:
    code = ("import sys; from ivr import cli\n"
            "try: cli.main(['--help'])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('ivr.') or m in ('numpy', 'phonenumbers', 'aiohttp')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['ivr.cli']"


def test_an_alias_loads_its_command() -> None:
    args = cli.build_parser(["campaigns", "show", "1"]).parse_args(["campaigns", "show", "1"])
    assert args.handler is not None


def test_route_decided_here_loads_no_heavy_library_and_the_plan_reader_once(tmp_path: Path) -> None:
    registry.import_files([ROOT / "config/numbering/sample-DEF-9xx.csv"], tmp_path / "numbering")
    with socket.socket() as probe:                # a port nothing listens on: no service answers
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "IVR_VAR_DIR": str(tmp_path), "IVR_WEB_HOST": "127.0.0.1", "IVR_WEB_PORT": str(port),
           "IVR_TLS_CERT": ""}
    code = ("import json, sys; from ivr import cli\n"
            "status = cli.main(['--lang', 'ru', 'route', '+79139012345', '--json'])\n"
            "print(status, json.dumps(sorted(m for m in sys.modules if m.startswith(('ivr.plan.', 'babel.messages'))"
            f" or m in {HEAVY!r})))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            for _ in range(2)]
    for run in runs:
        decision = json.loads(run.stdout.splitlines()[0])
        assert (decision["carrier"], decision["trunk"]) == ("mts", "default")
        status, modules = run.stdout.splitlines()[1].split(" ", 1)
        assert status == "0" and not set(json.loads(modules)) & set(HEAVY)
    first, second = (set(json.loads(r.stdout.splitlines()[1].split(" ", 1)[1])) for r in runs)
    assert "ivr.plan.validate" in first                              # validated once, then cached
    assert not {m for m in second if m.startswith("babel")} and "ivr.plan.validate" not in second
    assert {m for m in second if m.startswith("ivr.plan.")} <= {"ivr.plan.errors", "ivr.plan.keys",
                                                                  "ivr.plan.problem_text"}
