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

A missing file means: no mail, no webhooks, close after 10 s. Mistakes are reported like the plan's
(ivr/yaml_reader.py): every one at once, each at FILE:LINE:COL.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import Node as YNode, SequenceNode

from ivr.config import Settings
from ivr.yaml_reader import Fields, Problem, ProblemsError, Reader, compose, describe, is_null, read_text

FILE_NAME = "notifications.yaml"
LANGUAGES = ("ru", "en")
EVENTS = ("missed", "taken", "closed")
TOP_KEYS = ("missed", "mail", "webhooks", "rules", "staff_mail", "retry_max_seconds", "alerts")
MAIL_KEYS = ("host", "port", "from", "user", "password", "starttls", "timeout")
WEBHOOK_KEYS = ("url", "secret", "events")
RULE_KEYS = ("recipients", "numbers", "extensions", "callers", "only_called", "digest_minutes", "language", "short")


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
    """The file's settings; a missing file gives the defaults, a bad one raises ProblemsError listing
    every problem at FILE:LINE:COL (read like the plan, with the same reader)."""
    path = path or config_path(settings)
    if not path.exists():
        return NotifyConfig(console_url=settings.public_url)
    return parse_notify_config(read_text(path), str(path), settings.public_url)


def parse_notify_config(text: str, where: str, console_url: str) -> NotifyConfig:
    problems: list[Problem] = []
    root = compose(text, where, problems)
    if problems:
        raise ProblemsError(problems)
    r = Reader(where)
    config = _read(r, root, console_url.rstrip("/"))
    if r.problems:
        raise ProblemsError(r.problems)
    return config


def _read(r: Reader, root: YNode | None, console_url: str) -> NotifyConfig:
    top = r.mapping(root, "notifications", TOP_KEYS) if not is_null(root) else None
    if top is None:
        return NotifyConfig(console_url=console_url)
    close_after = 10.0
    if (node := top.get("missed")) is not None and (missed := r.mapping(node, "missed", ("close_after_seconds",))):
        close_after = _opt(r, missed, "missed", "close_after_seconds", r.number, 10.0)
    mail = _mail(r, top.get("mail"))
    webhooks = [w for i, item in enumerate(_items(r, top.get("webhooks"), "webhooks"))
                if (w := _webhook(r, item, f"webhooks[{i}]")) is not None]
    rules = [rule for i, item in enumerate(_items(r, top.get("rules"), "rules"))
             if (rule := _rule(r, item, f"rules[{i}]")) is not None]
    alerts = _texts(r, top, "", "alerts")
    if (rules or alerts) and mail is None:
        r.problem(top.entries["rules" if rules else "alerts"][0],
                  f"{'rules' if rules else 'alerts'}: rules and alerts send mail; add a mail: section with the SMTP server")
    staff_mail: dict[str, str] = {}
    if (node := top.get("staff_mail")) is not None and (named := r.mapping(node, "staff_mail")):
        for ext, (_, value) in named.entries.items():
            if (address := r.text(value, f"staff_mail.{ext}")) is not None:
                staff_mail[ext] = address
    return NotifyConfig(close_after_seconds=close_after, mail=mail, webhooks=tuple(webhooks), rules=tuple(rules),
                        staff_mail=staff_mail, console_url=console_url, alerts=alerts,
                        retry_max_seconds=_opt(r, top, "", "retry_max_seconds", r.number, 300.0))


def _mail(r: Reader, node: YNode | None) -> MailServer | None:
    m = r.mapping(node, "mail", MAIL_KEYS) if node is not None else None
    host = r.require(m, "host", "mail") if m is not None else None
    if m is None or host is None or (host_text := r.text(host, "mail.host")) is None:
        return None
    return MailServer(host=host_text, port=int(_opt(r, m, "mail", "port", _whole(r), 25)),
                      sender=_opt(r, m, "mail", "from", r.text, "ivr@localhost"),
                      user=_opt(r, m, "mail", "user", r.text, ""),
                      password=_opt(r, m, "mail", "password", r.text, ""),
                      starttls=_opt(r, m, "mail", "starttls", r.boolean, False),
                      timeout=_opt(r, m, "mail", "timeout", r.number, 10.0))


def _webhook(r: Reader, node: YNode, at: str) -> Webhook | None:
    w = r.mapping(node, at, WEBHOOK_KEYS)
    if w is None:
        return None
    events = EVENTS
    if (listed := w.get("events")) is not None:
        events = ()
        for event, item in r.texts(listed, f"{at}.events"):
            if event in EVENTS:
                events += (event,)
            else:
                r.problem(item, f"{at}.events: '{event}' is not one of {', '.join(EVENTS)}")
    url, secret = (r.require(w, name, at) for name in ("url", "secret"))
    url_text = r.text(url, f"{at}.url") if url is not None else None
    secret_text = r.text(secret, f"{at}.secret") if secret is not None else None
    if url_text is None or secret_text is None:
        return None
    return Webhook(url=url_text, secret=secret_text, events=events)


def _rule(r: Reader, node: YNode, at: str) -> Rule | None:
    x = r.mapping(node, at, RULE_KEYS)
    if x is None:
        return None
    rule = Rule(recipients=_texts(r, x, at, "recipients"), numbers=_texts(r, x, at, "numbers"),
                extensions=_texts(r, x, at, "extensions"), callers=_texts(r, x, at, "callers"),
                only_called=_opt(r, x, at, "only_called", r.boolean, False),
                digest_minutes=int(_opt(r, x, at, "digest_minutes", _whole(r), 0)),
                language=_opt(r, x, at, "language", lambda n, w: r.choice(n, w, LANGUAGES), "ru"),
                short=_opt(r, x, at, "short", r.boolean, False))
    if not rule.recipients and not rule.only_called:
        r.problem(node, f"{at}: give recipients, or only_called: yes")
        return None
    return rule


def _opt(r: Reader, fields: Fields, at: str, name: str, read: Callable[[YNode, str], Any], default: Any) -> Any:
    """An optional key read with its dotted path (`rules[0].language`) in any problem."""
    node = fields.get(name)
    value = read(node, f"{at}.{name}" if at else name) if node is not None else None
    return default if value is None else value


def _texts(r: Reader, fields: Fields, at: str, name: str) -> tuple[str, ...]:
    node = fields.get(name)
    return tuple(text for text, _ in r.texts(node, f"{at}.{name}" if at else name)) if node is not None else ()


def _items(r: Reader, node: YNode | None, what: str) -> list[YNode]:
    if node is None:
        return []
    if not isinstance(node, SequenceNode):
        r.problem(node, f"{what}: expected a list, got {describe(node)}")
        return []
    return list(node.value)


def _whole(r: Reader) -> Callable[[YNode, str], float | None]:
    return lambda node, what: r.number(node, what, integer=True)
