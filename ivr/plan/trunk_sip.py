"""A trunk's `sip:` settings: registration, identification, codecs, DTMF, number formats.

Read from the plan's node tree like the rest of it (problems at FILE:LINE:COL), into TrunkSip.
"""
from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from ruamel.yaml.nodes import Node as YNode

from ivr.plan.model import TrunkSip

if TYPE_CHECKING:
    from ivr.yaml_reader import Fields, Reader

SIP_KEYS = ("register", "client", "expiry", "retry_seconds", "forbidden_retry_seconds", "contact_user",
            "identify", "match", "header", "codecs", "dtmf", "number_format", "did_from", "did_header")
IDENTIFY = ("address", "registration", "header")
# Asterisk's names; A-law first is the norm on Russian trunks.
CODECS = ("alaw", "ulaw", "g722", "g729", "gsm", "opus")
DTMF_MODES = ("rfc4733", "inband", "info", "auto")
NUMBER_FORMATS = ("e164", "national", "ten")
DID_FROM = ("request", "to", "header")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")
_HEADER_VALUE = re.compile(r"[A-Za-z0-9_.@+:-]{1,64}")
_CONTACT_USER = re.compile(r"[A-Za-z0-9_.+-]{1,64}")


def read_trunk_sip(r: Reader, info: Fields, name: str, has_login: bool) -> TrunkSip:
    """The trunk's `sip:` mapping; a missing one gives a trunk identified by its address."""
    node = info.get("sip")
    if node is None:
        return TrunkSip()
    what = f"trunk '{name}': sip"
    f = r.mapping(node, what, SIP_KEYS)
    if f is None:
        return TrunkSip()

    def whole(n: YNode, key: str) -> int | None:
        value = r.number(n, f"{what}.{key}", integer=True, positive=True)
        return None if value is None else int(value)

    def pick(key: str, allowed: tuple[str, ...], default: str) -> str:
        return r.optional(f, key, lambda n, k: r.choice(n, f"{what}.{k}", allowed), default)

    register = r.optional(f, "register", r.boolean, False)
    client = r.optional(f, "client", r.boolean, False)
    if register and client:
        r.problem(f.get("client"), f"{what}: register (we register to the carrier) and client (the gateway "
                                   f"registers to us) exclude each other")
    if (register or client) and not has_login:
        r.problem(f.get("register") or f.get("client"),
                  f"{what}: registration needs the trunk's username and password under trunks: '{name}' "
                  f"in the secrets file")
    identify = pick("identify", IDENTIFY, "registration" if register else "address")
    if identify == "registration" and not register:
        r.problem(f.get("identify"), f"{what}.identify: 'registration' needs register: yes")
    header = ("", "")
    if identify == "header":
        header_node = r.require(f, "header", what)
        text = r.text(header_node, f"{what}.header") if header_node is not None else None
        if text is not None:
            hname, _, value = (part.strip() for part in text.partition(":"))
            if not _HEADER_NAME.fullmatch(hname) or not _HEADER_VALUE.fullmatch(value):
                r.problem(header_node, f"{what}.header: '{text}' must be 'Name: value', e.g. 'X-Trunk: {name}'")
            else:
                header = (hname, value)
    elif f.get("header") is not None:
        r.problem(f.get("header"), f"{what}.header: only used with identify: header")
    match = []
    if (n := f.get("match")) is not None:
        if identify != "address":
            r.problem(n, f"{what}.match: only used with identify: address")
        for address, item in r.texts(n, f"{what}.match"):
            try:
                match.append(str(ipaddress.ip_network(address, strict=False)))
            except ValueError:
                r.problem(item, f"{what}.match: '{address}' is not an IP address or network like 203.0.113.0/24")
    codecs = []
    if (n := f.get("codecs")) is not None:
        for codec, item in r.texts(n, f"{what}.codecs"):
            if codec not in CODECS:
                r.problem(item, f"{what}.codecs: '{codec}' is not one of {', '.join(CODECS)}")
            elif codec not in codecs:
                codecs.append(codec)
    did_from = pick("did_from", DID_FROM, "request")
    did_header = r.optional(f, "did_header", lambda n, k: r.text(n, f"{what}.{k}"), "")
    if did_from == "header" and not _HEADER_NAME.fullmatch(did_header):
        r.problem(f.get("did_header") or f.get("did_from"),
                  f"{what}: did_from: header needs did_header: the header's name, e.g. X-Called-Number")
    contact_user = r.optional(f, "contact_user", lambda n, k: r.text(n, f"{what}.{k}"), "")
    if contact_user and not _CONTACT_USER.fullmatch(contact_user):
        r.problem(f.get("contact_user"), f"{what}.contact_user: letters, digits and _ . + - only")
    return TrunkSip(
        register=bool(register), client=bool(client),
        expiry=r.optional(f, "expiry", whole, 600),
        retry_seconds=r.optional(f, "retry_seconds", whole, 60),
        forbidden_retry_seconds=r.optional(f, "forbidden_retry_seconds", whole, 300),
        contact_user=contact_user, identify=identify, match=tuple(match), header=header,
        codecs=tuple(codecs) or TrunkSip.codecs, dtmf=pick("dtmf", DTMF_MODES, "rfc4733"),
        number_format=pick("number_format", NUMBER_FORMATS, "e164"),
        did_from=did_from, did_header=did_header if did_from == "header" else "")
