"""Calls ready to dial: a campaign's next rows claimed ahead, their attempts (with the channel ids
chosen) committed, waiting in memory for a free slot.

Why: a freed slot used to wait for the dialer's next round (the running campaigns read, the
trunks' channels listed, the claim's transaction), each step a turn of an event loop that 150
calls keep busy: slot free -> INVITE p50 0.1-0.3 s (bench_campaign). Now the watcher whose call
ended dials the oldest ready call at once; the round refills the line off that path.

Never twice: a ready call is an open attempt of this instance, owned by the dialer, so reconcile
leaves it alone. One not dialled is handed back (attempt deleted, row due again as it was, or
settled when its hours or deadline passed meanwhile) when it waited `READY_SECONDS`, when its
campaign stops running, and at shutdown. After a crash its channel does not exist and reconcile
ends it "lost", as any attempt whose channel is gone: it cannot tell a dial that never left from
a call that ended while the service was down, so it never dials it again; the row is called again
under the profile's "lost" rule.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ivr.campaigns import scheduler
from ivr.campaigns.model import Attempt, Campaign, Profile, Row
from ivr.plan.model import Plan

# A ready call older than this goes back to its row (a row settled by hand meanwhile is not
# called long after; the callee's hours are checked again at the dial).
READY_SECONDS = 10.0
# Ready calls kept per campaign: the slots that freed in the last READY_HORIZON seconds (the
# round that refills the line takes 10-50 ms, over a second on a loaded machine), at least a
# fifth of the campaign's slots (the calls dialled together end together: 60 a second at 150
# calls, bench_campaign), 1 to READY_AHEAD.
READY_HORIZON = 2.0
READY_AHEAD = 32


@dataclass(frozen=True)
class ClaimedCall:
    """A claimed row, its stored attempt and what dialling it needs; kept from the claim (ready)
    to the attempt's end (dialled), so the answered call and the end read nothing back."""

    campaign: Campaign
    profile: Profile
    plan: Plan
    row: Row
    attempt: Attempt
    since: float                     # time.monotonic() of the claim


def callable_now(call: ClaimedCall, now: datetime) -> bool:
    """Still inside the callee's hours and before the deadline (they may have passed since the claim)."""
    limit = scheduler.deadline(call.row.passenger, call.profile)
    holidays = scheduler.holidays_of(call.plan, call.profile)
    return scheduler.next_call_time(now, call.row.timezone, call.profile, holidays, limit) == now


class ReadyLine:
    """The ready calls of each campaign, oldest first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lines: dict[int, deque[ClaimedCall]] = {}
        self._frees: dict[int, deque[float]] = {}        # campaign id -> when its last slots freed

    def freed(self, campaign_id: int) -> None:
        self._frees.setdefault(campaign_id, deque(maxlen=4 * READY_AHEAD)).append(self._clock())

    def target(self, campaign_id: int, profile: Profile) -> int:
        """Calls to keep ready: as many slots as freed in the last READY_HORIZON seconds."""
        horizon = self._clock() - READY_HORIZON
        recent = sum(1 for t in self._frees.get(campaign_id, ()) if t > horizon)
        return max(1, min(READY_AHEAD, max(recent, profile.pacing.max_concurrent // 5)))

    def add(self, call: ClaimedCall) -> None:
        self._lines.setdefault(call.campaign.id, deque()).append(call)

    def count(self, campaign_id: int) -> int:
        return len(self._lines.get(campaign_id, ()))

    def campaigns(self) -> set[int]:
        return {cid for cid, line in self._lines.items() if line}

    def fresh(self, call: ClaimedCall) -> bool:
        return self._clock() - call.since < READY_SECONDS

    def take(self, campaign_id: int, fits: Callable[[ClaimedCall], bool]) -> ClaimedCall | None:
        """The oldest fresh call of the campaign that `fits`, out of the line; None if there is none."""
        line = self._lines.get(campaign_id)
        for call in line or ():
            if self.fresh(call) and fits(call):
                line.remove(call)
                return call
        return None

    def stale(self, campaign_id: int) -> list[ClaimedCall]:
        """The campaign's calls that waited too long, out of the line."""
        line = self._lines.get(campaign_id)
        if not line:
            return []
        old = [c for c in line if not self.fresh(c)]
        for call in old:
            line.remove(call)
        return old

    def drop(self, campaign_id: int | None = None) -> list[ClaimedCall]:
        """A campaign's calls (every campaign's: None), out of the line."""
        ids = list(self._lines) if campaign_id is None else [campaign_id]
        return [call for cid in ids for call in self._lines.pop(cid, ())]
