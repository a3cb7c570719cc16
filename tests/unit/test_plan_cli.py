"""`ivr plan check FILE`: a summary and exit 0, or FILE:LINE:COL problems on stderr and exit 1."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from ivr.cli import plan as plan_cli
from ivr.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PLANS = Path(__file__).parent / "plans"
SAMPLE_PROMPTS = ["welcome", "main-menu", "invalid-choice", "no-input", "all-busy", "closed", "holiday",
                  "leave-message", "goodbye"]


def run(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="ivr")
    plan_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose prompt catalogue is an empty temporary sounds directory."""
    return dataclasses.replace(Settings(), sounds_dir=str(tmp_path / "sounds"),
                               asterisk_data_dir=str(tmp_path / "asterisk"))


def give_prompts(settings: Settings, names: list[str], languages: list[str]) -> None:
    for lang in languages:
        folder = settings.path(settings.sounds_dir) / lang
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / f"{name}.wav").write_bytes(b"RIFF")


def test_sample_plan_is_ok_when_its_prompts_exist(settings, capsys):
    give_prompts(settings, SAMPLE_PROMPTS, ["ru", "en"])
    assert run(["plan", "check", str(ROOT / "config/plan.yaml")], settings) == 0
    out, err = capsys.readouterr()
    assert out.strip() == (f"{ROOT / 'config/plan.yaml'}: OK, 2 numbers, 14 nodes, 1 schedule, 3 staff, "
                           f"languages ru, en")
    assert err == ""


def test_missing_prompt_recordings_are_problems(settings, capsys):
    give_prompts(settings, [p for p in SAMPLE_PROMPTS if p != "holiday"], ["ru", "en"])
    give_prompts(settings, ["holiday"], ["ru"])
    assert run(["plan", "check", str(ROOT / "config/plan.yaml")], settings) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{ROOT / 'config/plan.yaml'}:")
    assert lines[0].endswith(": missing prompt 'holiday' for language 'en'")


def test_skip_prompts(settings, capsys):
    assert run(["plan", "check", "--skip-prompts", str(ROOT / "config/plan.yaml")], settings) == 0


def test_default_file_and_secrets_come_from_settings(settings, capsys):
    plan = ROOT / "config" / "plan.yaml"
    s = dataclasses.replace(settings, plan_file=str(plan), secrets_file=str(ROOT / "config" / "secrets.yaml"))
    assert run(["plan", "check", "--skip-prompts"], s) == 0
    assert capsys.readouterr().out.startswith(f"{plan}: OK, 2 numbers, 14 nodes,")


def test_check_refuses_node_kinds_the_service_cannot_run(settings):
    # Every kind runs today; a service built without one (RUNNABLE) must refuse plans that use it.
    from ivr.flows import RUNNABLE
    from ivr.plan.loader import PlanError, load_plan
    assert {"queue", "callback", "hunt", "voicemail"} <= RUNNABLE
    with pytest.raises(PlanError) as refused:
        load_plan(PLANS / "good.yaml", secrets_path=PLANS / "secrets.yaml", runnable=RUNNABLE - {"callback"})
    assert "callback nodes are not available in this version" in refused.value.message


def test_bad_plan_prints_every_problem_and_exits_1(settings, capsys):
    bad = PLANS / "unknown_node.yaml"
    code = run(["plan", "check", "--skip-prompts", "--secrets", str(PLANS / "secrets.yaml"), str(bad)], settings)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{bad}:6:27: unknown node 'strat' (did you mean 'start'?)",
        f"{bad}:14:12: unknown node 'helo' (did you mean 'hello'?)",
        f"{bad}:15:14: unknown node 'nowhere'",
    ]
    assert "Traceback" not in err


@pytest.mark.parametrize("content", [None, b"\xff\xfe garbage \x00", b"nodes: [\n"])
def test_unreadable_or_broken_file_is_one_line_per_problem(settings, capsys, tmp_path, content):
    path = tmp_path / "plan.yaml"
    if content is not None:
        path.write_bytes(content)
    assert run(["plan", "check", str(path)], settings) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:") and "Traceback" not in err
