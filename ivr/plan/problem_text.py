"""A plan problem in the reader's language. The validation writes every problem in English; this table,
keyed by the English template of each message (values as `{name}`), finds a message's template and
values again and says it in the current language from the catalogue. FILE:LINE:COL never changes; a
message no template matches is shown as it was written, in English.

Adding a message to the validation: add its template here (the unit test `test_plan_problem_text`
fails on a problem of the sample plans no template matches)."""
from __future__ import annotations

import functools
import re

from ivr.i18n import _, lazy
from ivr.plan.errors import Problem

TEMPLATES = (
    # the reader of any mapping, text, number or list (validate.Reader)
    lazy("{what}: expected a mapping of key: value, got {got}"),
    lazy("{what}: a key must be plain text, not {got}"),
    lazy("{what}: '{name}' is given twice (first on line {line})"),
    lazy("{what}: unknown key '{name}'"),
    lazy("{what}: '<<' must name a mapping (an &anchor)"),
    lazy("{what}: '{name}' is missing"),
    lazy("{what}: expected text, got {got}"),
    lazy("{what}: '{value}' is not one of {allowed}"),
    lazy("{what}: expected {kind}, got {got}"),
    lazy("{what}: must be more than 0"),
    lazy("{what}: must be at least 0"),
    lazy("{what}: expected yes or no, got {got}"),
    # the top of the plan
    lazy("the plan is empty"),
    lazy("timezone: unknown time zone '{name}'"),
    lazy("country: '{code}' is not a two-letter country code like RU"),
    lazy("country: the ring cadence of '{code}' is not known; add ring_seconds: (the seconds of one ring, "
         "tone and pause)"),
    lazy("language: '{code}' is not a language code like ru or en"),
    lazy("languages: '{code}' is not a language code like ru or en"),
    lazy("languages: '{code}' is listed twice"),
    lazy("language: '{code}' is not in languages ({codes})"),
    lazy("language '{code}' is not in languages ({codes})"),
    # staff, passwords, trunks
    lazy("password for '{ext}' must be 8 to 64 characters: letters, digits and _ . ! @ % ^ * + = : , / ? ~ -"),
    lazy("password for '{ext}' is too weak: {why}"),
    lazy("{what} for trunk '{name}' must be 8 to 64 characters: letters, digits and _ . ! @ % ^ * + = : , / ? ~ -"),
    lazy("staff: extension '{ext}' must be 2 to 6 digits"),
    lazy("staff '{ext}': pickup_group '{group}' must be lower-case letters, digits, '_' or '-' (up to 32)"),
    lazy("staff '{ext}': no password, because {why}"),
    lazy("staff '{ext}': no password in {where} {example}"),
    lazy("staff '{ext}': dial: '{word}' is not one of {allowed}"),
    lazy("{what}: unknown staff extension '{ext}'"),
    lazy("{what}: unknown staff extension '{ext}' (staff: {known})"),
    lazy("{what}: '{text}' is not a valid phone number"),
    lazy("trunks: name '{name}' must be lower-case letters, digits, - and _"),
    lazy("trunk '{name}': host '{host}' must be an address or name with an optional :port"),
    lazy("trunk '{name}': carriers: '{word}' is not a carrier key like megafon or mts"),
    lazy("trunks: only one trunk can be the default"),
    lazy("trunk '{name}': with several trunks each needs cost: {classes} (price per minute)"),
    lazy("{what}: register (we register to the carrier) and client (the gateway registers to us) exclude "
         "each other"),
    lazy("{what}: registration needs the trunk's username and password under trunks: '{name}' in the "
         "secrets file"),
    lazy("{what}.identify: 'registration' needs register: yes"),
    lazy("{what}.header: '{text}' must be 'Name: value', e.g. 'X-Trunk: {name}'"),
    lazy("{what}.header: only used with identify: header"),
    lazy("{what}.match: only used with identify: address"),
    lazy("{what}.match: '{address}' is not an IP address or network like 203.0.113.0/24"),
    lazy("{what}.codecs: '{codec}' is not one of {allowed}"),
    lazy("{what}: did_from: header needs did_header: the header's name, e.g. X-Called-Number"),
    lazy("{what}.contact_user: letters, digits and _ . + - only"),
    # schedules, holidays, closures
    lazy("hours: {day} is in both '{first}' and '{second}'"),
    lazy("holidays: expected a list of dates, got {got}"),
    lazy("holiday: give either date, or from and to"),
    lazy("holiday: ends ({last}) before it starts ({first})"),
    lazy("holiday: longer than a year"),
    lazy("closures: expected a list, got {got}"),
    lazy("closure: 'to' must be after 'from'"),
    lazy("{what}: '{text}' is not a time of day like 09:00"),
    lazy("{what}: '{text}' is not a time of day ({allowed})"),
    lazy("{what}: '{text}' is not a time range like 09:00-18:00 (or write closed)"),
    lazy("{what}: time range '{text}' ends before it starts; hours past midnight are two ranges, e.g. "
         "'20:00-24:00' on one day and '00:00-02:00' on the next"),
    lazy("{what}: time ranges in '{text}' overlap"),
    lazy("{what}: '{name}' is not a day: use {days}, ranges like mon-fri, or daily"),
    lazy("{what}: '{text}' is not a date like 2026-05-09"),
    lazy("{what}: '{text}' is not a date and time like 2026-12-31 15:00"),
    # numbers and nodes
    lazy("numbers: {number} is given twice"),
    lazy("numbers: '{number}' is not a valid phone number"),
    lazy("numbers: write '{number}' in E.164 form, as \"{e164}\""),
    lazy("nodes: '{id}' may use only letters, digits, '_' and '-'"),
    lazy("node '{id}': {kind} nodes are not available in this version"),
    lazy("node '{id}': unknown key '{name}' for a {kind} node"),
    lazy("{what}: prompt name '{prompt}' may use only letters a-z, digits, '-', '_' and '/' between parts"),
    lazy("give either rings or seconds, not both"),
    lazy("menu '{id}': '{digit}' is not a key of the phone (0-9, *, #)"),
    lazy("schedule: unknown schedule '{name}'"),
    lazy("hunt node '{id}': members is empty"),
    lazy("agents: '{ext}' is listed twice"),
    lazy("leave_digit: 1 is the call-back key of this queue"),
    lazy("unknown node '{id}'"),
    lazy("node '{id}' is not reachable from any company number"),
    lazy("loop that never waits for the caller: {loop} (add a menu, or end with hangup)"),
    lazy("missing prompt '{prompt}' for language '{code}'"),
    # daily limits and the automatic call-back
    lazy("limits trunks: no trunk '{name}' in `trunks:`"),
    lazy("limits phones extensions: no staff phone '{ext}'"),
    lazy("limits alert_to: {address} is not a mail address"),
    lazy("auto_callback: the plan has no trunk to call customers through"),
    lazy("auto_callback: '{name}' may use only letters, digits, '_' and '-'"),
    lazy("{what}: unknown schedule '{name}'"),
    lazy("{what}: reasons: '{word}' is not a reason: use {groups}, or a call outcome like abandoned_in_menu"),
    lazy("{what}: {number} is not a company number of this plan"),
    lazy("{what}: not_after must be later than not_before"),
    lazy("{what}: give either staff (extensions) or queue (a queue node), not both"),
    lazy("{what}: give either staff (extensions) or queue (a queue node), one of them"),
    lazy("{what}: queue: '{name}' is not a queue node"),
    # reading the file (ivr/plan/loader.py)
    lazy("the plan is nested too deeply"),
    lazy("the plan is not usable"),
    lazy("cannot read: {why}"),
    lazy("not UTF-8 text; save the file as UTF-8"),
    lazy("YAML syntax error: {why}"),
    lazy("character {char} is not allowed in YAML"),
    lazy("YAML error: {why}"),
    lazy("the YAML is nested too deeply"),
    lazy("YAML cannot be read back: {why}; quote the value"),
)

# Words the validation puts inside a message, said again in the reader's language.
VALUES = {
    "a mapping": lazy("a mapping"), "a list": lazy("a list"), "nothing": lazy("nothing"),
    "a whole number": lazy("a whole number"), "a number of seconds": lazy("a number of seconds"),
}
HINT = re.compile(r" \(did you mean '(?P<word>[^']*)'\?\)$")


@functools.cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """Each template as a regular expression, those with more fixed text first (the most specific)."""
    found = []
    for template in TEMPLATES:
        parts = re.split(r"\{(\w+)\}", template)
        pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
        found.append((re.compile(pattern + r"\Z", re.DOTALL), template))
    return sorted(found, key=lambda p: -len(re.sub(r"\{\w+\}", "", p[1])))


def message(text: str) -> str:
    """One problem's message in the current language (English when no template matches it)."""
    hint = ""
    if (m := HINT.search(text)) is not None:
        text, hint = text[:m.start()], _(" (did you mean '%(word)s'?)", word=m.group("word"))
    for pattern, template in _patterns():
        if (m := pattern.match(text)) is not None:
            values = {k: _(VALUES[v]) if v in VALUES else v for k, v in m.groupdict().items()}
            return _(template).format(**values) + hint
    return text + hint


def said(problem: Problem) -> str:
    """FILE:LINE:COL: the message, in the current language."""
    return f"{problem.file}:{problem.line}:{problem.col}: {message(problem.message)}"
