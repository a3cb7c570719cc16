"""The `ivr` command speaks Russian or English: `--lang`, else the environment, else the plan's language;
plan problems keep FILE:LINE:COL and are said in that language; JSON output is the same in both."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ivr import i18n
from ivr.cli import main
from ivr.cli.language import choose, from_environment, plan_language
from ivr.config import ROOT, load_settings
from ivr.plan.errors import PlanError
from ivr.plan.loader import load_plan
from ivr.plan.problem_text import message, said

PLANS = Path(__file__).parent / "plans"
BAD = sorted(p for p in PLANS.glob("*.yaml") if p.name not in ("good.yaml", "secrets.yaml"))


def test_the_environment_as_gettext_reads_it():
    assert from_environment({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert from_environment({"LANGUAGE": "de:en", "LANG": "ru_RU.UTF-8"}) == "en"
    assert from_environment({"LC_ALL": "C", "LANG": "ru_RU.UTF-8"}) is None       # C says nothing
    assert from_environment({"LANG": "C.UTF-8"}) is None


def test_lang_option_then_environment_then_the_plan():
    settings = load_settings(env={})                     # config/plan.yaml: language ru
    assert choose("en", {"LANG": "ru_RU.UTF-8"}, settings) == "en"
    assert choose(None, {"LANG": "en_US.UTF-8"}, settings) == "en"
    assert choose(None, {"LANG": "C.UTF-8"}, settings) == "ru"
    elsewhere = dataclasses.replace(settings, plan_file="/nonexistent/plan.yaml")
    assert choose(None, {}, elsewhere) == i18n.DEFAULT
    with pytest.raises(SystemExit):
        choose("de", {}, settings)


@pytest.mark.parametrize("text, found", [
    ("company: X\nlanguage: en\n", "en"), ("language: 'ru'   # the callers'\n", "ru"),
    ('language: "en"\nlanguages: [ru, en]\n', "en"), ("menu:\n  language: en\n", None),   # nested: not the plan's
    ("language: de\n", None), ("company: X\n", None),
])
def test_the_plans_language_is_found_without_parsing_the_plan(tmp_path, text, found):
    plan = tmp_path / "plan.yaml"
    plan.write_text(text + "broken: [\n", encoding="utf-8")           # a plan that does not parse
    settings = dataclasses.replace(load_settings(env={}), plan_file=str(plan))
    assert plan_language(settings) == found


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_every_problem_of_the_bad_plans_is_said_in_russian(path):
    with pytest.raises(PlanError) as info:
        load_plan(path, secrets_path=PLANS / "secrets.yaml")
    with i18n.language("ru"):
        for problem in info.value.problems:
            text = said(problem)
            assert text.startswith(f"{problem.file}:{problem.line}:{problem.col}: "), text
            assert text != str(problem), f"no Russian template for: {problem.message}"


def test_a_message_no_template_knows_stays_as_written():
    with i18n.language("ru"):
        assert message("something new went wrong") == "something new went wrong"
        assert message("nodes.x: expected a whole number, got 'a' (did you mean 'b'?)") == \
            "nodes.x: ожидалось целое число, а указано 'a' (может быть, 'b'?)"


def test_plan_check_in_russian_keeps_file_line_col(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text((ROOT / "config/plan.yaml").read_text(encoding="utf-8").replace(
        "timezone: Europe/Moscow", "timezone: Europe/Moskow"), encoding="utf-8")
    assert main(["plan", "check", str(plan), "--skip-prompts", "--lang", "ru"]) == 1
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(plan.read_text(encoding="utf-8").splitlines(), 1) if "Moskow" in text)
    assert f"{plan}:{line}:11: timezone: неизвестный часовой пояс 'Europe/Moskow' (может быть, 'Europe/Moscow'?)" \
        in err, err
    assert main(["--lang", "en", "plan", "check", str(plan), "--skip-prompts"]) == 1
    assert f"{plan}:{line}:11: timezone: unknown time zone 'Europe/Moskow'" in capsys.readouterr().err


def test_plan_try_and_doctor_in_russian(capsys, monkeypatch, tmp_path):
    assert main(["plan", "try", "--at", "2026-12-07 13:10", "--to", "84951234567", "--digits", "2",
                 "--lang", "ru"]) == 0
    out = capsys.readouterr().out
    assert "по расписанию office в этот момент открыто" in out and "нажимает 2 -> dispatch" in out
    assert "звонок заканчивается: АТС кладёт трубку" in out
    monkeypatch.setenv("IVR_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IVR_WEB_PORT", "9")
    monkeypatch.setenv("LANGUAGE", "ru")
    main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert "ПРОБЛЕМА сервис: на http://127.0.0.1:9/status никто не отвечает" in "\n".join(lines)
    assert lines[-1].split()[1] in ("проблема", "проблемы", "проблем")


def test_calls_table_in_russian_and_the_same_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    assert main(["calls", "--lang", "ru"]) == 0
    assert capsys.readouterr().out.split()[:3] == ["№", "начало", "кто"]
    assert main(["calls", "--json", "--lang", "ru"]) == 0
    ru = json.loads(capsys.readouterr().out)
    assert main(["calls", "--json", "--lang", "en"]) == 0
    assert json.loads(capsys.readouterr().out) == ru
