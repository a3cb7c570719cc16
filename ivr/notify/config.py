"""Notification settings: `notifications.yaml` next to the plan file (its own file, because it holds
addresses and secrets that change without a plan version, and lists that settings.yaml cannot).

    missed: {close_after_seconds: 10}        # a call-back answered this long closes the item
    mail: {host: 127.0.0.1, port: 25, from: ivr@example.com, user: "", password: "", starttls: no}
    webhooks: [{url: https://crm.example/hook, secret: s3cret, events: [missed, taken, closed]}]
    staff_mail: {"101": anna@example.com}    # for rules with only_called
    retry_max_seconds: 300                   # backoff cap of failed deliveries
    rules:
      - numbers: ["+74951110000"]            # watched company numbers (empty: all)
        extensions: ["101"]                  # or: calls that rang these staff phones
        callers: ["+7916"]                   # optional caller prefixes
        recipients: [boss@example.com]
        only_called: no                      # yes: mail only the staff who were rung
        digest_minutes: 0                    # >0: one mail every N minutes instead of one per call
        language: ru                         # ru | en
        short: no                            # also mail about short (misdial) calls

A missing file means: no mail, no webhooks, close after 10 s.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ivr.config import Settings
from ivr.errors import ConfigError

FILE_NAME = "notifications.yaml"
LANGUAGES = ("ru", "en")
EVENTS = ("missed", "taken", "closed")
FLAGS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
# "rules[0].language" -> ("rules", ""), ("", "0"), ("language", "")
_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int = 25
    sender: str = "ivr@localhost"
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    events: tuple[str, ...] = EVENTS


@dataclass(frozen=True)
class Rule:
    recipients: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    callers: tuple[str, ...] = ()
    only_called: bool = False
    digest_minutes: int = 0
    language: str = "ru"
    short: bool = False


@dataclass(frozen=True)
class NotifyConfig:
    close_after_seconds: float = 10.0
    mail: MailServer | None = None
    webhooks: tuple[Webhook, ...] = ()
    rules: tuple[Rule, ...] = ()
    staff_mail: dict[str, str] = field(default_factory=dict)
    retry_max_seconds: float = 300.0
    console_url: str = "http://127.0.0.1:8080"   # links in mails: <console_url>/missed/<id>
    alerts: tuple[str, ...] = ()                 # who hears of the PBX's own trouble (a trunk down)


def config_path(settings: Settings) -> Path:
    return settings.path(settings.plan_file).parent / FILE_NAME


def load_notify_config(settings: Settings, path: Path | None = None) -> NotifyConfig:
    path = path or config_path(settings)
    if not path.exists():
        return NotifyConfig(console_url=settings.public_url)
    try:
        # Round-trip loading keeps each key's line and column: errors name FILE:LINE:COL.
        data = YAML().load(path.read_text(encoding="utf-8")) or {}
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{at}: not valid YAML: {e.problem or e}") from None
    except (OSError, YAMLError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return parse_notify_config(data, str(path), settings.public_url)


def parse_notify_config(data: Any, where: str, console_url: str) -> NotifyConfig:
    r = _Reader(where, data)
    top = r.mapping(data, "", {"missed", "mail", "webhooks", "rules", "staff_mail", "retry_max_seconds",
                               "alerts"})
    missed = r.mapping(top.get("missed", {}), "missed", {"close_after_seconds"})
    mail = None
    if "mail" in top:
        m = r.mapping(top["mail"], "mail", {"host", "port", "from", "user", "password", "starttls", "timeout"})
        mail = MailServer(host=r.text(m.get("host"), "mail.host", required=True),
                          port=r.number(m.get("port", 25), "mail.port", int),
                          sender=r.text(m.get("from", "ivr@localhost"), "mail.from"),
                          user=r.text(m.get("user", ""), "mail.user"),
                          password=r.text(m.get("password", ""), "mail.password"),
                          starttls=r.flag(m.get("starttls", False), "mail.starttls"),
                          timeout=r.number(m.get("timeout", 10), "mail.timeout", float))
    webhooks = []
    for i, raw in enumerate(r.sequence(top.get("webhooks", []), "webhooks")):
        at = f"webhooks[{i}]"
        w = r.mapping(raw, at, {"url", "secret", "events"})
        events = r.texts(w.get("events", list(EVENTS)), f"{at}.events")
        for event in events:
            if event not in EVENTS:
                raise r.fail(f"{at}.events", f"{event!r} is not one of {', '.join(EVENTS)}")
        webhooks.append(Webhook(url=r.text(w.get("url"), f"{at}.url", required=True),
                                secret=r.text(w.get("secret"), f"{at}.secret", required=True),
                                events=events))
    rules = []
    keys = {"recipients", "numbers", "extensions", "callers", "only_called", "digest_minutes", "language", "short"}
    for i, raw in enumerate(r.sequence(top.get("rules", []), "rules")):
        at = f"rules[{i}]"
        x = r.mapping(raw, at, keys)
        rule = Rule(recipients=r.texts(x.get("recipients", []), f"{at}.recipients"),
                    numbers=r.texts(x.get("numbers", []), f"{at}.numbers"),
                    extensions=r.texts(x.get("extensions", []), f"{at}.extensions"),
                    callers=r.texts(x.get("callers", []), f"{at}.callers"),
                    only_called=r.flag(x.get("only_called", False), f"{at}.only_called"),
                    digest_minutes=r.number(x.get("digest_minutes", 0), f"{at}.digest_minutes", int),
                    language=r.text(x.get("language", "ru"), f"{at}.language"),
                    short=r.flag(x.get("short", False), f"{at}.short"))
        if rule.language not in LANGUAGES:
            raise r.fail(f"{at}.language", f"{rule.language!r} is not one of {', '.join(LANGUAGES)}")
        if not rule.recipients and not rule.only_called:
            raise r.fail(at, "give recipients, or only_called: yes")
        if rule.digest_minutes < 0:
            raise r.fail(f"{at}.digest_minutes", "must not be negative")
        rules.append(rule)
    alerts = r.texts(top.get("alerts", []), "alerts")
    if (rules or alerts) and mail is None:
        raise r.fail("rules" if rules else "alerts", "rules and alerts send mail; add a mail: section with the SMTP server")
    staff_mail = {str(k): r.text(v, f"staff_mail.{k}") for k, v in
                  r.mapping(top.get("staff_mail", {}), "staff_mail", None).items()}
    return NotifyConfig(
        close_after_seconds=r.number(missed.get("close_after_seconds", 10), "missed.close_after_seconds", float),
        mail=mail, webhooks=tuple(webhooks), rules=tuple(rules), staff_mail=staff_mail,
        retry_max_seconds=r.number(top.get("retry_max_seconds", 300), "retry_max_seconds", float),
        console_url=console_url.rstrip("/"), alerts=alerts)


class _Reader:
    """Checks one value at a time; errors name the file, the key's line and column (when the data
    was loaded round-trip) and the key."""

    def __init__(self, where: str, root: Any = None):
        self.where, self.root = where, root

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}{self._position(key)}: {key or 'top level'}: {problem}")

    def _position(self, key: str) -> str:
        """":LINE:COL" of the deepest part of `key` ("rules[0].language") found in the data."""
        node, found = self.root, getattr(self.root, "lc", None) and (self.root.lc.line, self.root.lc.col)
        for name, index in _KEY_PART.findall(key):
            if index:
                if not isinstance(node, CommentedSeq) or int(index) >= len(node):
                    break
                found, node = node.lc.item(int(index)), node[int(index)]
            else:
                if not isinstance(node, CommentedMap) or name not in node:
                    break
                found, node = node.lc.key(name), node[name]
        return f":{found[0] + 1}:{found[1] + 1}" if found else ""

    def mapping(self, value: Any, key: str, allowed: set[str] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping of name: value")
        unknown = sorted(set(map(str, value)) - allowed) if allowed is not None else []
        if unknown:
            raise self.fail(key, f"unknown key(s): {', '.join(unknown)}")
        return {str(k): v for k, v in value.items()}

    def sequence(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return value

    def text(self, value: Any, key: str, required: bool = False) -> str:
        if value is None or (required and value == ""):
            if required:
                raise self.fail(key, "is required")
            return ""
        if isinstance(value, (dict, list, bool)):
            raise self.fail(key, f"{value!r} is not a text")
        return str(value)

    def texts(self, value: Any, key: str) -> tuple[str, ...]:
        return tuple(self.text(v, f"{key}[{i}]", required=True) for i, v in enumerate(self.sequence(value, key)))

    def flag(self, value: Any, key: str) -> bool:
        # YAML 1.2 (ruamel's safe loader) reads yes/no as text; the plan files use them.
        if isinstance(value, str) and value.lower() in FLAGS:
            return FLAGS[value.lower()]
        if not isinstance(value, bool):
            raise self.fail(key, f"{value!r} is not yes/no")
        return value

    def number(self, value: Any, key: str, kind: type) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(key, f"{value!r} is not a non-negative number")
        if kind is int and value != int(value):
            raise self.fail(key, f"{value!r} is not a whole number")
        return kind(value)
