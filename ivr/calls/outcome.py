"""One telephony vocabulary: how a leg the service placed ended, whichever feature placed it (hunt,
forward, queue, call-backs, campaigns, staff dialling). Asterisk reports the end twice, as a Dial
event's DIALSTATUS and as a Q.850 hang-up cause; both are read here and nowhere else, so the same
hang-up has the same outcome everywhere. Standard library only (the AGI scripts may import it).
"""
from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"                   # the callee is on another call
    NO_ANSWER = "no_answer"         # rang out, or the caller gave up first
    DECLINED = "declined"           # the callee refused the call
    UNAVAILABLE = "unavailable"     # no such number, no route, phone switched off or not registered
    CONGESTION = "congestion"       # the network had no way through (no circuit, overload)
    GONE = "gone"                   # a watched party (the caller, the agent) left before the end


# Q.850 cause of a leg that ended unanswered -> its outcome. PJSIP maps SIP answers to these:
# 404 -> 1, 486 -> 17, 408 -> 18, 480 -> 19, 603 -> 21, 410 -> 22, 484 -> 28, 503 -> 34, 504 -> 102.
CAUSES: dict[int, Outcome] = {
    1: Outcome.UNAVAILABLE, 2: Outcome.UNAVAILABLE, 3: Outcome.UNAVAILABLE,
    16: Outcome.NO_ANSWER, 17: Outcome.BUSY, 18: Outcome.NO_ANSWER, 19: Outcome.NO_ANSWER,
    20: Outcome.UNAVAILABLE, 21: Outcome.DECLINED, 22: Outcome.UNAVAILABLE, 27: Outcome.UNAVAILABLE,
    28: Outcome.UNAVAILABLE, 31: Outcome.NO_ANSWER,
    34: Outcome.CONGESTION, 38: Outcome.CONGESTION, 41: Outcome.CONGESTION, 42: Outcome.CONGESTION,
    44: Outcome.CONGESTION, 47: Outcome.CONGESTION, 102: Outcome.CONGESTION,
}
# Final DIALSTATUS values -> outcome (RINGING, PROGRESS, PROCEEDING and "" are not final).
DIAL_STATUSES: dict[str, Outcome] = {
    "ANSWER": Outcome.ANSWERED, "BUSY": Outcome.BUSY, "NOANSWER": Outcome.NO_ANSWER,
    "CANCEL": Outcome.NO_ANSWER, "DONTCALL": Outcome.DECLINED, "TORTURE": Outcome.DECLINED,
    "INVALIDARGS": Outcome.UNAVAILABLE, "CHANUNAVAIL": Outcome.UNAVAILABLE, "CONGESTION": Outcome.CONGESTION,
}
# The DIALSTATUS a call record stores for an outcome (the missed-call list reads it); keyed by the
# outcome's name, so a stored name looks it up too.
AS_DIAL_STATUS: dict[str, str] = {
    Outcome.ANSWERED: "ANSWER", Outcome.BUSY: "BUSY", Outcome.NO_ANSWER: "NOANSWER",
    Outcome.DECLINED: "DONTCALL", Outcome.UNAVAILABLE: "CHANUNAVAIL", Outcome.CONGESTION: "CONGESTION",
}


def of_cause(cause: int | None, dial_status: str = "") -> Outcome:
    """The outcome of a leg that ended with `cause`; an unknown cause falls back on the last
    dial status, then on NO_ANSWER (16 "normal clearing" before an answer)."""
    if cause in CAUSES:
        return CAUSES[cause]
    return DIAL_STATUSES.get(dial_status.upper(), Outcome.NO_ANSWER)


def of_dial_status(status: str) -> Outcome | None:
    """The outcome a final DIALSTATUS names; None while the leg is still going (RINGING, ...)."""
    return DIAL_STATUSES.get(status.upper())
