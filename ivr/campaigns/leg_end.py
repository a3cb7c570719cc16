"""How a campaign call's leg ended, in the campaign profiles' words: the outcome stored on the
attempt, the DIALSTATUS the missed-call list logs it with, and whether the trunk failed it (then
another trunk is tried within the attempt)."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.calls.outcome import AS_DIAL_STATUS, Outcome
from ivr.routing.failover import should_fail_over

# The campaign profiles' own name for Outcome.UNAVAILABLE (retry rules and reports use it).
UNREACHABLE = "unreachable"


def attempt_outcome(outcome: Outcome) -> str:
    return UNREACHABLE if outcome is Outcome.UNAVAILABLE else outcome.value


def dial_status_of(attempt_outcome: str) -> str:
    """The DIALSTATUS the missed-call list logs an unanswered attempt with ("lost", "machine": FAILED)."""
    return AS_DIAL_STATUS.get(Outcome.UNAVAILABLE if attempt_outcome == UNREACHABLE else attempt_outcome, "FAILED")


@dataclass(frozen=True)
class LegEnd:
    """How one leg of an attempt ended: its Q.850 cause (None: gone without an event, e.g. while
    the service was down), Asterisk's last dial status, and whether it was ever answered."""

    cause: int | None
    dialstatus: str = ""
    answered: bool = False

    @property
    def trunk_failed(self) -> bool:
        """The trunk's trouble, not the callee's answer: another trunk may reach the passenger."""
        return not self.answered and self.cause is not None and should_fail_over(self.dialstatus, None, self.cause)
