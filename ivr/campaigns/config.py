"""Campaign profiles from YAML (config/campaigns.yaml beside the plan), validated like the plan:
every problem is reported as FILE:LINE:COL and reading goes on.

    profiles:
      confirm:
        flow: confirm
        hours: {daily: "09:00-21:00"}      # the callee's local time
        deadline_hours: 3
        retry: {busy: {after: 5m, retries: 2}, no_answer: {after: 30m, retries: 2}}   # calls after the first
        digits: {"1": confirm, "2": cancel, "3": dispatcher, "0": repeat}
        prompts: {intro: [campaign-intro], question: [campaign-confirm-question], ...}
        dispatcher: dispatch               # a hunt or queue node of the plan
        pacing: {max_concurrent: 10, per_free_dispatcher: 3}   # calls in flight per free dispatcher
        webhook: https://crm.example/hook  # each answer, signed with this URL's secret from
                                           # notifications.yaml (webhooks:)
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from ruamel.yaml.nodes import Node as YNode

from ivr.campaigns.importer import parse_zone
from ivr.campaigns.model import (ACTIONS, FLOW_KINDS, RETRY_OUTCOMES, Amd, Pacing, Profile, RetryRule,
                                 Wording)
from ivr.config import Settings
from ivr.errors import ConfigError
from ivr.plan import schedule as sched
from ivr.plan.errors import PlanError, Problem
from ivr.plan.model import Plan, TimeRange
from ivr.yaml_reader import Reader, compose, read_text

log = logging.getLogger(__name__)

PROFILE_KEYS = ("flow", "hours", "call_on_holidays", "holidays_from", "deadline_hours", "ring_seconds",
                "answer_timeout", "max_attempts", "retry", "pacing", "amd", "machine", "dispatcher",
                "digits", "prompts", "caller_id", "webhook", "record")
PROMPT_KEYS = ("intro", "question", "thanks", "no_input", "call_again", "machine")
PACING_KEYS = ("max_concurrent", "reserve_inbound", "calls_per_second", "per_free_dispatcher", "min_concurrent")
AMD_KEYS = ("enabled",) + tuple(f for f in Amd.__dataclass_fields__ if f != "enabled")
RETRY_KEYS = ("after", "retries", "limit")
# Digits each flow offers unless the profile says otherwise.
DEFAULT_DIGITS = {"confirm": {"1": "confirm", "2": "cancel", "3": "dispatcher", "0": "repeat"},
                  "notice": {"1": "understood", "3": "dispatcher", "0": "repeat"}}
FLOW_ACTIONS = {"confirm": ("confirm", "cancel", "dispatcher", "repeat"),
                "notice": ("understood", "dispatcher", "repeat")}
DEFAULT_RETRY = {"busy": RetryRule(300, 3), "no_answer": RetryRule(1800, 3), "congestion": RetryRule(300, 3),
                 "unreachable": RetryRule(1800, 2), "declined": RetryRule(1800, 2), "machine": RetryRule(3600, 2),
                 "no_input": RetryRule(1800, 2), "interrupted": RetryRule(300, 3), "lost": RetryRule(300, 3)}
DEFAULT_PROMPTS = {
    "confirm": Wording(intro=("campaign-intro",), question=("campaign-confirm-question",),
                       thanks={"confirm": ("campaign-confirmed",), "cancel": ("campaign-cancelled",),
                               "dispatcher": ("campaign-dispatcher",)},
                       no_input=("no-input",), call_again=("campaign-call-again",),
                       machine=("campaign-machine",)),
    "notice": Wording(intro=("campaign-notice-intro",), question=("campaign-notice-question",),
                      thanks={"understood": ("campaign-understood",), "dispatcher": ("campaign-dispatcher",)},
                      no_input=("no-input",), call_again=("campaign-call-again",),
                      machine=("campaign-machine",)),
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)?")
_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CALLER_ID = re.compile(r"\+?[0-9]{3,15}")
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


def campaigns_file(settings: Settings) -> Path:
    """config/campaigns.yaml beside the plan file (so a test or a site keeps both together)."""
    return settings.path(settings.plan_file).with_name("campaigns.yaml")


def load_profiles(path: Path, plan: Plan | None = None,
                  prompt_exists=None) -> dict[str, Profile]:
    """Profiles by name; a missing file gives the built-in `confirm` and `notice` profiles."""
    if not path.exists():
        return default_profiles()
    return load_profiles_text(read_text(path, PlanError), str(path), plan, prompt_exists)


def default_profiles() -> dict[str, Profile]:
    every_day = {d: (sched.parse_ranges("09:00-21:00")) for d in range(7)}
    return {k: Profile(name=k, kind=k, digits=dict(DEFAULT_DIGITS[k]), wording=DEFAULT_PROMPTS[k],
                       hours=every_day, retry=dict(DEFAULT_RETRY)) for k in FLOW_KINDS}


def load_profiles_text(text: str, source: str, plan: Plan | None = None,
                       prompt_exists=None) -> dict[str, Profile]:
    problems: list[Problem] = []
    root = compose(text, source, problems)
    if problems:
        raise PlanError(problems)
    r = Reader(source)
    top = r.mapping(root, "campaigns", ("profiles", "route_timezones")) if root is not None else None
    if top is not None and top.get("route_timezones") is not None:
        _route_zones(r, top.get("route_timezones"))
    profiles: dict[str, Profile] = {}
    node = top.get("profiles") if top else None
    if node is None:
        r.problem(root, "campaigns: 'profiles' is missing")
    fields = r.mapping(node, "profiles") if node is not None else None
    for name, (_key, value) in (fields.entries.items() if fields else ()):
        profile = _ProfileReader(r, plan, prompt_exists).read(name, value)
        if profile is not None:
            profiles[name] = profile
    if r.problems:
        raise PlanError(r.problems)
    return profiles


def load_route_zones(path: Path) -> dict[str, str]:
    """`route_timezones:` of campaigns.yaml: a route's departure zone, for rows without their own
    (keys lower case); {} without the file or the section. Problems are load_profiles'."""
    if not path.exists():
        return {}
    problems: list[Problem] = []
    root = compose(read_text(path, PlanError), str(path), problems)
    r = Reader(str(path))
    top = r.mapping(root, "campaigns") if root is not None and not problems else None
    node = top.get("route_timezones") if top else None
    return _route_zones(r, node) if node is not None else {}


def _route_zones(r: Reader, node: YNode) -> dict[str, str]:
    """{"Новосибирск — Томск": Asia/Novosibirsk, ...}: IANA zones, or МСК+N."""
    zones: dict[str, str] = {}
    f = r.mapping(node, "route_timezones")
    for route, (_key, value) in (f.entries.items() if f else ()):
        text = r.text(value, f"route_timezones {route}")
        zone = parse_zone(text) if text is not None else None
        if zone is None:
            r.problem(value, f"route_timezones {route}: {text!r} is not a time zone like Asia/Novosibirsk or МСК+4")
            continue
        zones[" ".join(route.lower().split())] = zone
    return zones


def parse_duration(text: str) -> float:
    """"90", "90s", "5m", "2h", "1d" -> seconds."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m:
        raise ConfigError(f"'{text}' is not a duration like 90s, 5m or 2h")
    return float(m.group(1)) * _UNITS[m.group(2)]


class _ProfileReader:
    def __init__(self, r: Reader, plan: Plan | None, prompt_exists):
        self.r, self.plan, self.prompt_exists = r, plan, prompt_exists

    def read(self, name: str, node: YNode) -> Profile | None:
        r = self.r
        what = f"profile '{name}'"
        f = r.mapping(node, what, PROFILE_KEYS)
        if f is None:
            return None
        flow_node = r.require(f, "flow", what)
        kind = r.choice(flow_node, f"{what} flow", FLOW_KINDS) if flow_node is not None else None
        if kind is None:
            return None
        hours_node = f.get("hours")
        hours = self._hours(hours_node, what) if hours_node is not None \
            else {d: sched.parse_ranges("09:00-21:00") for d in range(7)}
        digits = self._digits(f.get("digits"), kind, what)
        wording = self._wording(f.get("prompts"), kind, what)
        retry = dict(DEFAULT_RETRY)
        retry.update(r.optional(f, "retry", lambda n, w: self._retry(n, what), {}))
        dispatcher = r.optional(f, "dispatcher", lambda n, w: self._dispatcher(n, what), "")
        if "dispatcher" in digits.values() and not dispatcher:
            r.problem(f.get("digits") or f.at, f"{what}: a digit leads to 'dispatcher' but no "
                                                 "'dispatcher' node is named")
        holidays_from = tuple(v for v, _ in r.optional(f, "holidays_from", lambda n, w: r.texts(n, w), []))
        if self.plan is not None:
            for sched_name in holidays_from:
                if sched_name not in self.plan.schedules:
                    r.problem(f.get("holidays_from"), f"{what}: no schedule '{sched_name}' in the plan")
        caller_id = r.optional(f, "caller_id", lambda n, w: self._caller_id(n, what), "")
        return Profile(
            name=name, kind=kind, digits=digits, wording=wording, hours=hours,
            call_on_holidays=r.optional(f, "call_on_holidays", r.boolean, False),
            holidays_from=holidays_from,
            deadline_hours=r.optional(f, "deadline_hours", r.number, 3.0),
            ring_seconds=int(r.optional(f, "ring_seconds", lambda n, w: r.number(n, w, positive=True), 30)),
            answer_timeout=r.optional(f, "answer_timeout", lambda n, w: r.number(n, w, positive=True), 5.0),
            max_attempts=int(r.optional(f, "max_attempts",
                                        lambda n, w: r.number(n, w, integer=True, positive=True), 3)),
            retry=retry,
            pacing=r.optional(f, "pacing", lambda n, w: self._pacing(
                n, what, f.get("dispatcher") is not None, "dispatcher" in digits.values()), Pacing()),
            amd=r.optional(f, "amd", lambda n, w: self._amd(n, what), Amd()),
            machine=r.optional(f, "machine", lambda n, w: r.choice(n, f"{what} machine", ("hangup", "message")),
                               "hangup"),
            dispatcher=dispatcher, caller_id=caller_id,
            webhook=r.optional(f, "webhook", lambda n, w: self._webhook(n, what), ""),
            record=r.optional(f, "record", lambda n, w: r.boolean(n, f"{what} record"), False))

    def _hours(self, node: YNode, what: str) -> dict[int, tuple[TimeRange, ...]]:
        r = self.r
        f = r.mapping(node, f"{what} hours")
        weekly: dict[int, tuple[TimeRange, ...]] = {d: () for d in range(7)}
        for days_text, (key, value) in (f.entries.items() if f else ()):
            text = r.text(value, f"{what} hours {days_text}")
            try:
                days = sched.parse_days(days_text)
                ranges = sched.parse_ranges(text) if text is not None else ()
            except ConfigError as e:
                r.problem(key, f"{what} hours: {e.message}")
                continue
            for d in days:
                weekly[d] = ranges
        return weekly

    def _digits(self, node: YNode | None, kind: str, what: str) -> dict[str, str]:
        if node is None:
            return dict(DEFAULT_DIGITS[kind])
        r = self.r
        f = r.mapping(node, f"{what} digits")
        digits: dict[str, str] = {}
        for digit, (key, value) in (f.entries.items() if f else ()):
            if digit not in tuple("0123456789*#"):
                r.problem(key, f"{what} digits: '{digit}' is not a phone key (0-9, * or #)")
                continue
            action = r.choice(value, f"{what} digit {digit}", FLOW_ACTIONS[kind])
            if action is not None:
                digits[digit] = action
        answers = [a for a in FLOW_ACTIONS[kind] if a not in ("repeat", "dispatcher")]
        if f is not None and not any(a in digits.values() for a in answers):
            r.problem(node, f"{what} digits: no digit gives an answer ({', '.join(answers)})")
        return digits

    def _prompts(self, node: YNode, what: str) -> tuple[str, ...]:
        names = []
        for name, at in self.r.texts(node, what):
            if self.prompt_exists is not None and self.plan is not None:
                missing = [lang for lang in self.plan.languages if not self.prompt_exists(name, lang)]
                if missing:
                    self.r.problem(at, f"{what}: no prompt '{name}' in {', '.join(missing)}")
            names.append(name)
        return tuple(names)

    def _wording(self, node: YNode | None, kind: str, what: str) -> Wording:
        base = DEFAULT_PROMPTS[kind]
        if node is None:
            return base
        r = self.r
        f = r.mapping(node, f"{what} prompts", PROMPT_KEYS)
        if f is None:
            return base

        def listed(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            value = f.get(key)
            return default if value is None else self._prompts(value, f"{what} prompts {key}")

        thanks = dict(base.thanks)
        thanks_node = f.get("thanks")
        tf = r.mapping(thanks_node, f"{what} prompts thanks", ACTIONS) if thanks_node is not None else None
        for action, (_k, value) in (tf.entries.items() if tf else ()):
            thanks[action] = self._prompts(value, f"{what} prompts thanks {action}")
        return Wording(intro=listed("intro", base.intro), question=listed("question", base.question),
                       thanks=thanks, no_input=listed("no_input", base.no_input),
                       call_again=listed("call_again", base.call_again), machine=listed("machine", base.machine))

    def _retry(self, node: YNode, what: str) -> dict[str, RetryRule] | None:
        r = self.r
        f = r.mapping(node, f"{what} retry", RETRY_OUTCOMES)
        rules = {}
        for outcome, (_key, value) in (f.entries.items() if f else ()):
            rf = r.mapping(value, f"{what} retry {outcome}", RETRY_KEYS)
            if rf is None:
                continue
            after_node = r.require(rf, "after", f"{what} retry {outcome}")
            after = None
            if after_node is not None:
                text = r.text(after_node, f"{what} retry {outcome} after")
                try:
                    after = parse_duration(text) if text is not None else None
                except ConfigError as e:
                    r.problem(after_node, f"{what} retry {outcome} after: {e.message}")
            if rf.get("limit") is not None and rf.get("retries") is not None:
                r.problem(rf.get("limit"), f"{what} retry {outcome}: 'limit' and 'retries' both given; "
                                           "keep 'retries' (calls after the first)")
            if rf.get("limit") is not None:
                # `limit: N` read as "retry N times" but meant N calls in all: say so, keep its meaning
                log.warning("%s: %s retry %s: 'limit: N' is deprecated, write 'retries: N-1' (retries "
                            "after the first call)", r.source, what, outcome)
                limit = int(r.optional(rf, "limit", lambda n, w: r.number(n, w, integer=True), 3))
            else:
                limit = 1 + int(r.optional(rf, "retries", lambda n, w: r.number(n, w, integer=True), 2))
            if after is not None:
                rules[outcome] = RetryRule(after, limit)
        return rules

    def _pacing(self, node: YNode, what: str, has_dispatcher: bool, offers_dispatcher: bool) -> Pacing | None:
        r = self.r
        f = r.mapping(node, f"{what} pacing", PACING_KEYS)
        if f is None:
            return None
        pacing = Pacing(
            max_concurrent=int(r.optional(f, "max_concurrent",
                                          lambda n, w: r.number(n, w, integer=True, positive=True), 10)),
            reserve_inbound=int(r.optional(f, "reserve_inbound", lambda n, w: r.number(n, w, integer=True), 1)),
            calls_per_second=r.optional(f, "calls_per_second", lambda n, w: r.number(n, w, positive=True), 2.0),
            per_free_dispatcher=r.optional(f, "per_free_dispatcher", lambda n, w: r.number(n, w), 0.0),
            min_concurrent=int(r.optional(f, "min_concurrent", lambda n, w: r.number(n, w, integer=True), 0)))
        # Dispatcher-aware pacing needs someone to pace for: option 3 and the node it leads to.
        if pacing.per_free_dispatcher > 0 and not has_dispatcher:
            r.problem(f.get("per_free_dispatcher"), f"{what} pacing per_free_dispatcher: the profile names no "
                                                    "'dispatcher' node")
        elif pacing.per_free_dispatcher > 0 and not offers_dispatcher:
            r.problem(f.get("per_free_dispatcher"), f"{what} pacing per_free_dispatcher: no digit leads to "
                                                    "'dispatcher'")
        if pacing.min_concurrent > pacing.max_concurrent:
            r.problem(f.get("min_concurrent"), f"{what} pacing min_concurrent: more than max_concurrent "
                                               f"({pacing.min_concurrent} > {pacing.max_concurrent})")
        return pacing

    def _amd(self, node: YNode, what: str) -> Amd | None:
        r = self.r
        f = r.mapping(node, f"{what} amd", AMD_KEYS)
        if f is None:
            return None
        values: dict = {"enabled": r.optional(f, "enabled", r.boolean, True)}
        for key in AMD_KEYS[1:]:
            value = r.optional(f, key, lambda n, w: r.number(n, w, integer=True), None)
            if value is not None:
                values[key] = int(value)
        return Amd(**values)

    def _dispatcher(self, node: YNode, what: str) -> str | None:
        target = self.r.text(node, f"{what} dispatcher")
        if target is None or self.plan is None:
            return target
        found = self.plan.nodes.get(target)
        if found is None or found.kind not in ("hunt", "queue"):
            self.r.problem(node, f"{what} dispatcher: '{target}' is not a hunt or queue node of the plan")
            return None
        return target

    def _webhook(self, node: YNode, what: str) -> str | None:
        text = self.r.text(node, f"{what} webhook")
        if text is not None and not _URL.fullmatch(text):
            self.r.problem(node, f"{what} webhook: '{text}' is not an http(s) URL")
            return None
        return text

    def _caller_id(self, node: YNode, what: str) -> str | None:
        text = self.r.text(node, f"{what} caller_id")
        if text is not None and not _CALLER_ID.fullmatch(text):
            self.r.problem(node, f"{what} caller_id: '{text}' is not a phone number")
            return None
        return text
