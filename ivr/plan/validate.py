"""Turning a composed YAML tree (ruamel nodes, which keep line and column) into a Plan.

Every problem is recorded with its position and reading goes on, so an admin sees all of them at once.
Reading works on ruamel's node graph rather than loaded objects: scalars keep their exact text
("0101", "+74951234567"), duplicate keys become problems instead of exceptions, and nothing
(dates, times) is converted behind our back.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import partial
from datetime import date, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from ruamel.yaml.nodes import MappingNode, Node as YNode, ScalarNode, SequenceNode

from ivr.errors import ConfigError
from ivr.plan import schedule as sched
from ivr.plan.errors import Problem
from ivr.plan.model import (
    CARRIER_KEY, CONSENT_PROMPT, AutoCallbackRule, CallbackNode, Closure, CompanyNumber, DailyLimits, DayCap,
    ForwardNode, GotoNode, HangupNode, HuntMember, HuntNode, LanguageNode, MenuNode, Node, Plan, PlayNode,
    QueueNode, Schedule, ScheduleNode, Staff, TimeRange, Trunk, VoicemailNode,
)
from ivr.plan.recording import read_recording, record_flag
from ivr.plan.reasons import REASON_GROUPS, REASON_WORDS, expand_reasons
from ivr.plan.trunk_sip import read_trunk_sip
from ivr.security.passwords import weakness

PromptExists = Callable[[str, str], bool]

# One ring as a caller hears it (Asterisk indications.conf; UA, BY, KZ keep the Soviet 1 s + 4 s).
RING_CADENCE_SECONDS = {"RU": 5.0, "UA": 5.0, "BY": 5.0, "KZ": 5.0, "DE": 5.0,
                        "US": 6.0, "CA": 6.0, "GB": 3.0}
DEFAULT_RINGS = 2
TRANSFER_RINGS = 4           # a transfer target rings this long before the call comes back
HUNT_STRATEGIES = ("sequential", "ringall", "roundrobin", "memory", "overlap")
# leastrecent is Asterisk app_queue's name for longestidle.
QUEUE_STRATEGIES = ("ringall", "linear", "longestidle", "leastrecent", "roundrobin", "fewestcalls", "random")
MENU_KEYS = tuple("0123456789*#")

TOP_KEYS = ("company", "timezone", "country", "language", "languages", "ring_seconds",
            "short_call_seconds", "numbers", "schedules", "staff", "fallback", "nodes", "trunks",
            "auto_callback", "limits", "transfer_ring_seconds", "recording")
NUMBER_KEYS = ("entry", "source", "name", "record")
SCHEDULE_KEYS = ("hours", "holidays", "closures")
HOLIDAY_KEYS = ("date", "from", "to", "name")
CLOSURE_KEYS = ("from", "to", "reason")
STAFF_KEYS = ("name", "mobile", "language", "dial", "dial_per_hour", "pickup_group", "record")
# A pickup group becomes a word in pjsip.conf.
_PICKUP_GROUP = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
TRUNK_KEYS = ("host", "caller_id", "capacity", "default", "carriers", "cost", "priority", "international",
              "calls_per_minute", "sip")
# Destination classes a phone may be allowed to dial (ivr.routing.numbers.DestClass).
DIAL_CLASSES = ("internal", "local", "mobile", "long_distance", "international")
DEFAULT_DIAL = ("internal", "local", "mobile", "long_distance")
COST_CLASSES = ("onnet", "mobile", "landline", "international")
# A trunk name becomes a PJSIP section and a dialplan word.
_TRUNK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")
AUTO_CALLBACK_KEYS = ("schedule", "reasons", "numbers", "staff", "queue", "not_before", "not_after",
                      "delay_seconds", "attempts", "retry_seconds", "skip_short")
MEMBER_KEYS = ("target", "rings", "seconds", "follow_me", "confirm")
AGENT_KEYS = ("extension", "penalty")
NODE_KEYS: dict[str, tuple[str, ...]] = {
    "play": ("prompts", "next"),
    "menu": ("prompts", "choices", "timeout", "retries", "invalid", "no_input", "default"),
    "schedule": ("schedule", "open", "closed", "holiday"),
    "language": ("language", "next"),
    "goto": ("next",),
    "hangup": ("prompts",),
    "forward": ("number", "rings", "seconds", "then", "record"),
    "hunt": ("members", "strategy", "rings", "seconds", "limit_seconds", "music", "ring_busy",
             "overlap_seconds", "then", "manager_first", "record"),
    "queue": ("agents", "strategy", "music", "announce_every", "max_wait", "max_callers",
              "callback_after", "agent_ring_seconds", "wrapup_seconds", "then", "vip",
              "service_level_seconds", "skip_after_no_answer_seconds", "leave_digit", "leave",
              "callback_retries", "callback_retry_seconds", "record"),
    "voicemail": ("prompts", "max_seconds", "then"),
    "callback": ("prompts", "then"),
}
# Kinds that neither wait for the caller nor ring anyone: a cycle made only of these never ends.
QUIET_KINDS = frozenset({"play", "goto", "language", "schedule"})

_NODE_ID = re.compile(r"[\w-]+")
_EXTENSION = re.compile(r"\d{2,6}")
_TARGET_EXTENSION = re.compile(r"\d{1,6}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_PROMPT = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
# Passwords end up in pjsip.conf, where ';' starts a comment and spaces break the value.
_PASSWORD = re.compile(r"[A-Za-z0-9_.!@%^*+=:,/?~-]{8,64}")
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"


def _tag(node: YNode) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag) or "")


def _is_null(node: YNode | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and _tag(node) == _NULL_TAG)


def _describe(node: YNode) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    text = str(node.value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


@dataclass
class Fields:
    """The entries of one YAML mapping: key text -> (key node, value node)."""
    entries: dict[str, tuple[YNode, YNode]]
    at: YNode                                  # where to report a missing key

    def get(self, name: str) -> YNode | None:
        entry = self.entries.get(name)
        return None if entry is None or _is_null(entry[1]) else entry[1]


class Reader:
    """Typed access to a node tree that records problems instead of raising them."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, at: YNode | None, message: str) -> None:
        mark = at.start_mark if at is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = Problem(self.source, line, col, message)
        # An anchor merged or aliased in several places would repeat the same problem.
        if problem not in self.problems:
            self.problems.append(problem)

    def mapping(self, node: YNode, what: str, known: Collection[str] | None = None) -> Fields | None:
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what}: expected a mapping of key: value, got {_describe(node)}")
            return None
        entries: dict[str, tuple[YNode, YNode]] = {}
        for key, value in self._explicit(node):
            if not isinstance(key, ScalarNode):
                self.problem(key, f"{what}: a key must be plain text, not {_describe(key)}")
                continue
            name = str(key.value)
            if name in entries:
                first = entries[name][0].start_mark.line + 1
                self.problem(key, f"{what}: '{name}' is given twice (first on line {first})")
                continue
            if known is not None and name not in known:
                self.problem(key, f"{what}: unknown key '{name}'{did_you_mean(name, known)}")
                continue
            entries[name] = (key, value)
        for key, value in self._merged(node, what, {id(node)}):
            name = str(key.value)
            if known is not None and name not in known:
                self.problem(key, f"{what}: unknown key '{name}'{did_you_mean(name, known)}")
            elif name not in entries:
                entries[name] = (key, value)
        return Fields(entries, node)

    @staticmethod
    def _explicit(node: MappingNode) -> list[tuple[YNode, YNode]]:
        return [(k, v) for k, v in node.value if _tag(k) != _MERGE_TAG]

    def _merged(self, node: MappingNode, what: str, seen: set[int]) -> list[tuple[YNode, YNode]]:
        """Entries brought in with YAML merge keys (`<<: *office_hours`); `seen` stops an anchor
        that merges itself."""
        items: list[tuple[YNode, YNode]] = []
        for key, value in node.value:
            if _tag(key) != _MERGE_TAG:
                continue
            for source in value.value if isinstance(value, SequenceNode) else [value]:
                if not isinstance(source, MappingNode):
                    self.problem(source, f"{what}: '<<' must name a mapping (an &anchor)")
                elif id(source) not in seen:
                    seen.add(id(source))
                    items += [(k, v) for k, v in self._explicit(source) if isinstance(k, ScalarNode)]
                    items += self._merged(source, what, seen)
        return items

    def optional(self, fields: Fields, name: str, read: Callable[[YNode, str], object], default):
        """`read` the value of an optional key; its absence, or a bad value (reported), gives `default`."""
        node = fields.get(name)
        if node is None:
            return default
        value = read(node, name)
        return default if value is None else value

    def require(self, fields: Fields, name: str, what: str) -> YNode | None:
        node = fields.get(name)
        if node is None:
            self.problem(fields.at, f"{what}: '{name}' is missing")
        return node

    def text(self, node: YNode, what: str) -> str | None:
        if isinstance(node, ScalarNode) and not _is_null(node) and str(node.value).strip():
            return str(node.value).strip()
        self.problem(node, f"{what}: expected text, got {_describe(node) if not _is_null(node) else 'nothing'}")
        return None

    def choice(self, node: YNode, what: str, allowed: Collection[str]) -> str | None:
        value = self.text(node, what)
        if value is not None and value not in allowed:
            self.problem(node, f"{what}: '{value}' is not one of {', '.join(allowed)}"
                               f"{did_you_mean(value, allowed)}")
            return None
        return value

    def number(self, node: YNode, what: str, *, integer: bool = False, positive: bool = False) -> float | None:
        kind = "a whole number" if integer else "a number of seconds"
        if isinstance(node, ScalarNode) and not _is_null(node):
            try:
                value = float(str(node.value))
            except ValueError:
                value = None
            if value is not None and value == value and abs(value) != float("inf"):
                if integer and value != int(value):
                    self.problem(node, f"{what}: expected {kind}, got {_describe(node)}")
                    return None
                if value < 0 or (positive and value == 0):
                    self.problem(node, f"{what}: must be {'more than' if positive else 'at least'} 0")
                    return None
                return value
        self.problem(node, f"{what}: expected {kind}, got {_describe(node)}")
        return None

    def boolean(self, node: YNode, what: str) -> bool | None:
        if isinstance(node, ScalarNode):
            word = str(node.value).strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
        self.problem(node, f"{what}: expected yes or no, got {_describe(node)}")
        return None

    def texts(self, node: YNode, what: str) -> list[tuple[str, YNode]]:
        """A list of texts; a single text is a list of one (`prompts: welcome`)."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        found = []
        for item in items:
            value = self.text(item, what)
            if value is not None:
                found.append((value, item))
        return found


@dataclass
class _NodeInfo:
    id: str
    kind: str
    key: YNode
    refs: list[tuple[str, YNode]] = field(default_factory=list)
    built: Node | None = None


@dataclass
class _Secrets:
    reader: Reader | None              # None: no secrets file
    missing: str                       # why there is none, for the problem message
    passwords: dict[str, str] = field(default_factory=dict)
    trunk_credentials: dict[str, tuple[str, str]] = field(default_factory=dict)


class PlanBuilder:
    """Reads one plan; `build()` returns the Plan or None when problems were recorded."""

    def __init__(self, root: YNode | None, source: str, *, secrets_root: YNode | None,
                 secrets_source: str | None, secrets_missing: str,
                 prompt_exists: PromptExists | None, runnable: frozenset[str] | None = None):
        self.runnable = runnable
        self.r = Reader(source)
        self.root = root
        self.prompt_exists = prompt_exists
        self.secrets = _Secrets(Reader(secrets_source) if secrets_source else None, secrets_missing)
        self.secrets_root = secrets_root
        self.tz: ZoneInfo | None = None
        self.country = ""
        self.language = ""
        self.languages: tuple[str, ...] = ()
        self.ring_seconds = 0.0
        self.staff: dict[str, Staff] = {}
        self.staff_ids: set[str] = set()
        self.nodes: dict[str, _NodeInfo] = {}
        self.schedule_names: set[str] = set()
        self.prompts: list[tuple[str, YNode]] = []
        self.languages_used: list[tuple[str, YNode]] = []
        self.nodes_complete = True
        self._entry_refs: list[tuple[str, YNode]] = []

    @property
    def problems(self) -> list[Problem]:
        extra = self.secrets.reader.problems if self.secrets.reader else []
        return sorted(self.r.problems, key=lambda p: (p.line, p.col)) + sorted(
            extra, key=lambda p: (p.line, p.col))

    def build(self) -> Plan | None:
        r = self.r
        if _is_null(self.root):
            r.problem(self.root, "the plan is empty")
            return None
        top = r.mapping(self.root, "plan", TOP_KEYS)
        if top is None:
            return None
        company = self._required_text(top, "company")
        self._timezone(top)
        self._country(top)
        self._languages(top)
        self._ring_seconds(top)
        short_call = r.optional(top, "short_call_seconds", r.number, 3.0)
        transfer_ring = r.optional(top, "transfer_ring_seconds", partial(r.number, positive=True),
                                   TRANSFER_RINGS * self.ring_seconds)
        self._read_secrets()
        self._staff(top)
        fallback = self._fallback(top)
        schedules = self._schedules(top)
        trunks = self._trunks(top)
        nodes = self._nodes(top)
        numbers = self._numbers(top)
        auto_callback = self._auto_callback(top, numbers, trunks)
        limits = self._limits(top, trunks)
        recording = read_recording(r, top)
        self._consent_prompt(recording.consent, numbers, nodes, top)
        self._check_graph(numbers)
        self._check_languages()
        self._check_prompts()
        if self.problems:
            return None
        return Plan(
            company=company or "", timezone=str(self.tz.key if self.tz else ""), country=self.country,
            language=self.language, languages=self.languages, ring_seconds=self.ring_seconds,
            short_call_seconds=short_call, numbers=numbers, schedules=schedules,
            staff=self.staff, fallback=fallback, nodes=nodes, trunks=trunks, auto_callback=auto_callback,
            limits=limits,
            transfer_ring_seconds=transfer_ring, recording=recording,
        )

    # ----- top-level settings -----

    def _required_text(self, fields: Fields, name: str) -> str | None:
        node = self.r.require(fields, name, "plan")
        return self.r.text(node, name) if node is not None else None

    def _timezone(self, top: Fields) -> None:
        node = self.r.require(top, "timezone", "plan")
        name = self.r.text(node, "timezone") if node is not None else None
        if name is None:
            return
        try:
            self.tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            # Admins often write the city alone ("Moscow", even "Moskow"): match on the last part too.
            zones = available_timezones()
            cities = {z.rsplit("/", 1)[-1].lower(): z for z in sorted(zones)}
            city = difflib.get_close_matches(name.lower(), list(cities), n=1, cutoff=0.75)
            hint = f" (did you mean '{cities[city[0]]}'?)" if city else did_you_mean(name, zones)
            self.r.problem(node, f"timezone: unknown time zone '{name}'{hint}")

    def _country(self, top: Fields) -> None:
        node = self.r.require(top, "country", "plan")
        code = self.r.text(node, "country") if node is not None else None
        if code is None:
            return
        if code.upper() not in phonenumbers.SUPPORTED_REGIONS:
            self.r.problem(node, f"country: '{code}' is not a two-letter country code like RU")
            return
        self.country = code.upper()

    def _languages(self, top: Fields) -> None:
        r = self.r
        node = r.require(top, "language", "plan")
        language = r.text(node, "language") if node is not None else None
        if language is not None and not _LANGUAGE.fullmatch(language):
            r.problem(node, f"language: '{language}' is not a language code like ru or en")
            language = None
        listed = top.get("languages")
        if listed is None:
            self.languages = (language,) if language else ()
        else:
            codes = []
            for code, item in r.texts(listed, "languages"):
                if not _LANGUAGE.fullmatch(code):
                    r.problem(item, f"languages: '{code}' is not a language code like ru or en")
                elif code in codes:
                    r.problem(item, f"languages: '{code}' is listed twice")
                else:
                    codes.append(code)
            self.languages = tuple(codes)
            if language is not None and language not in codes:
                r.problem(node, f"language: '{language}' is not in languages ({', '.join(codes)})")
        self.language = language or ""

    def _ring_seconds(self, top: Fields) -> None:
        node = top.get("ring_seconds")
        if node is not None:
            self.ring_seconds = self.r.number(node, "ring_seconds", positive=True) or 0.0
        elif self.country in RING_CADENCE_SECONDS:
            self.ring_seconds = RING_CADENCE_SECONDS[self.country]
        elif self.country:
            self.r.problem(top.entries["country"][1],
                           f"country: the ring cadence of '{self.country}' is not known; add "
                           f"ring_seconds: (the seconds of one ring, tone and pause)")

    # ----- people -----

    def _read_secrets(self) -> None:
        s = self.secrets
        if s.reader is None or _is_null(self.secrets_root):
            return
        top = s.reader.mapping(self.secrets_root, "secrets", ("staff", "trunks"))
        self._read_trunk_secrets(top.get("trunks") if top else None)
        staff = top.get("staff") if top else None
        entries = s.reader.mapping(staff, "secrets staff") if staff is not None else None
        for ext, (key, value) in (entries.entries.items() if entries else ()):
            fields = s.reader.mapping(value, f"secrets for '{ext}'", ("password",))
            node = s.reader.require(fields, "password", f"secrets for '{ext}'") if fields else None
            password = s.reader.text(node, "password") if node is not None else None
            if password is None:
                continue
            if not _PASSWORD.fullmatch(password):
                s.reader.problem(node, f"password for '{ext}' must be 8 to 64 characters: letters, digits "
                                       f"and _ . ! @ % ^ * + = : , / ? ~ -")
                continue
            if weak := weakness(password, ext):
                s.reader.problem(node, f"password for '{ext}' is too weak: {weak}")
                continue
            s.passwords[ext] = password

    def _read_trunk_secrets(self, node: YNode | None) -> None:
        """`trunks: {name: {username, password}}`: SIP credentials a trunk asks of us."""
        s = self.secrets
        entries = s.reader.mapping(node, "secrets trunks") if node is not None else None
        for name, (key, value) in (entries.entries.items() if entries else ()):
            fields = s.reader.mapping(value, f"secrets for trunk '{name}'", ("username", "password"))
            if fields is None:
                continue
            found = []
            for what in ("username", "password"):
                item = s.reader.require(fields, what, f"secrets for trunk '{name}'")
                text = s.reader.text(item, what) if item is not None else None
                if text is not None and not _PASSWORD.fullmatch(text) and not (
                        what == "username" and re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", text)):
                    s.reader.problem(item, f"{what} for trunk '{name}' must be 8 to 64 characters: letters, "
                                           f"digits and _ . ! @ % ^ * + = : , / ? ~ -")
                    text = None
                found.append(text)
            if None not in found:
                s.trunk_credentials[name] = (found[0], found[1])

    def _staff(self, top: Fields) -> None:
        r = self.r
        node = top.get("staff")
        fields = r.mapping(node, "staff") if node is not None else None
        if fields is None:
            return
        for ext, (key, value) in fields.entries.items():
            if not _EXTENSION.fullmatch(ext):
                r.problem(key, f"staff: extension '{ext}' must be 2 to 6 digits")
                continue
            self.staff_ids.add(ext)
            name, mobile, language, pickup_group = "", "", "", ""
            dial, dial_per_hour, record = DEFAULT_DIAL, 60, False
            if isinstance(value, ScalarNode):
                name = str(value.value).strip() if not _is_null(value) else ""
            elif (info := r.mapping(value, f"staff '{ext}'", STAFF_KEYS)) is not None:
                name = r.optional(info, "name", r.text, "")
                mobile = r.optional(info, "mobile", self._phone, "")
                if (n := info.get("language")) is not None:
                    language = r.text(n, "language") or ""
                    self.languages_used.append((language, n))
                if (n := info.get("dial")) is not None:
                    dial = self._dial_classes(n, ext)
                dial_per_hour = int(r.optional(info, "dial_per_hour",
                                               lambda n, w: r.number(n, w, integer=True), 60))
                record = record_flag(r, info, f"staff '{ext}'")
                if (n := info.get("pickup_group")) is not None:
                    pickup_group = r.text(n, "pickup_group") or ""
                    if pickup_group and not _PICKUP_GROUP.fullmatch(pickup_group):
                        r.problem(n, f"staff '{ext}': pickup_group '{pickup_group}' must be lower-case "
                                     "letters, digits, '_' or '-' (up to 32)")
                        pickup_group = ""
            password = self.secrets.passwords.get(ext)
            if password is None:
                where = self.secrets.reader.source if self.secrets.reader else "the secrets file"
                if self.secrets_root is None or _is_null(self.secrets_root):
                    r.problem(key, f"staff '{ext}': no password, because {self.secrets.missing}")
                else:
                    r.problem(key, f"staff '{ext}': no password in {where} "
                                   f"(staff: {{\"{ext}\": {{password: ...}}}})")
                continue
            self.staff[ext] = Staff(extension=ext, name=name, password=password, mobile=mobile,
                                    language=language, dial=dial, dial_per_hour=dial_per_hour,
                                    pickup_group=pickup_group, record=record)

    def _dial_classes(self, node: YNode, ext: str) -> tuple[str, ...]:
        """`dial: [local, mobile, long-distance]`: what this phone may call outside ("internal" is
        always allowed: calling a colleague is never toll fraud)."""
        classes = ["internal"]
        for word, item in self.r.texts(node, f"staff '{ext}': dial"):
            cls = word.replace("-", "_")
            if cls not in DIAL_CLASSES:
                self.r.problem(item, f"staff '{ext}': dial: '{word}' is not one of "
                                     f"{', '.join(DIAL_CLASSES)}{did_you_mean(cls, DIAL_CLASSES)}")
            elif cls not in classes:
                classes.append(cls)
        return tuple(classes)

    def _fallback(self, top: Fields) -> tuple[str, ...]:
        node = top.get("fallback")
        if node is None:
            return ()
        found = []
        for ext, item in self.r.texts(node, "fallback"):
            if self._extension(ext, item, "fallback"):
                found.append(ext)
        return tuple(found)

    def _extension(self, ext: str, at: YNode, what: str) -> bool:
        if ext in self.staff_ids:
            return True
        # Extensions differ by a digit, so "did you mean" would mislead; a short list helps.
        known = sorted(self.staff_ids)
        hint = f" (staff: {', '.join(known)})" if 0 < len(known) <= 10 else ""
        self.r.problem(at, f"{what}: unknown staff extension '{ext}'{hint}")
        return False

    def _phone(self, node: YNode, what: str) -> str | None:
        """A phone number in any usual form, normalised to E.164 with the plan's country."""
        text = self.r.text(node, what)
        if text is None:
            return None
        try:
            parsed = phonenumbers.parse(text, self.country or None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            self.r.problem(node, f"{what}: '{text}' is not a valid phone number")
            return None
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    def _target(self, node: YNode, what: str) -> str | None:
        """A staff extension, or any phone number (normalised to E.164)."""
        text = self.r.text(node, what)
        if text is None:
            return None
        if _TARGET_EXTENSION.fullmatch(text):
            return text if self._extension(text, node, what) else None
        return self._phone(node, what)

    # ----- schedules and trunks -----

    def _schedules(self, top: Fields) -> dict[str, Schedule]:
        r = self.r
        node = top.get("schedules")
        fields = r.mapping(node, "schedules") if node is not None else None
        if fields is None:
            return {}
        schedules = {}
        for name, (key, value) in fields.entries.items():
            self.schedule_names.add(name)
            info = r.mapping(value, f"schedule '{name}'", SCHEDULE_KEYS)
            if info is None:
                continue
            hours = r.require(info, "hours", f"schedule '{name}'")
            weekly = self._hours(hours) if hours is not None else {}
            holidays = r.optional(info, "holidays", lambda n, w: self._holidays(n), {})
            closures = r.optional(info, "closures", lambda n, w: self._closures(n), ())
            schedules[name] = Schedule(name=name, weekly=weekly, holidays=holidays, closures=closures)
        return schedules

    def _hours(self, node: YNode) -> dict[int, tuple[TimeRange, ...]]:
        r = self.r
        fields = r.mapping(node, "hours")
        weekly: dict[int, tuple[TimeRange, ...]] = {day: () for day in range(7)}
        given: dict[int, str] = {}
        for days_text, (key, value) in (fields.entries.items() if fields else ()):
            try:
                days = sched.parse_days(days_text)
            except ConfigError as e:
                r.problem(key, f"hours: {e.message}")
                continue
            fresh = []
            for day in days:
                if day in given:
                    r.problem(key, f"hours: {sched.DAY_NAMES[day]} is in both '{given[day]}' and '{days_text}'")
                else:
                    given[day] = days_text
                    fresh.append(day)
            if isinstance(value, SequenceNode):
                text = ", ".join(t for t, _ in r.texts(value, f"hours {days_text}"))
            else:
                text = r.text(value, f"hours {days_text}")
            if text is None:
                continue
            try:
                ranges = sched.parse_ranges(text)
            except ConfigError as e:
                r.problem(value, f"hours {days_text}: {e.message}")
                continue
            for day in fresh:
                weekly[day] = ranges
        return weekly

    def _date(self, node: YNode, what: str) -> date | None:
        text = self.r.text(node, what)
        if text is None:
            return None
        try:
            return sched.parse_date(text)
        except ConfigError as e:
            self.r.problem(node, f"{what}: {e.message}")
            return None

    def _holidays(self, node: YNode) -> dict[date, str]:
        r = self.r
        if not isinstance(node, SequenceNode):
            r.problem(node, f"holidays: expected a list of dates, got {_describe(node)}")
            return {}
        holidays: dict[date, str] = {}
        for item in node.value:
            if isinstance(item, ScalarNode):
                day = self._date(item, "holidays")
                if day is not None:
                    holidays[day] = ""
                continue
            info = r.mapping(item, "holiday", HOLIDAY_KEYS)
            if info is None:
                continue
            name = r.optional(info, "name", r.text, "")
            if info.get("date") is not None:
                if info.get("from") is not None or info.get("to") is not None:
                    r.problem(item, "holiday: give either date, or from and to")
                day = self._date(info.get("date"), "date")
                if day is not None:
                    holidays[day] = name
                continue
            first_node, last_node = r.require(info, "from", "holiday"), r.require(info, "to", "holiday")
            first = self._date(first_node, "from") if first_node is not None else None
            last = self._date(last_node, "to") if last_node is not None else None
            if first is None or last is None:
                continue
            if last < first:
                r.problem(last_node, f"holiday: ends ({last}) before it starts ({first})")
            elif (last - first).days > 366:
                r.problem(last_node, "holiday: longer than a year")
            else:
                for i in range((last - first).days + 1):
                    holidays[first + timedelta(days=i)] = name
        return holidays

    def _closures(self, node: YNode) -> tuple[Closure, ...]:
        r = self.r
        if not isinstance(node, SequenceNode):
            r.problem(node, f"closures: expected a list, got {_describe(node)}")
            return ()
        closures = []
        for item in node.value:
            info = r.mapping(item, "closure", CLOSURE_KEYS)
            if info is None:
                continue
            ends = []
            for name in ("from", "to"):
                value = r.require(info, name, "closure")
                text = r.text(value, name) if value is not None else None
                moment = None
                if text is not None:
                    # With an unknown zone (already reported) UTC still lets the format be checked.
                    zone = self.tz or ZoneInfo("UTC")
                    try:
                        moment = sched.parse_local_datetime(text, zone, end=name == "to")
                    except ConfigError as e:
                        r.problem(value, f"{name}: {e.message}")
                ends.append((moment, value))
            reason = r.optional(info, "reason", r.text, "")
            (start, _), (end, end_node) = ends
            if start is None or end is None:
                continue
            if end <= start:
                r.problem(end_node, "closure: 'to' must be after 'from'")
                continue
            closures.append(Closure(start=start, end=end, reason=reason))
        return tuple(closures)

    def _trunks(self, top: Fields) -> dict:
        r = self.r
        node = top.get("trunks")
        fields = r.mapping(node, "trunks") if node is not None else None
        trunks: dict[str, Trunk] = {}
        defaults: list[YNode] = []
        unpriced: list[YNode] = []
        for name, (key, value) in (fields.entries.items() if fields else ()):
            info = r.mapping(value, f"trunk '{name}'", TRUNK_KEYS)
            if info is None:
                continue
            if not _TRUNK_NAME.fullmatch(name):
                r.problem(key, f"trunks: name '{name}' must be lower-case letters, digits, - and _")
                continue
            credentials = self.secrets.trunk_credentials.get(name, ("", ""))
            sip = read_trunk_sip(r, info, name, bool(credentials[1]))
            host_node = r.require(info, "host", f"trunk '{name}'")
            host = r.text(host_node, "host") if host_node is not None else None
            if host is not None and not _HOST.fullmatch(host):
                r.problem(host_node, f"trunk '{name}': host '{host}' must be an address or name with an optional :port")
                host = None
            # Calls out (campaigns, call-backs) present it: without one they reach people as
            # "Anonymous", many never answer, and none can call back.
            caller_id_node = info.get("caller_id")
            if caller_id_node is None:
                r.problem(info.at, f"trunk '{name}': 'caller_id' is missing: the company number calls out "
                                   "present (without it they reach people as 'Anonymous' and nobody can call back)")
            caller_id = (self._phone(caller_id_node, f"trunk '{name}' caller_id") or "") \
                if caller_id_node is not None else ""
            whole = lambda n, w: r.number(n, w, integer=True)   # noqa: E731
            capacity = r.optional(info, "capacity", whole, 0)
            default = r.optional(info, "default", r.boolean, False)
            if default:
                defaults.append(key)
            carriers = []
            if (n := info.get("carriers")) is not None:
                for word, item in r.texts(n, f"trunk '{name}': carriers"):
                    if CARRIER_KEY.fullmatch(word):
                        carriers.append(word)
                    else:
                        r.problem(item, f"trunk '{name}': carriers: '{word}' is not a carrier key like megafon or mts")
            costs = self._costs(info, name)
            if costs is None:
                unpriced.append(key)
                # A lone trunk without prices carries every domestic call (international only if allowed).
                costs = {"mobile": 0.0, "landline": 0.0, "international": 0.0}
            if host is not None:
                trunks[name] = Trunk(
                    name=name, host=host, caller_id=caller_id, capacity=int(capacity), default=default,
                    carriers=tuple(carriers), cost_onnet=costs.get("onnet"), cost_mobile=costs.get("mobile"),
                    cost_landline=costs.get("landline"), cost_international=costs.get("international"),
                    priority=int(r.optional(info, "priority", whole, 100)),
                    international=r.optional(info, "international", r.boolean, False),
                    calls_per_minute=int(r.optional(info, "calls_per_minute", whole, 0)),
                    username=credentials[0], password=credentials[1], sip=sip)
        for extra in defaults[1:]:
            r.problem(extra, "trunks: only one trunk can be the default")
        if len(fields.entries if fields else ()) > 1:
            for at in unpriced:
                r.problem(at, f"trunk '{at.value}': with several trunks each needs cost: "
                              f"{{{', '.join(COST_CLASSES)}}} (price per minute)")
        return trunks

    def _costs(self, info: Fields, name: str) -> dict[str, float] | None:
        """`cost: {onnet: 0, mobile: 1.9, landline: 1.9}`; a class left out is not carried."""
        node = info.get("cost")
        if node is None:
            return None
        fields = self.r.mapping(node, f"trunk '{name}': cost", COST_CLASSES)
        costs: dict[str, float] = {}
        for cls, (_, value) in (fields.entries.items() if fields else ()):
            price = self.r.number(value, f"trunk '{name}': cost.{cls}")
            if price is not None:
                costs[cls] = price
        return costs

    # ----- numbers and nodes -----

    def _numbers(self, top: Fields) -> dict[str, CompanyNumber]:
        r = self.r
        node = r.require(top, "numbers", "plan")
        fields = r.mapping(node, "numbers") if node is not None else None
        if fields is None:
            self.nodes_complete = False
            return {}
        numbers = {}
        for number, (key, value) in fields.entries.items():
            e164 = self._company_number(number, key)
            if isinstance(value, ScalarNode):
                entry_node, source, name, record = value, "", "", False
            else:
                info = r.mapping(value, f"number {number}", NUMBER_KEYS)
                if info is None:
                    self.nodes_complete = False
                    continue
                entry_node = r.require(info, "entry", f"number {number}")
                source = r.optional(info, "source", r.text, "")
                name = r.optional(info, "name", r.text, "")
                record = record_flag(r, info, f"number {number}")
            entry = self._ref(entry_node, "entry", None) if entry_node is not None else None
            if entry is None:
                self.nodes_complete = False
            if e164 is not None and entry is not None:
                if e164 in numbers:
                    r.problem(key, f"numbers: {e164} is given twice")
                numbers[e164] = CompanyNumber(number=e164, entry=entry, source=source, name=name, record=record)
        return numbers

    def _company_number(self, number: str, key: YNode) -> str | None:
        try:
            parsed = phonenumbers.parse(number, self.country or None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            self.r.problem(key, f"numbers: '{number}' is not a valid phone number")
            return None
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 != number:
            self.r.problem(key, f"numbers: write '{number}' in E.164 form, as \"{e164}\"")
            return None
        return e164

    def _ref(self, node: YNode, what: str, owner: _NodeInfo | None) -> str | None:
        """A reference to a node; checked once every node id is known."""
        target = self.r.text(node, what)
        if target is not None:
            (owner.refs if owner else self._entry_refs).append((target, node))
        return target

    def _nodes(self, top: Fields) -> dict[str, Node]:
        r = self.r
        node = r.require(top, "nodes", "plan")
        fields = r.mapping(node, "nodes") if node is not None else None
        if fields is None:
            self.nodes_complete = False
            return {}
        parsed: list[tuple[_NodeInfo, Fields]] = []
        for node_id, (key, value) in fields.entries.items():
            if not _NODE_ID.fullmatch(node_id):
                r.problem(key, f"nodes: '{node_id}' may use only letters, digits, '_' and '-'")
            info = r.mapping(value, f"node '{node_id}'")
            kind_node = r.require(info, "type", f"node '{node_id}'") if info is not None else None
            kind = r.choice(kind_node, "type", tuple(NODE_KEYS)) if kind_node is not None else None
            if kind and self.runnable is not None and kind not in self.runnable:
                # The format has the slot but this service cannot run it: refuse the plan rather
                # than let a caller reach a node that would drop the call.
                r.problem(kind_node, f"node '{node_id}': {kind} nodes are not available in this version")
            self.nodes[node_id] = _NodeInfo(node_id, kind or "", key)
            if info is None or kind is None:
                self.nodes_complete = False
                continue
            known = ("type",) + NODE_KEYS[kind]
            for name, (k, _) in info.entries.items():
                if name not in known:
                    r.problem(k, f"node '{node_id}': unknown key '{name}' for a {kind} node"
                                 f"{did_you_mean(name, known)}")
            parsed.append((self.nodes[node_id], info))
        for info, node_fields in parsed:
            before = len(r.problems)
            info.built = getattr(self, f"_node_{info.kind}")(info, node_fields)
            if len(r.problems) != before:
                self.nodes_complete = False
        return {n.id: n.built for n in self.nodes.values() if n.built is not None}

    def _opt_ref(self, f: Fields, name: str, info: _NodeInfo) -> str | None:
        node = f.get(name)
        return self._ref(node, name, info) if node is not None else None

    def _req_ref(self, f: Fields, name: str, info: _NodeInfo) -> str | None:
        node = self.r.require(f, name, f"{info.kind} node '{info.id}'")
        return self._ref(node, name, info) if node is not None else None

    def _prompts(self, f: Fields, name: str, info: _NodeInfo, *, required: bool = False) -> tuple[str, ...]:
        node = self.r.require(f, name, f"{info.kind} node '{info.id}'") if required else f.get(name)
        if node is None:
            return ()
        names = []
        for prompt, item in self.r.texts(node, name):
            if not _PROMPT.fullmatch(prompt):
                self.r.problem(item, f"{name}: prompt name '{prompt}' may use only letters a-z, digits, "
                                     f"'-', '_' and '/' between parts")
                continue
            self.prompts.append((prompt, item))
            names.append(prompt)
        return tuple(names)

    def _seconds(self, f: Fields, name: str, default: float, *, positive: bool = False) -> float:
        node = f.get(name)
        if node is None:
            return default
        value = self.r.number(node, name, positive=positive)
        return default if value is None else value

    def _count(self, f: Fields, name: str, default: int) -> int:
        node = f.get(name)
        value = self.r.number(node, name, integer=True) if node is not None else None
        return default if value is None else int(value)

    def _ring_time(self, f: Fields, default: float) -> float:
        """Ring time given as `rings: 2` (with the plan's cadence) or `seconds: 8`."""
        rings, seconds = f.get("rings"), f.get("seconds")
        if rings is not None and seconds is not None:
            self.r.problem(seconds, "give either rings or seconds, not both")
            return default
        if rings is not None:
            count = self.r.number(rings, "rings", positive=True)
            return default if count is None else count * self.ring_seconds
        if seconds is not None:
            value = self.r.number(seconds, "seconds", positive=True)
            return default if value is None else value
        return default

    def _node_play(self, info: _NodeInfo, f: Fields) -> Node:
        return PlayNode(id=info.id, prompts=self._prompts(f, "prompts", info, required=True),
                        next=self._opt_ref(f, "next", info))

    def _node_menu(self, info: _NodeInfo, f: Fields) -> Node:
        choices: dict[str, str] = {}
        node = self.r.require(f, "choices", f"menu node '{info.id}'")
        entries = self.r.mapping(node, f"menu '{info.id}' choices") if node is not None else None
        for digit, (key, value) in (entries.entries.items() if entries else ()):
            if digit not in MENU_KEYS:
                self.r.problem(key, f"menu '{info.id}': '{digit}' is not a key of the phone (0-9, *, #)")
                continue
            target = self._ref(value, f"choice {digit}", info)
            if target is not None:
                choices[digit] = target
        return MenuNode(
            id=info.id, prompts=self._prompts(f, "prompts", info, required=True), choices=choices,
            timeout=self._seconds(f, "timeout", 5.0, positive=True), retries=self._count(f, "retries", 2),
            invalid=self._prompts(f, "invalid", info), no_input=self._prompts(f, "no_input", info),
            default=self._opt_ref(f, "default", info))

    def _node_schedule(self, info: _NodeInfo, f: Fields) -> Node:
        what = f"schedule node '{info.id}'"
        node = self.r.require(f, "schedule", what)
        name = self.r.text(node, "schedule") if node is not None else None
        if name is not None and name not in self.schedule_names:
            self.r.problem(node, f"schedule: unknown schedule '{name}'{did_you_mean(name, self.schedule_names)}")
        opened, closed = self._req_ref(f, "open", info), self._req_ref(f, "closed", info)
        holiday = self._opt_ref(f, "holiday", info) or closed
        return ScheduleNode(id=info.id, schedule=name or "", open=opened or "", closed=closed or "",
                            holiday=holiday or "")

    def _node_language(self, info: _NodeInfo, f: Fields) -> Node:
        node = self.r.require(f, "language", f"language node '{info.id}'")
        language = self.r.text(node, "language") if node is not None else None
        if language is not None:
            self.languages_used.append((language, node))
        return LanguageNode(id=info.id, language=language or "", next=self._req_ref(f, "next", info) or "")

    def _node_goto(self, info: _NodeInfo, f: Fields) -> Node:
        return GotoNode(id=info.id, next=self._req_ref(f, "next", info) or "")

    def _node_hangup(self, info: _NodeInfo, f: Fields) -> Node:
        return HangupNode(id=info.id, prompts=self._prompts(f, "prompts", info))

    def _node_forward(self, info: _NodeInfo, f: Fields) -> Node:
        node = self.r.require(f, "number", f"forward node '{info.id}'")
        number = self._target(node, "number") if node is not None else None
        return ForwardNode(id=info.id, number=number or "", ring_seconds=self._ring_time(f, 30.0),
                           then=self._opt_ref(f, "then", info), record=self._record(f, info))

    def _node_hunt(self, info: _NodeInfo, f: Fields) -> Node:
        r = self.r
        default_ring = self._ring_time(f, DEFAULT_RINGS * self.ring_seconds)
        members = []
        node = r.require(f, "members", f"hunt node '{info.id}'")
        items = (node.value if isinstance(node, SequenceNode) else [node]) if node is not None else []
        for item in items:
            if isinstance(item, ScalarNode):
                target = self._target(item, "member")
                if target is not None:
                    members.append(HuntMember(target=target, ring_seconds=default_ring))
                continue
            m = r.mapping(item, "member", MEMBER_KEYS)
            if m is None:
                continue
            target_node = r.require(m, "target", "member")
            target = self._target(target_node, "target") if target_node is not None else None
            follow_node = m.get("follow_me")
            follow_me = []
            for _, f_item in (r.texts(follow_node, "follow_me") if follow_node is not None else []):
                if (t := self._target(f_item, "follow_me")) is not None:
                    follow_me.append(t)
            confirm = r.optional(m, "confirm", r.boolean, False)
            if target is not None:
                members.append(HuntMember(target=target, ring_seconds=self._ring_time(m, default_ring),
                                          follow_me=tuple(follow_me), confirm=bool(confirm)))
        if node is not None and not items:
            r.problem(node, f"hunt node '{info.id}': members is empty")
        return HuntNode(
            id=info.id, members=tuple(members),
            strategy=r.optional(f, "strategy", lambda n, w: r.choice(n, w, HUNT_STRATEGIES), "sequential"),
            limit_seconds=self._seconds(f, "limit_seconds", 0.0),
            music=r.optional(f, "music", r.text, ""),
            ring_busy=r.optional(f, "ring_busy", r.boolean, False),
            # Default: one ring of the plan's cadence, so the caller hears the next phone start
            # during the last ring of the previous one.
            overlap_seconds=self._seconds(f, "overlap_seconds", self.ring_seconds),
            then=self._opt_ref(f, "then", info),
            manager_first=r.optional(f, "manager_first", r.boolean, False), record=self._record(f, info))

    def _node_queue(self, info: _NodeInfo, f: Fields) -> Node:
        r = self.r
        node = r.require(f, "agents", f"queue node '{info.id}'")
        agents: list[str] = []
        penalties: dict[str, int] = {}
        items = (node.value if isinstance(node, SequenceNode) else [node]) if node is not None else []
        for item in items:
            # "101", or {extension: "101", penalty: 1}: higher penalties are offered calls only
            # when every agent below them is taken.
            penalty = 0
            if isinstance(item, MappingNode):
                a = r.mapping(item, "agent", AGENT_KEYS)
                ext_node = r.require(a, "extension", "agent") if a is not None else None
                if a is None or ext_node is None:
                    continue
                penalty = int(r.optional(a, "penalty", lambda n, w: r.number(n, w, integer=True), 0))
                item = ext_node
            ext = r.text(item, "agents")
            if ext is None or not self._extension(ext, item, "agents"):
                continue
            if ext in agents:
                r.problem(item, f"agents: '{ext}' is listed twice")
                continue
            agents.append(ext)
            if penalty:
                penalties[ext] = penalty
        vip = []
        for _, item in (r.texts(f.get("vip"), "vip") if f.get("vip") is not None else []):
            if (number := self._phone(item, "vip")) is not None:
                vip.append(number)
        callback_after = self._seconds(f, "callback_after", 0.0)
        leave_digit = r.optional(f, "leave_digit", lambda n, w: r.choice(n, w, MENU_KEYS), "")
        if leave_digit == "1" and callback_after:
            r.problem(f.get("leave_digit"), "leave_digit: 1 is the call-back key of this queue")
        return QueueNode(
            id=info.id, agents=tuple(agents), penalties=penalties, vip=tuple(vip),
            service_level_seconds=self._seconds(f, "service_level_seconds", 20.0, positive=True),
            skip_after_no_answer_seconds=self._seconds(f, "skip_after_no_answer_seconds", 10.0),
            leave_digit=leave_digit, leave=self._opt_ref(f, "leave", info),
            callback_retries=self._count(f, "callback_retries", 3),
            callback_retry_seconds=self._seconds(f, "callback_retry_seconds", 60.0, positive=True),
            record=self._record(f, info),
            strategy=r.optional(f, "strategy", lambda n, w: r.choice(n, w, QUEUE_STRATEGIES), "ringall"),
            music=r.optional(f, "music", r.text, "default"),
            announce_every=self._seconds(f, "announce_every", 30.0),
            max_wait=self._seconds(f, "max_wait", 0.0), max_callers=self._count(f, "max_callers", 0),
            callback_after=callback_after,
            agent_ring_seconds=self._seconds(f, "agent_ring_seconds", 15.0, positive=True),
            wrapup_seconds=self._seconds(f, "wrapup_seconds", 0.0),
            then=self._opt_ref(f, "then", info))

    def _node_voicemail(self, info: _NodeInfo, f: Fields) -> Node:
        return VoicemailNode(id=info.id, prompts=self._prompts(f, "prompts", info),
                             max_seconds=self._seconds(f, "max_seconds", 120.0, positive=True),
                             then=self._opt_ref(f, "then", info))

    def _node_callback(self, info: _NodeInfo, f: Fields) -> Node:
        return CallbackNode(id=info.id, prompts=self._prompts(f, "prompts", info),
                            then=self._opt_ref(f, "then", info))

    # ----- automatic call-back of missed calls -----

    def _limits(self, top: Fields, trunks: dict[str, Trunk]) -> DailyLimits:
        """`limits: {campaigns: {calls_per_day, minutes_per_day}, trunks: {NAME: {...}},
        phones: {calls_per_day, minutes_per_day, extensions: {EXT: {...}}}, alert_to: [mail, ...]}`."""
        r = self.r
        node = top.get("limits")
        fields = r.mapping(node, "limits", ("campaigns", "trunks", "phones", "alert_to")) \
            if node is not None else None
        if fields is None:
            return DailyLimits()
        campaigns = self._day_cap(fields.get("campaigns"), "limits campaigns")
        caps: dict[str, DayCap] = {}
        if (node := fields.get("trunks")) is not None and (named := r.mapping(node, "limits trunks")):
            for name, (key, value) in named.entries.items():
                if name not in trunks:
                    r.problem(key, f"limits trunks: no trunk '{name}' in `trunks:`{did_you_mean(name, trunks)}")
                caps[name] = self._day_cap(value, f"limits trunks {name}")
        phones, phone_caps = DayCap(), {}
        if (node := fields.get("phones")) is not None:
            phones = self._day_cap(node, "limits phones", ("extensions",))
            each = r.mapping(node, "limits phones") if isinstance(node, MappingNode) else None
            if each is not None and (node := each.get("extensions")) is not None \
                    and (named := r.mapping(node, "limits phones extensions")):
                for ext, (key, value) in named.entries.items():
                    if ext not in self.staff:
                        r.problem(key, f"limits phones extensions: no staff phone '{ext}'"
                                       f"{did_you_mean(ext, self.staff)}")
                    phone_caps[ext] = self._day_cap(value, f"limits phones extensions {ext}")
        alert_to = []
        if fields.get("alert_to") is not None:
            for address, at in r.texts(fields.get("alert_to"), "limits alert_to"):
                if "@" not in address:
                    r.problem(at, f"limits alert_to: {address!r} is not a mail address")
                alert_to.append(address)
        return DailyLimits(campaigns.calls, campaigns.minutes, tuple(alert_to), caps, phones, phone_caps)

    def _day_cap(self, node: YNode | None, what: str, more: tuple[str, ...] = ()) -> DayCap:
        """`{calls_per_day: N, minutes_per_day: M}` (both optional, whole, 0 or more)."""
        r = self.r
        fields = r.mapping(node, what, ("calls_per_day", "minutes_per_day", *more)) if node is not None else None
        if fields is None:
            return DayCap()

        def whole(name: str) -> int:
            return int(r.optional(fields, name, partial(r.number, integer=True), 0) or 0)
        return DayCap(whole("calls_per_day"), whole("minutes_per_day"))

    def _auto_callback(self, top: Fields, numbers: dict[str, CompanyNumber],
                       trunks: dict[str, Trunk]) -> tuple[AutoCallbackRule, ...]:
        r = self.r
        node = top.get("auto_callback")
        fields = r.mapping(node, "auto_callback") if node is not None else None
        if fields is None:
            return ()
        if fields.entries and not trunks:
            r.problem(top.entries["auto_callback"][0], "auto_callback: the plan has no trunk to call customers through")
        rules = []
        for name, (key, value) in fields.entries.items():
            what = f"auto_callback '{name}'"
            if not _NODE_ID.fullmatch(name):
                r.problem(key, f"auto_callback: '{name}' may use only letters, digits, '_' and '-'")
            info = r.mapping(value, what, AUTO_CALLBACK_KEYS)
            if info is None:
                continue
            before = len(r.problems)
            schedule_node = r.require(info, "schedule", what)
            schedule = r.text(schedule_node, "schedule") if schedule_node is not None else None
            if schedule is not None and schedule not in self.schedule_names:
                r.problem(schedule_node, f"{what}: unknown schedule '{schedule}'"
                                         f"{did_you_mean(schedule, self.schedule_names)}")
            reasons_node = r.require(info, "reasons", what)
            reasons: set[str] = set()
            for word, item in (r.texts(reasons_node, "reasons") if reasons_node is not None else []):
                try:
                    reasons |= expand_reasons([word])
                except KeyError:
                    r.problem(item, f"{what}: reasons: '{word}' is not a reason: use {', '.join(REASON_GROUPS)}, "
                                    f"or a call outcome like abandoned_in_menu{did_you_mean(word, REASON_WORDS)}")
            staff, queue = self._auto_callback_takers(info, what)
            covered = []
            for _, item in (r.texts(info.get("numbers"), "numbers") if info.get("numbers") is not None else []):
                number = self._phone(item, "numbers")
                if number is not None and number not in numbers:
                    r.problem(item, f"{what}: {number} is not a company number of this plan")
                elif number is not None:
                    covered.append(number)
            not_before, not_after = self._time_of_day(info, "not_before"), self._time_of_day(info, "not_after")
            if not_before is not None and not_after is not None and not_after <= not_before:
                r.problem(info.get("not_after"), f"{what}: not_after must be later than not_before")
            rule = AutoCallbackRule(
                name=name, schedule=schedule or "", reasons=frozenset(reasons), numbers=tuple(covered),
                staff=staff, queue=queue, not_before=not_before, not_after=not_after,
                delay_seconds=self._seconds(info, "delay_seconds", 60.0),
                attempts=int(r.optional(info, "attempts", lambda n, w: r.number(n, w, integer=True, positive=True), 3)),
                retry_seconds=self._seconds(info, "retry_seconds", 600.0, positive=True),
                skip_short=r.optional(info, "skip_short", r.boolean, True))
            if len(r.problems) == before:
                rules.append(rule)
        return tuple(rules)

    def _auto_callback_takers(self, info: Fields, what: str) -> tuple[tuple[str, ...], str]:
        """`staff: [101, 102]` or `queue: NODE`: exactly one of them says who takes the call-back."""
        r = self.r
        staff_node, queue_node = info.get("staff"), info.get("queue")
        if (staff_node is None) == (queue_node is None):
            r.problem(queue_node or info.at, f"{what}: give either staff (extensions) or queue (a queue node), "
                                             f"{'not both' if staff_node is not None else 'one of them'}")
            return (), ""
        if queue_node is not None:
            queue = r.text(queue_node, "queue")
            known = self.nodes.get(queue or "")
            if queue is not None and (known is None or known.kind != "queue"):
                queues = [i for i, n in self.nodes.items() if n.kind == "queue"]
                r.problem(queue_node, f"{what}: queue: '{queue}' is not a queue node{did_you_mean(queue, queues)}")
            return (), queue or ""
        staff: list[str] = []
        for ext, item in r.texts(staff_node, "staff"):
            if self._extension(ext, item, f"{what}: staff") and ext not in staff:
                staff.append(ext)
        return tuple(staff), ""

    def _time_of_day(self, info: Fields, name: str) -> time | None:
        node = info.get(name)
        text = self.r.text(node, name) if node is not None else None
        if text is None:
            return None
        try:
            return sched.parse_time(text, end=name == "not_after")
        except ConfigError as e:
            self.r.problem(node, f"{name}: {e.message}")
            return None

    # ----- whole-plan checks -----

    def _check_graph(self, numbers: dict[str, CompanyNumber]) -> None:
        r = self.r
        ids = list(self.nodes)
        all_refs = [(t, n) for t, n in self._entry_refs] + [
            (t, n) for info in self.nodes.values() for t, n in info.refs]
        dangling = False
        for target, node in all_refs:
            if target not in self.nodes:
                r.problem(node, f"unknown node '{target}'{did_you_mean(target, ids)}")
                dangling = True
        edges = {info.id: [t for t, _ in info.refs if t in self.nodes] for info in self.nodes.values()}
        if self.nodes_complete and not dangling and self._entry_refs:
            reached = self._reach([t for t, _ in self._entry_refs], edges)
            for info in self.nodes.values():
                if info.id not in reached:
                    r.problem(info.key, f"node '{info.id}' is not reachable from any company number")
        self._check_quiet_loops(edges)

    @staticmethod
    def _reach(starts: list[str], edges: dict[str, list[str]]) -> set[str]:
        seen = set(starts)
        todo = list(starts)
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def _check_quiet_loops(self, edges: dict[str, list[str]]) -> None:
        """A cycle only through nodes that neither wait for a digit nor ring anyone spins for ever."""
        quiet = {i for i, info in self.nodes.items() if info.kind in QUIET_KINDS}
        state: dict[str, int] = {}     # 1: on the current path, 2: done
        reported: set[frozenset[str]] = set()
        for start in (i for i in self.nodes if i in quiet):
            if start in state:
                continue
            # Iterative depth-first search: a plan of thousands of nodes must not hit the recursion limit.
            path, stack = [start], [iter(edges[start])]
            state[start] = 1
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    stack.pop()
                elif nxt in quiet and nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter(edges[nxt]))
                elif state.get(nxt) == 1:
                    cycle = path[path.index(nxt):]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        loop = " -> ".join(cycle + [nxt])
                        self.r.problem(self.nodes[nxt].key,
                                       f"loop that never waits for the caller: {loop} "
                                       f"(add a menu, or end with hangup)")

    def _record(self, f: Fields, info: _NodeInfo) -> bool:
        return record_flag(self.r, f, f"{info.kind} node '{info.id}'")

    def _consent_prompt(self, consent: bool, numbers: dict[str, CompanyNumber], nodes: dict[str, Node],
                        top: Fields) -> None:
        """A plan that records with consent needs the consent prompt in every language."""
        if consent and (any(n.record for n in numbers.values()) or any(getattr(n, "record", False)
                                                                      for n in nodes.values())):
            self.prompts.append((CONSENT_PROMPT, top.get("recording") or top.get("numbers") or top.at))

    def _check_languages(self) -> None:
        for language, node in self.languages_used:
            if language not in self.languages:
                self.r.problem(node, f"language '{language}' is not in languages ({', '.join(self.languages)})")

    def _check_prompts(self) -> None:
        if self.prompt_exists is None:
            return
        checked: set[tuple[str, str]] = set()
        for prompt, node in self.prompts:
            for language in self.languages:
                if (prompt, language) in checked:
                    continue
                checked.add((prompt, language))
                if not self.prompt_exists(prompt, language):
                    self.r.problem(node, f"missing prompt '{prompt}' for language '{language}'")
