"""The plan's `transfer_codes:` (in-call transfer codes of staff phones) into TransferCodes.

`transfer_codes: {blind: "##", attended: "*2", digit_seconds: 3}`: the same defaults as FreePBX's
feature codes; like Asterisk's features.conf (blindxfer, atxfer, transferdigittimeout) they are
settings, since a phone or a habit may need others.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ruamel.yaml.nodes import Node as YNode

from ivr.plan.model import TransferCodes

if TYPE_CHECKING:                      # validate imports this module
    from ivr.yaml_reader import Reader

KEYS = ("blind", "attended", "digit_seconds")
_CODE = re.compile(r"[0-9*#]{2,4}")


def read_transfer_codes(r: Reader, node: YNode | None) -> TransferCodes:
    default = TransferCodes()
    fields = r.mapping(node, "transfer_codes", KEYS) if node is not None else None
    if fields is None:
        return default
    codes = {}
    for mode in ("blind", "attended"):
        value = r.optional(fields, mode, r.text, getattr(default, mode))
        if not _CODE.fullmatch(value):
            r.problem(fields.get(mode), f"transfer_codes {mode}: expected 2 to 4 of 0-9 * #, got '{value}'")
            value = getattr(default, mode)
        codes[mode] = value
    blind, attended = codes["blind"], codes["attended"]
    if blind.startswith(attended) or attended.startswith(blind):
        r.problem(fields.get("attended") or node, f"transfer_codes: '{blind}' and '{attended}' must differ "
                                                   "and neither may begin the other")
    seconds = r.optional(fields, "digit_seconds", lambda n, w: r.number(n, w, positive=True), default.digit_seconds)
    return TransferCodes(blind, attended, seconds)
