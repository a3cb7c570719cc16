"""`ivr contacts import|export` and `ivr missed` on a real SQLite file, through their handlers."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ivr.cli import contacts as contacts_cli
from ivr.cli import missed as missed_cli
from ivr.config import Settings
from ivr.errors import IvrError

PLANS = Path(__file__).resolve().parent.parent / "integration" / "plans"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}", plan_file=str(PLANS / "ivr.yaml"),
                    secrets_file=str(PLANS / "secrets.yaml"), var_dir=str(tmp_path / "var"),
                    web_port=1, clock="2026-11-25T11:00:00+03:00")


def run(module, settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.handler(args, settings)


def test_import_names_every_refused_row_and_imports_the_rest(settings, tmp_path, capsys):
    csv = tmp_path / "contacts.csv"
    csv.write_text("\ufeffname;numbers;manager;vip\nАнна;8 916 100-00-01;101;да\n;+79161000002;;\n"
                   "Борис;12;;\nВера;+79161000003;555;\nГлеб;+79161000004;;нет\n", encoding="utf-8")
    assert run(contacts_cli, settings, "contacts", "import", str(csv)) == 1
    out = capsys.readouterr().out
    assert "5 rows read: imported 2 new, 0 updated, 3 refused" in out
    assert "row 3: name: empty" in out and "row 4: numbers: '12'" in out
    assert "row 5: manager: '555' is not a staff extension" in out
    assert run(contacts_cli, settings, "contacts", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["name"], c["numbers"], c["vip"]) for c in listed] == [("Анна", ["+79161000001"], True),
                                                                    ("Глеб", ["+79161000004"], False)]
    out_file = tmp_path / "out.csv"
    assert run(contacts_cli, settings, "contacts", "export", str(out_file)) == 0
    assert out_file.read_text(encoding="utf-8").splitlines()[1].endswith(",Анна,+79161000001,,101,yes,")


def test_missed_list_is_empty_and_callback_needs_the_service(settings, capsys):
    assert run(missed_cli, settings, "missed", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    with pytest.raises(IvrError, match="does not answer"):
        run(missed_cli, settings, "missed", "callback", "1", "--staff", "101")
    assert run(missed_cli, settings, "missed", "report", "--json") == 0
    assert json.loads(capsys.readouterr().out)["total"]["items"] == 0
