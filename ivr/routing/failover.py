"""When a failed outbound attempt tries the next trunk. Standard library only: the staff AGI
script imports it on every call."""
from __future__ import annotations

import re

# SIP answers that are the callee's (busy, declined, no such number, not reachable): never retried
# on another trunk, the next trunk would reach the same phone.
CALLEE_CODES = frozenset({404, 410, 480, 484, 485, 486, 600, 603, 604})
# The trunk's own trouble: overload, timeout, server failure, refused credentials.
TRUNK_CODES = frozenset({401, 403, 407, 408, 500, 502, 503, 504, 580})
# Q.850 causes meaning the network had no way through (34: no circuit, "all circuits busy"; PJSIP
# gives 34 for 503, 18 for 408 and for no response at all, 102 for 504).
TRUNK_CAUSES = frozenset({18, 34, 38, 41, 42, 44, 47, 102})
# Causes that are the callee's (PJSIP: 404 -> 1, 486 -> 17, 480 -> 19, 603 -> 21, 410 -> 22, 484 -> 28).
CALLEE_CAUSES = frozenset({1, 17, 19, 21, 22, 28})
_SIP_CODE = re.compile(r"SIP (\d{3})\b")


def sip_code(tech_cause: str) -> int | None:
    """200-699 from Asterisk's HANGUPCAUSE(channel,tech), e.g. "SIP 503 Service Unavailable"."""
    match = _SIP_CODE.search(tech_cause or "")
    return int(match.group(1)) if match else None


def should_fail_over(dialstatus: str, code: int | None = None, cause: int | None = None) -> bool:
    """Whether a failed Dial on one trunk should try the next: on the trunk's trouble (503, 408,
    no response at all, no circuit), never on the callee's own answer (486, 480, 404, ...)."""
    status = dialstatus.upper()
    if status in ("ANSWER", "BUSY", "CANCEL", "DONTCALL", "TORTURE", "INVALIDARGS"):
        return False
    if code in CALLEE_CODES or (code is None and cause in CALLEE_CAUSES):
        return False
    if code in TRUNK_CODES or cause in TRUNK_CAUSES:
        return True
    if status == "NOANSWER":
        return False
    # CONGESTION, or CHANUNAVAIL with no final answer at all (no response, channel not created).
    return status == "CONGESTION" or (status == "CHANUNAVAIL" and code is None)
