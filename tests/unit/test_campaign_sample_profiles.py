"""The shipped campaign flows are valid against the sample plan, and a broken one is reported by line."""
from __future__ import annotations

import pytest

from ivr.campaigns.config import load_profiles, load_profiles_text
from ivr.config import ROOT
from ivr.plan.errors import PlanError
from ivr.plan.loader import load_plan

SAMPLE = ROOT / "config" / "campaigns.yaml"


@pytest.fixture(scope="module")
def plan():
    return load_plan(ROOT / "config" / "plan.yaml", secrets_path=ROOT / "config" / "secrets.yaml")


def test_sample_profiles_fit_the_sample_plan(plan):
    profiles = load_profiles(SAMPLE, plan=plan)
    assert set(profiles) == {"confirm", "notice"}
    confirm = profiles["confirm"]
    assert confirm.digits == {"1": "confirm", "2": "cancel", "3": "dispatcher", "0": "repeat"}
    assert confirm.dispatcher == "dispatch" and plan.nodes["dispatch"].kind == "hunt"
    assert confirm.retry["busy"].after == 300 and confirm.retry["busy"].limit == 3


def test_a_dispatcher_that_is_not_in_the_plan_is_reported_with_its_line(plan):
    text = SAMPLE.read_text(encoding="utf-8").replace("dispatcher: dispatch", "dispatcher: dispach", 1)
    with pytest.raises(PlanError) as refused:
        load_profiles_text(text, "campaigns.yaml", plan=plan)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "dispach" in l)
    assert any(p.line == line and "dispach" in p.message for p in refused.value.problems), refused.value.message


def test_retries_count_the_calls_after_the_first_and_limit_still_works_with_a_warning(caplog):
    text = ("profiles:\n  p:\n    flow: confirm\n    digits: {\"1\": confirm}\n"
            "    retry:\n      no_input: {after: 1m, retries: 0}\n      busy: {after: 5m, retries: 2}\n"
            "      machine: {after: 1h, limit: 2}\n")
    retry = load_profiles_text(text, "campaigns.yaml")["p"].retry
    # RetryRule.limit is the calls ending so before the row is given up: retries + 1
    assert (retry["no_input"].limit, retry["busy"].limit, retry["machine"].limit) == (1, 3, 2)
    assert "'limit: N' is deprecated, write 'retries: N-1'" in caplog.text
    # cut-off calls are retried unless a profile says otherwise
    assert retry["interrupted"].limit > 1 and retry["lost"].limit > 1
    both = text.replace("limit: 2", "limit: 2, retries: 1")
    with pytest.raises(PlanError, match="'limit' and 'retries' both given"):
        load_profiles_text(both, "campaigns.yaml")


def test_a_bad_campaigns_file_names_file_line_and_column(tmp_path):
    path = tmp_path / "campaigns.yaml"
    path.write_text("profiles:\n  confirm:\n    flow: confirm\n    deadline_hours: soon\n", encoding="utf-8")
    with pytest.raises(PlanError) as refused:
        load_profiles(path)
    assert str(refused.value).splitlines()[-1].startswith(f"{path}:4:21: deadline_hours: expected a number")
    path.write_text("profiles:\n  confirm: {flow: confirm\n", encoding="utf-8")
    with pytest.raises(PlanError, match=rf"^{path}:3:1: YAML syntax error"):
        load_profiles(path)
    path.write_bytes("profiles:\n  # Подтверждение\n".encode("cp1251"))
    with pytest.raises(PlanError, match=rf"^{path}:2:5: not UTF-8"):
        load_profiles(path)
