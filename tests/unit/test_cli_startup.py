"""`ivr --help` lists every command without importing any; a command imports only its own module."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ivr import cli


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
