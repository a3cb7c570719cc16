"""Turning a composed YAML tree (ruamel nodes, which keep line and column) into a Plan.

Every problem is recorded with its position and reading goes on, so an admin sees all of them at once.
`PlanBuilder` reads the top-level settings, company numbers and nodes, and holds what the other
readers share (staff extensions, node references, prompts used); each part has its own module:
staff and secrets `read_people`, `read_schedules`, trunks and limits `read_trunks`,
`read_auto_callback`, node kinds `nodes/` (one module per kind), whole-plan checks `graph`.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from ruamel.yaml.nodes import Node as YNode, ScalarNode

from ivr.plan.errors import Problem
from ivr.plan.graph import check_graph, check_languages, check_prompts
from ivr.plan.keys import NODE_ID
from ivr.plan.model import CONSENT_PROMPT, CompanyNumber, Node, Plan, Staff
from ivr.plan.nodes import KINDS
from ivr.plan.read_auto_callback import read_auto_callback
from ivr.plan.read_people import read_secrets, read_staff
from ivr.plan.read_schedules import read_schedules
from ivr.plan.read_trunks import read_limits, read_trunks
from ivr.plan.recording import read_recording, record_flag
from ivr.plan.roster import PREFIX as ROSTER_PREFIX
from ivr.plan.roster_keys import read_rosters
from ivr.plan.transfer_codes import read_transfer_codes
from ivr.yaml_reader import Fields, Reader, did_you_mean, is_null

PromptExists = Callable[[str, str], bool]

# One ring as a caller hears it (Asterisk indications.conf; UA, BY, KZ keep the Soviet 1 s + 4 s).
RING_CADENCE_SECONDS = {"RU": 5.0, "UA": 5.0, "BY": 5.0, "KZ": 5.0, "DE": 5.0,
                        "US": 6.0, "CA": 6.0, "GB": 3.0}
VOICEMAIL_RINGS = 4          # an internal call to a phone with a voicemail box, before the box answers
TRANSFER_RINGS = 4           # a transfer target rings this long before the call comes back

TOP_KEYS = ("company", "timezone", "country", "language", "languages", "ring_seconds",
            "short_call_seconds", "numbers", "schedules", "staff", "fallback", "nodes", "trunks",
            "auto_callback", "limits", "transfer_ring_seconds", "transfer_codes", "recording", "rosters",
            "voicemail_rings")
NUMBER_KEYS = ("entry", "source", "name", "record")
_TARGET_EXTENSION = re.compile(r"\d{1,6}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_PROMPT = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")


@dataclass
class NodeInfo:
    """A node as read so far: its kind, the node ids it refers to, and the built dataclass."""
    id: str
    kind: str
    key: YNode
    refs: list[tuple[str, YNode]] = field(default_factory=list)
    built: Node | None = None


@dataclass
class Secrets:
    """What the secrets file gave: staff passwords and trunk logins."""
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
        self.secrets = Secrets(Reader(secrets_source) if secrets_source else None, secrets_missing)
        self.secrets_root = secrets_root
        self.tz: ZoneInfo | None = None
        self.country = ""
        self.language = ""
        self.languages: tuple[str, ...] = ()
        self.ring_seconds = 0.0
        self.staff: dict[str, Staff] = {}
        self.staff_ids: set[str] = set()
        self.nodes: dict[str, NodeInfo] = {}
        self.schedule_names: set[str] = set()
        self.roster_names: set[str] = set()
        self.prompts: list[tuple[str, YNode]] = []
        self.languages_used: list[tuple[str, YNode]] = []
        self.nodes_complete = True
        self.entry_refs: list[tuple[str, YNode]] = []

    @property
    def problems(self) -> list[Problem]:
        extra = self.secrets.reader.problems if self.secrets.reader else []
        return sorted(self.r.problems, key=lambda p: (p.line, p.col)) + sorted(
            extra, key=lambda p: (p.line, p.col))

    def build(self) -> Plan | None:
        r = self.r
        if is_null(self.root):
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
        transfer_codes = read_transfer_codes(r, top.get("transfer_codes"))
        voicemail_rings = r.optional(top, "voicemail_rings", partial(r.number, integer=True, positive=True),
                                     VOICEMAIL_RINGS)
        read_secrets(self)
        read_staff(self, top)
        fallback = self._fallback(top)
        schedules = read_schedules(self, top)
        rosters = read_rosters(self, top)
        trunks = read_trunks(self, top)
        nodes = self._nodes(top)
        numbers = self._numbers(top)
        auto_callback = read_auto_callback(self, top, numbers, trunks)
        limits = read_limits(self, top, trunks)
        recording = read_recording(r, top)
        self.consent_prompt(recording.consent, numbers, nodes, top)
        check_graph(self, numbers)
        check_languages(self)
        check_prompts(self)
        if self.problems:
            return None
        return Plan(
            company=company or "", timezone=str(self.tz.key if self.tz else ""), country=self.country,
            language=self.language, languages=self.languages, ring_seconds=self.ring_seconds,
            short_call_seconds=short_call, numbers=numbers, schedules=schedules,
            staff=self.staff, fallback=fallback, nodes=nodes, trunks=trunks, auto_callback=auto_callback,
            limits=limits,
            transfer_ring_seconds=transfer_ring, transfer_codes=transfer_codes, recording=recording,
            rosters=rosters, voicemail_ring_seconds=voicemail_rings * self.ring_seconds,
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

    # ----- extensions, phone numbers and call targets -----

    def _fallback(self, top: Fields) -> tuple[str, ...]:
        node = top.get("fallback")
        if node is None:
            return ()
        found = []
        for ext, item in self.r.texts(node, "fallback"):
            if self.extension(ext, item, "fallback"):
                found.append(ext)
        return tuple(found)

    def extension(self, ext: str, at: YNode, what: str) -> bool:
        if ext in self.staff_ids:
            return True
        # Extensions differ by a digit, so "did you mean" would mislead; a short list helps.
        known = sorted(self.staff_ids)
        hint = f" (staff: {', '.join(known)})" if 0 < len(known) <= 10 else ""
        self.r.problem(at, f"{what}: unknown staff extension '{ext}'{hint}")
        return False

    def phone(self, node: YNode, what: str) -> str | None:
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

    def target(self, node: YNode, what: str) -> str | None:
        """A staff extension, "roster:NAME" (whoever is on duty), or any phone number (normalised to E.164)."""
        text = self.r.text(node, what)
        if text is None:
            return None
        if text.startswith(ROSTER_PREFIX):
            if text[len(ROSTER_PREFIX):] in self.roster_names:
                return text
            self.r.problem(node, f"{what}: no roster '{text[len(ROSTER_PREFIX):]}'"
                                 f"{did_you_mean(text[len(ROSTER_PREFIX):], self.roster_names)}")
            return None
        if _TARGET_EXTENSION.fullmatch(text):
            return text if self.extension(text, node, what) else None
        return self.phone(node, what)

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
            entry = self.ref(entry_node, "entry", None) if entry_node is not None else None
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

    def ref(self, node: YNode, what: str, owner: NodeInfo | None) -> str | None:
        """A reference to a node; checked once every node id is known."""
        target = self.r.text(node, what)
        if target is not None:
            (owner.refs if owner else self.entry_refs).append((target, node))
        return target

    def _nodes(self, top: Fields) -> dict[str, Node]:
        r = self.r
        node = r.require(top, "nodes", "plan")
        fields = r.mapping(node, "nodes") if node is not None else None
        if fields is None:
            self.nodes_complete = False
            return {}
        parsed: list[tuple[NodeInfo, Fields]] = []
        for node_id, (key, value) in fields.entries.items():
            if not NODE_ID.fullmatch(node_id):
                r.problem(key, f"nodes: '{node_id}' may use only letters, digits, '_' and '-'")
            info = r.mapping(value, f"node '{node_id}'")
            kind_node = r.require(info, "type", f"node '{node_id}'") if info is not None else None
            kind = r.choice(kind_node, "type", tuple(KINDS)) if kind_node is not None else None
            if kind and self.runnable is not None and kind not in self.runnable:
                # The format has the slot but this service cannot run it: refuse the plan rather
                # than let a caller reach a node that would drop the call.
                r.problem(kind_node, f"node '{node_id}': {kind} nodes are not available in this version")
            self.nodes[node_id] = NodeInfo(node_id, kind or "", key)
            if info is None or kind is None:
                self.nodes_complete = False
                continue
            known = ("type",) + KINDS[kind].keys
            for name, (k, _) in info.entries.items():
                if name not in known:
                    r.problem(k, f"node '{node_id}': unknown key '{name}' for a {kind} node"
                                 f"{did_you_mean(name, known)}")
            parsed.append((self.nodes[node_id], info))
        for info, node_fields in parsed:
            before = len(r.problems)
            info.built = KINDS[info.kind].build(self, info, node_fields)
            if len(r.problems) != before:
                self.nodes_complete = False
        return {n.id: n.built for n in self.nodes.values() if n.built is not None}

    def opt_ref(self, f: Fields, name: str, info: NodeInfo) -> str | None:
        node = f.get(name)
        return self.ref(node, name, info) if node is not None else None

    def req_ref(self, f: Fields, name: str, info: NodeInfo) -> str | None:
        node = self.r.require(f, name, f"{info.kind} node '{info.id}'")
        return self.ref(node, name, info) if node is not None else None

    def prompt_names(self, f: Fields, name: str, info: NodeInfo, *, required: bool = False) -> tuple[str, ...]:
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

    def seconds(self, f: Fields, name: str, default: float, *, positive: bool = False) -> float:
        node = f.get(name)
        if node is None:
            return default
        value = self.r.number(node, name, positive=positive)
        return default if value is None else value

    def count(self, f: Fields, name: str, default: int) -> int:
        node = f.get(name)
        value = self.r.number(node, name, integer=True) if node is not None else None
        return default if value is None else int(value)

    def record(self, f: Fields, info: NodeInfo) -> bool:
        """A node's `record: yes` (call recording)."""
        return record_flag(self.r, f, f"{info.kind} node '{info.id}'")

    def consent_prompt(self, consent: bool, numbers: dict[str, CompanyNumber], nodes: dict[str, Node],
                       top: Fields) -> None:
        """A plan that records with consent needs the consent prompt in every language."""
        if consent and (any(n.record for n in numbers.values()) or any(getattr(n, "record", False)
                                                                      for n in nodes.values())):
            self.prompts.append((CONSENT_PROMPT, top.get("recording") or top.get("numbers") or top.at))

    def ring_time(self, f: Fields, default: float) -> float:
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
