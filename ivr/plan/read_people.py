"""Staff phones of a plan and their secrets (passwords, trunk logins) from the secrets file."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ruamel.yaml.nodes import Node as YNode, ScalarNode

from ivr.plan.model import Staff
from ivr.plan.recording import record_flag
from ivr.yaml_reader import Fields, did_you_mean, is_null
from ivr.security.passwords import weakness

if TYPE_CHECKING:
    from ivr.plan.validate import PlanBuilder

STAFF_KEYS = ("name", "mobile", "language", "dial", "dial_per_hour", "pickup_group", "record", "mail")
_MAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXTENSION = re.compile(r"\d{2,6}")
# A pickup group becomes a word in pjsip.conf.
_PICKUP_GROUP = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
# Destination classes a phone may be allowed to dial (ivr.routing.numbers.DestClass).
DIAL_CLASSES = ("internal", "local", "mobile", "long_distance", "international")
DEFAULT_DIAL = ("internal", "local", "mobile", "long_distance")
# Passwords end up in pjsip.conf, where ';' starts a comment and spaces break the value.
_PASSWORD = re.compile(r"[A-Za-z0-9_.!@%^*+=:,/?~-]{8,64}")


def read_secrets(b: PlanBuilder) -> None:
    s = b.secrets
    if s.reader is None or is_null(b.secrets_root):
        return
    top = s.reader.mapping(b.secrets_root, "secrets", ("staff", "trunks"))
    _read_trunk_secrets(b, top.get("trunks") if top else None)
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


def _read_trunk_secrets(b: PlanBuilder, node: YNode | None) -> None:
    """`trunks: {name: {username, password}}`: SIP credentials a trunk asks of us."""
    s = b.secrets
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


def read_staff(b: PlanBuilder, top: Fields) -> None:
    r = b.r
    node = top.get("staff")
    fields = r.mapping(node, "staff") if node is not None else None
    if fields is None:
        return
    for ext, (key, value) in fields.entries.items():
        if not _EXTENSION.fullmatch(ext):
            r.problem(key, f"staff: extension '{ext}' must be 2 to 6 digits")
            continue
        b.staff_ids.add(ext)
        name, mobile, language, pickup_group, mail = "", "", "", "", ""
        dial, dial_per_hour, record = DEFAULT_DIAL, 60, False
        if isinstance(value, ScalarNode):
            name = str(value.value).strip() if not is_null(value) else ""
        elif (info := r.mapping(value, f"staff '{ext}'", STAFF_KEYS)) is not None:
            name = r.optional(info, "name", r.text, "")
            mobile = r.optional(info, "mobile", b.phone, "")
            if (n := info.get("language")) is not None:
                language = r.text(n, "language") or ""
                b.languages_used.append((language, n))
            if (n := info.get("dial")) is not None:
                dial = _dial_classes(b, n, ext)
            dial_per_hour = int(r.optional(info, "dial_per_hour",
                                           lambda n, w: r.number(n, w, integer=True), 60))
            record = record_flag(r, info, f"staff '{ext}'")
            if (n := info.get("pickup_group")) is not None:
                pickup_group = r.text(n, "pickup_group") or ""
                if pickup_group and not _PICKUP_GROUP.fullmatch(pickup_group):
                    r.problem(n, f"staff '{ext}': pickup_group '{pickup_group}' must be lower-case "
                                 "letters, digits, '_' or '-' (up to 32)")
                    pickup_group = ""
            if (n := info.get("mail")) is not None:
                mail = r.text(n, "mail") or ""
                if mail and not _MAIL.fullmatch(mail):
                    r.problem(n, f"staff '{ext}': mail '{mail}' is not a mail address like anna@example.com")
                    mail = ""
        password = b.secrets.passwords.get(ext)
        if password is None:
            where = b.secrets.reader.source if b.secrets.reader else "the secrets file"
            if b.secrets_root is None or is_null(b.secrets_root):
                r.problem(key, f"staff '{ext}': no password, because {b.secrets.missing}")
            else:
                r.problem(key, f"staff '{ext}': no password in {where} "
                               f"(staff: {{\"{ext}\": {{password: ...}}}})")
            continue
        b.staff[ext] = Staff(extension=ext, name=name, password=password, mobile=mobile,
                                language=language, dial=dial, dial_per_hour=dial_per_hour,
                                pickup_group=pickup_group, record=record, mail=mail)


def _dial_classes(b: PlanBuilder, node: YNode, ext: str) -> tuple[str, ...]:
    """`dial: [local, mobile, long-distance]`: what this phone may call outside ("internal" is
    always allowed: calling a colleague is never toll fraud)."""
    classes = ["internal"]
    for word, item in b.r.texts(node, f"staff '{ext}': dial"):
        cls = word.replace("-", "_")
        if cls not in DIAL_CLASSES:
            b.r.problem(item, f"staff '{ext}': dial: '{word}' is not one of "
                                 f"{', '.join(DIAL_CLASSES)}{did_you_mean(cls, DIAL_CLASSES)}")
        elif cls not in classes:
            classes.append(cls)
    return tuple(classes)

