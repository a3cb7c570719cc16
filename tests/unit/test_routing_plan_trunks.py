"""`ivr route`'s plan values: taken from the cache only while the plan, its secrets and the code
that reads them are unchanged; a broken plan fails as always and is never cached."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import ivr.plan.loader
from ivr.config import Settings
from ivr.plan.errors import PlanError
from ivr.routing import plan_trunks as cache
from ivr.routing.plan_trunks import CACHE_FILE, plan_trunks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    for name in ("plan.yaml", "secrets.yaml"):
        shutil.copy(ROOT / "config" / name, tmp_path / name)
    return Settings(plan_file=str(tmp_path / "plan.yaml"), secrets_file=str(tmp_path / "secrets.yaml"),
                    var_dir=str(tmp_path / "var"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_validated_plan_is_read_once(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    country, trunks = plan_trunks(settings)
    assert country == "RU" and [(t.name, t.caller_id) for t in trunks] == [("default", "+74951234567")]
    assert (settings.var / CACHE_FILE).exists()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plan was read again")
    monkeypatch.setattr(ivr.plan.loader, "load_plan", refuse)
    assert plan_trunks(settings) == (country, trunks)


def test_a_changed_plan_or_secrets_file_is_read_again(settings: Settings) -> None:
    plan_trunks(settings)
    edit(Path(settings.plan_file), 'caller_id: "+74951234567"', 'caller_id: "+74957654321"')
    assert plan_trunks(settings)[1][0].caller_id == "+74957654321"
    before = (settings.var / CACHE_FILE).read_text()
    Path(settings.secrets_file).write_text(Path(settings.secrets_file).read_text() + "\n# edited\n")
    plan_trunks(settings)
    assert (settings.var / CACHE_FILE).read_text() != before


def test_changed_reader_code_reads_the_plan_again(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_trunks(settings)
    key = json.loads((settings.var / CACHE_FILE).read_text())["key"]
    monkeypatch.setattr(cache, "_code_stamp", lambda: ["ivr/plan/validate.py\0" "1\0" "2\0"])
    plan_trunks(settings)
    assert json.loads((settings.var / CACHE_FILE).read_text())["key"] != key


def test_a_broken_plan_fails_at_its_place_and_is_never_cached(settings: Settings) -> None:
    plan_trunks(settings)
    before = (settings.var / CACHE_FILE).read_text()
    edit(Path(settings.plan_file), "country: RU ", "country: 12 ")
    for _ in range(2):
        with pytest.raises(PlanError) as failed:
            plan_trunks(settings)
        assert any(p.file == settings.plan_file and p.line == 11 and p.col >= 10 for p in failed.value.problems)
    assert (settings.var / CACHE_FILE).read_text() == before


@pytest.mark.parametrize("content", ["{not json", '{"key": 1}', "[]", ""])
def test_a_torn_cache_is_ignored(settings: Settings, content: str) -> None:
    expected = plan_trunks(settings)
    (settings.var / CACHE_FILE).write_text(content)
    assert plan_trunks(settings) == expected


def test_a_var_dir_it_may_not_write_only_costs_time(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    blocked = Settings(plan_file=settings.plan_file, secrets_file=settings.secrets_file,
                       var_dir=str(tmp_path / "a-file"))
    assert plan_trunks(blocked) == plan_trunks(settings)
