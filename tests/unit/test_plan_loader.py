"""The plan loader: what a good plan becomes, and every problem of a bad one, with its position."""
from __future__ import annotations

import io
import random
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml import YAML

from ivr.errors import ConfigError
from ivr.plan.loader import PlanError, Problem, load_plan, load_plan_text, round_trip_yaml
from ivr.plan.model import (
    CallbackNode, ForwardNode, GotoNode, HangupNode, HuntMember, HuntNode, LanguageNode, MenuNode,
    PlayNode, QueueNode, ScheduleNode, TimeRange, VoicemailNode,
)

PLANS = Path(__file__).parent / "plans"
ROOT = Path(__file__).resolve().parents[2]
SECRETS = PLANS / "secrets.yaml"

MINIMAL = """\
company: X
timezone: Europe/Moscow
country: {country}
language: ru
numbers:
  "+74951112233": {{entry: bye}}
nodes:
  bye: {{type: hangup}}
"""


def problems_of(text: str, **kwargs) -> list[Problem]:
    with pytest.raises(PlanError) as info:
        load_plan_text(text, "plan.yaml", **kwargs)
    return info.value.problems


# ----- a good plan -----

def test_good_plan_becomes_frozen_data():
    plan = load_plan(PLANS / "good.yaml")
    assert plan.company == "Test Diner"
    assert (plan.timezone, plan.country, plan.language, plan.languages) == (
        "Europe/Moscow", "RU", "ru", ("ru", "en"))
    assert plan.ring_seconds == 1.0
    assert plan.short_call_seconds == 2.5
    assert set(plan.numbers) == {"+74951112233", "+74951112244"}
    assert plan.numbers["+74951112233"].source == "main-line"
    assert plan.numbers["+74951112244"].entry == "start"
    assert plan.numbers["+74951112244"].source == ""
    assert plan.fallback == ("201", "202")
    assert plan.source == str(PLANS / "good.yaml")
    assert re.fullmatch(r"[0-9a-f]{64}", plan.checksum)


def test_good_plan_staff_get_passwords_from_secrets():
    plan = load_plan(PLANS / "good.yaml")
    cook = plan.staff["201"]            # written unquoted in the plan: still the text "201"
    assert (cook.name, cook.password, cook.language) == ("Cook", "test-pass-201", "en")
    assert cook.mobile == "+79161234567"   # "8 916 123-45-67" normalised with the plan's country
    assert plan.staff["202"].name == "Waiter"
    assert plan.staff["203"].name == ""


def test_good_plan_nodes_of_every_kind():
    nodes = load_plan(PLANS / "good.yaml").nodes
    kinds = {type(n) for n in nodes.values()}
    assert kinds == {PlayNode, MenuNode, ScheduleNode, LanguageNode, GotoNode, HangupNode, ForwardNode,
                     HuntNode, QueueNode, VoicemailNode, CallbackNode}
    assert nodes["start"] == ScheduleNode(id="start", schedule="office", open="hello", closed="bye",
                                          holiday="bye")   # holiday falls back to closed
    assert nodes["hello"] == PlayNode(id="hello", prompts=("welcome",), next="menu")
    menu = nodes["menu"]
    assert menu.choices == {"1": "hunt", "2": "queue", "3": "forward", "4": "voicemail", "5": "callback",
                            "9": "english", "*": "again", "#": "bye"}
    assert (menu.timeout, menu.retries, menu.invalid, menu.no_input, menu.default) == (
        4.5, 1, ("invalid-choice",), ("no-input",), "hunt")
    queue = nodes["queue"]
    assert (queue.agents, queue.strategy, queue.max_callers, queue.agent_ring_seconds) == (
        ("201", "202"), "leastrecent", 5, 12.0)
    assert nodes["voicemail"].max_seconds == 60.0
    assert nodes["callback"].prompts == ("callback-offer",)
    assert nodes["english"].language == "en"


def test_ring_times_in_rings_or_seconds():
    plan = load_plan(PLANS / "good.yaml")
    hunt = plan.nodes["hunt"]
    assert hunt.members == (
        HuntMember(target="201", ring_seconds=3.0),          # the group's `rings: 3` at 1 s a ring
        HuntMember(target="202", ring_seconds=8.0),          # `seconds: 8`
        HuntMember(target="+79167654321", ring_seconds=1.0, follow_me=("203",), confirm=True),
    )
    assert (hunt.strategy, hunt.limit_seconds, hunt.music, hunt.ring_busy, hunt.then) == (
        "overlap", 40.0, "default", True, "voicemail")
    assert plan.nodes["forward"].ring_seconds == 6.0


@pytest.mark.parametrize("country, ring", [("RU", 5.0), ("DE", 5.0), ("UA", 5.0), ("US", 6.0), ("GB", 3.0)])
def test_ring_cadence_comes_from_the_country(country, ring):
    plan = load_plan_text(MINIMAL.format(country=country), "plan.yaml")
    assert plan.ring_seconds == ring


def test_default_hunt_ring_is_two_rings_of_the_country():
    text = MINIMAL.format(country="US").replace(
        "bye: {type: hangup}", 'bye: {type: hunt, members: ["+12025550143"]}')
    member = load_plan_text(text, "plan.yaml").nodes["bye"].members[0]
    assert member == HuntMember(target="+12025550143", ring_seconds=12.0)


def test_schedules_are_parsed():
    plan = load_plan(PLANS / "good.yaml")
    office = plan.schedules["office"]
    assert office.weekly[0] == (TimeRange(time(9), time(13)), TimeRange(time(14), time(18)))
    assert office.weekly[5] == (TimeRange(time(10), time.max),)        # "24:00"
    assert office.weekly[6] == ()
    assert office.holidays == {date(2026, 1, 1): "", date(2026, 5, 9): "Victory Day",
                               date(2026, 6, 12): "Russia Day", date(2026, 6, 13): "Russia Day",
                               date(2026, 6, 14): "Russia Day"}
    moscow = ZoneInfo("Europe/Moscow")
    eve, august = office.closures
    assert (eve.start, eve.end, eve.reason) == (
        datetime(2026, 12, 31, 15, tzinfo=moscow), datetime(2027, 1, 1, tzinfo=moscow), "New Year's Eve")
    # A bare date as the end includes that whole day.
    assert (august.start, august.end) == (datetime(2026, 8, 1, tzinfo=moscow), datetime(2026, 8, 3, tzinfo=moscow))
    # `<<: *weekdays` merges the office hours into the lunch schedule.
    assert plan.schedules["lunch"].weekly == office.weekly


def test_sample_plan_is_valid_and_its_prompts_have_texts_in_every_language():
    texts = YAML(typ="safe").load((ROOT / "sounds" / "prompts.yaml").read_text(encoding="utf-8"))
    asked = []

    def exists(name: str, language: str) -> bool:
        asked.append((name, language))
        return bool(texts.get(name, {}).get(language))

    plan = load_plan(ROOT / "config" / "plan.yaml", secrets_path=ROOT / "config" / "secrets.yaml",
                     prompt_exists=exists)
    assert len(plan.numbers) == 2
    assert {n.source for n in plan.numbers.values()} >= {"yandex-direct"}
    assert set(plan.staff) == {"101", "102", "103"}
    assert plan.ring_seconds == 5.0
    assert {lang for _, lang in asked} == {"ru", "en"}
    # prompts.yaml also serves queues and campaigns; every prompt the plan names must be there.
    assert {name for name, _ in asked} <= set(texts)
    booking = plan.nodes["booking"]
    assert [m.target for m in booking.members] == ["101", "102", "+79161234567"]
    assert plan.nodes["main_menu"].choices["9"] == "english"


# ----- bad plans: each fixture marks its expected problems with `# expect: text` on the line -----

def _expected(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for part in line.split("# expect: ")[1:]:
            found.append((number, part.strip()))
    return found


BAD_PLANS = sorted(p.name for p in PLANS.glob("*.yaml") if _expected(p))


def test_every_bad_fixture_is_collected():
    assert len(BAD_PLANS) >= 10


@pytest.mark.parametrize("name", BAD_PLANS)
def test_bad_plan_reports_each_problem_on_its_line(name):
    path = PLANS / name
    with pytest.raises(PlanError) as info:
        load_plan(path)
    got = [(p.line, p.message) for p in info.value.problems]
    assert all(p.file == str(path) for p in info.value.problems)
    unmatched = list(got)
    for line, text in _expected(path):
        match = next((g for g in unmatched if g[0] == line and text in g[1]), None)
        assert match is not None, f"line {line}: no problem containing {text!r}; got {got}"
        unmatched.remove(match)
    assert not unmatched, f"unexpected problems: {unmatched}"


def test_positions_are_one_based_line_and_column():
    line = "  x: {type: goto, next: nowhere}"
    problems = problems_of(MINIMAL.format(country="RU") + line + "\n")
    assert [(p.line, p.col, p.message) for p in problems] == [
        (9, line.index("nowhere") + 1, "unknown node 'nowhere'")]


def test_error_message_lists_all_problems_as_file_line_col():
    text = MINIMAL.format(country="RU").replace("Europe/Moscow", "Mars/Base").replace(
        "{type: hangup}", "{type: hangup, prompt: [a]}")
    with pytest.raises(PlanError) as info:
        load_plan_text(text, "db:plan-v7")
    error = info.value
    assert isinstance(error, ConfigError)
    assert error.message.splitlines() == [
        "db:plan-v7:2:11: timezone: unknown time zone 'Mars/Base'",
        "db:plan-v7:8:23: node 'bye': unknown key 'prompt' for a hangup node (did you mean 'prompts'?)",
    ]
    assert error.details["problems"][0] == {"file": "db:plan-v7", "line": 2, "col": 11,
                                            "message": "timezone: unknown time zone 'Mars/Base'"}


def test_missing_prompts_are_reported_per_language():
    text = MINIMAL.format(country="RU").replace("language: ru", "language: ru\nlanguages: [ru, en]").replace(
        "{type: hangup}", "{type: hangup, prompts: [goodbye, thanks]}")
    have = {("goodbye", "ru"), ("goodbye", "en"), ("thanks", "ru")}
    problems = problems_of(text, prompt_exists=lambda name, lang: (name, lang) in have)
    line = text.splitlines()[8]
    assert [(p.line, p.col, p.message) for p in problems] == [
        (9, line.index("thanks") + 1, "missing prompt 'thanks' for language 'en'")]


def test_prompts_are_not_checked_without_a_checker():
    text = MINIMAL.format(country="RU").replace("{type: hangup}", "{type: hangup, prompts: [nowhere]}")
    assert load_plan_text(text, "plan.yaml").nodes["bye"].prompts == ("nowhere",)


# ----- secrets -----

STAFFED = MINIMAL.format(country="RU") + 'staff:\n  "101": {name: A}\n'


def test_plan_without_staff_needs_no_secrets(tmp_path):
    load_plan_text(MINIMAL.format(country="RU"), "plan.yaml", secrets_path=tmp_path / "none.yaml")


def test_staff_without_a_secrets_file_is_a_problem(tmp_path):
    problems = problems_of(STAFFED, secrets_path=tmp_path / "secrets.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (10, f"staff '101': no password, because there is no secrets file {tmp_path / 'secrets.yaml'}")]


def test_weak_password_and_bad_secrets_are_reported_in_the_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text('staff:\n  "101": {password: "a b;c"}\nextra: 1\n', encoding="utf-8")
    problems = problems_of(STAFFED, secrets_path=secrets)
    assert [(p.file, p.line) for p in problems] == [
        ("plan.yaml", 10), (str(secrets), 2), (str(secrets), 3)]
    assert "must be 8 to 64 characters" in problems[1].message
    assert "unknown key 'extra'" in problems[2].message


@pytest.mark.parametrize("password, words", [
    ("1234", "must be 8 to 64 characters"),
    ("12345678", "too weak: mix at least two kinds"),
    ("password", "too weak: mix at least two kinds"),
    ("Password", "too weak: a well-known"),
    ("p@ssw0rd", "too weak: a well-known"),
    ("aaaa1111", "too weak: too few different characters"),
    ("sip-101!", "too weak: a well-known or guessable"),
])
def test_guessable_sip_passwords_are_refused_at_plan_check(tmp_path, password, words):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f'staff:\n  "101": {{password: "{password}"}}\n', encoding="utf-8")
    problems = problems_of(STAFFED, secrets_path=secrets)
    assert (problems[-1].file, problems[-1].line) == (str(secrets), 2) and words in problems[-1].message


def test_secrets_syntax_error_points_into_the_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("staff: {\n", encoding="utf-8")
    problems = problems_of(STAFFED, secrets_path=secrets)
    assert problems[0].file == str(secrets) and "YAML syntax error" in problems[0].message


# ----- unreadable input never gives a traceback -----

def test_missing_file(tmp_path):
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path / "nope.yaml")
    assert info.value.problems[0].line == 1 and "cannot read" in info.value.problems[0].message


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes("company: X\ntimezone: Europe/Moscow\nname: Авто".encode("cp1251"))
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert (info.value.problems[0].line, info.value.problems[0].col) == (3, 7)


def test_date_like_text_that_round_trip_yaml_cannot_read():
    # Read as text by the validator, but ruamel's round-trip loader (used to rewrite plans) chokes on it.
    problems = problems_of(MINIMAL.format(country="RU").replace("company: X", "company: 2026-02-30"))
    assert "quote the value" in problems[0].message


GARBAGE = [
    "", "---", "~", "[]", "- a\n- b", "42", "'text'", "a: *x", "&a [*a]", "{{{", "\t\tcompany: X",
    "company: X\x00", "key: !!python/object/apply:os.system [echo hi]", "nodes: !!binary Zm9v",
    "[" * 1000, "{a: " * 1000, "<<: 5", "<<: *x", "nodes: {a: {<<: [1, 2]}}", "a: 1\n---\nb: 2\n",
    "numbers: {1e999: {entry: x}}", "timeout: .inf", "%YAML 9.9\n---\na: 1", "? [a, b]\n: c",
    "nodes: {? [a]: {type: play}}", "numbers: {+: x, '': y, null: z}", "nodes: {x: {type: [play]}}",
    "schedules: {o: {hours: {mon: [1, [2]], tue: {a: b}}}}", "languages: {a: b}\nlanguage: [x]",
    "nodes: {m: {type: menu, choices: {? {a: b} : c}}}", "staff: {'101': [1]}\nfallback: {a: b}",
    "&a {<<: *a}", "nodes: {a: &b {type: goto, next: a, <<: *b}}",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_gives_problems_not_a_traceback(text):
    problems = problems_of(text)
    assert problems and all(p.line >= 1 and p.col >= 1 and p.message for p in problems)


def test_mutated_sample_plans_give_plans_or_problems_never_tracebacks():
    original = (ROOT / "config" / "plan.yaml").read_text(encoding="utf-8")
    secrets = ROOT / "config" / "secrets.yaml"
    rng = random.Random(20261124)
    alphabet = list(":-[]{},&*!|>'\"#%@`?\n\t 0123456789abc") + ["nodes:", "type: menu", "<<: *a", "&a "]
    failures = 0
    for _ in range(400):
        chars = list(original)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.4:
                del chars[i:i + rng.randint(1, 20)]
            elif op < 0.8:
                chars.insert(i, rng.choice(alphabet))
            else:
                j = rng.randrange(len(chars))
                chars[i], chars[j] = chars[j], chars[i]
        try:
            load_plan_text("".join(chars), "m.yaml", secrets_path=secrets)
        except PlanError as e:
            failures += 1
            assert e.problems and all(p.line >= 1 for p in e.problems)
    assert failures > 200    # the mutations really break most plans


# ----- the sample plan as admins see it -----

def test_round_trip_keeps_the_sample_plan_byte_for_byte_and_keeps_comments_on_change():
    original = (ROOT / "config" / "plan.yaml").read_text(encoding="utf-8")
    yaml = round_trip_yaml()
    out = io.StringIO()
    yaml.dump(yaml.load(original), out)
    assert out.getvalue() == original
    data = yaml.load(original)
    data["nodes"]["main_menu"]["timeout"] = 7
    out = io.StringIO()
    yaml.dump(data, out)
    changed = out.getvalue()
    assert "timeout: 7               # seconds to wait for a key after the menu" in changed
    assert changed.count("#") == original.count("#")


def test_format_reference_shows_the_complete_sample_plan():
    doc = (ROOT / "docs" / "plan-format.md").read_text(encoding="utf-8")
    assert (ROOT / "config" / "plan.yaml").read_text(encoding="utf-8") in doc


def test_pickup_group_and_transfer_ring_seconds(tmp_path):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text('staff:\n  "101": {password: good-secret-1}\n', encoding="utf-8")
    text = MINIMAL.format(country="RU") + 'transfer_ring_seconds: 12\nstaff:\n  "101": {name: A, pickup_group: hall}\n'
    plan = load_plan_text(text, "plan.yaml", secrets_path=secrets)
    assert plan.staff["101"].pickup_group == "hall" and plan.transfer_ring_seconds == 12
    assert load_plan_text(MINIMAL.format(country="RU"), "plan.yaml").transfer_ring_seconds == 20.0   # 4 rings
    bad = text.replace("hall", "Hall Two").replace("seconds: 12", "seconds: 0")
    assert sorted(p.message for p in problems_of(bad, secrets_path=secrets)) == [
        "staff '101': pickup_group 'Hall Two' must be lower-case letters, digits, '_' or '-' (up to 32)",
        "transfer_ring_seconds: must be more than 0"]
