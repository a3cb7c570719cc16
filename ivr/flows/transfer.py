"""Transfers from a staff phone, in any call the service bridged (hunt, forward, queue, call-backs,
campaign option 3; a forward's outside party keys the codes):
who may be a target, the order target → recall → fallback, and the in-call codes.

With the default handling Asterisk's core acts on a phone's REFER itself: it dials the target in
the dialplan, outside our Stasis application, and the customer was hung up (seen: BYE cause 16 and
a `Local/` channel left behind). So every staff leg the service rings is created with
PJSIP_TRANSFER_HANDLING(ari-only) (`ivr.calls.handover.ARI_HANDLING`): the REFER becomes a
ChannelTransfer event, and the conversation passes the customer on itself (ivr.flows.talk): the
customer leaves the bridge, hears ringback while the target rings, the transferring phone is told
"done", and a target that does not answer rings the transferring phone back, then the plan's
fallback phones. What may be a target is decided here, without the hunt machinery.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ivr.plan.model import Plan, TransferCodes
from ivr.routing.numbers import InvalidNumber, classify, normalize



def transfer_target(destination: str, plan: Plan, by: str) -> tuple[str, str]:
    """(target, "") for a destination the phone `by` may pass a caller to: a staff extension, or an
    outside number of a class that phone may dial; ("", why not) otherwise."""
    wanted = destination.strip()
    if wanted in plan.staff:
        return ("", "same_phone") if wanted == by else (wanted, "")
    if wanted.isdigit() and len(wanted) <= 6:
        return "", "unknown_extension"
    try:
        number = normalize(wanted, plan.country or "RU")
    except InvalidNumber:
        return "", "invalid_number"
    staff = plan.staff.get(by)
    allowed = staff.dial if staff is not None else ()
    if classify(number, plan.country or "RU") not in allowed:
        return "", "not_allowed"
    return number, ""


def pass_on_order(plan: Plan, by: str, target: str) -> list[tuple[str, ...]]:
    """Who rings, in turn, for a caller passed on by `by`: the target, then `by` again (recall),
    then the plan's fallback phones together; each phone once."""
    fallback = tuple(ext for ext in plan.fallback if ext not in (by, target))
    batches = [(target,), (by,)] if by in plan.staff and by != target else [(target,)]
    return batches + ([fallback] if fallback else [])


@dataclass(frozen=True)
class CodeRequest:
    """A transfer keyed on the phone: `mode` blind or attended, to `number`."""

    mode: str
    number: str


class CodeReader:
    """Reads a staff leg's digits for the plan's in-call transfer codes (## 102 #, *2 102): a code,
    then the number, complete on # or after `digit_seconds` without a digit."""

    def __init__(self, codes: TransferCodes):
        self.codes = codes
        self.keyed, self.mode, self.until = "", "", math.inf

    def feed(self, digit: str, now: float) -> CodeRequest | None:
        if self.mode:
            if digit == "#":
                return self._done()
            self.keyed += digit
            self.until = now + self.codes.digit_seconds
            return None
        self.keyed += digit
        for mode, code in (("blind", self.codes.blind), ("attended", self.codes.attended)):
            if self.keyed.endswith(code):
                self.keyed, self.mode, self.until = "", mode, now + self.codes.digit_seconds
                return None
        self.keyed = self.keyed[-3:]               # a code is at most 4 digits
        return None

    def expire(self, now: float) -> CodeRequest | None:
        """The number is complete when no digit came for `digit_seconds`."""
        return self._done() if self.mode and now >= self.until else None

    def _done(self) -> CodeRequest | None:
        request = CodeRequest(self.mode, self.keyed) if self.keyed else None
        self.keyed, self.mode, self.until = "", "", math.inf
        return request
