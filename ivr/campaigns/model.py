"""Campaign data as frozen dataclasses: profiles (how to call), passengers, rows and attempts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ivr.errors import IvrError, NotFound
from ivr.plan.model import TimeRange

FlowKind = Literal["confirm", "notice"]
FLOW_KINDS: tuple[str, ...] = ("confirm", "notice")
# What a digit does in a campaign flow.
ACTIONS = ("confirm", "cancel", "dispatcher", "repeat", "understood")
# Outcomes of one attempt that did not give an answer; each may have a retry rule.
# "interrupted": answered, then cut off before an answer was stored; "lost": the channel was gone
# after a restart and nobody knows how it ended. Nobody cut off is left unconfirmed.
RETRY_OUTCOMES = ("busy", "no_answer", "declined", "congestion", "unreachable", "machine", "no_input", "interrupted",
                  "lost")
# Outcomes of an attempt in which the passenger answered a question (the action pressed).
ANSWERS = ("confirm", "cancel", "dispatcher", "understood")
CAMPAIGN_STATES = ("draft", "running", "paused", "cancelled", "done")
ROW_STATES = ("ready", "calling", "done", "cancelled")


class CampaignError(IvrError):
    status_code = 409
    error_id = "campaign-error"


class CampaignNotFound(NotFound):
    error_id = "campaign-not-found"


@dataclass(frozen=True)
class RetryRule:
    after: float          # seconds until the next attempt
    limit: int            # attempts ending with this outcome before the row is given up (retries + 1)


@dataclass(frozen=True)
class Pacing:
    max_concurrent: int = 10          # campaign calls at once, before trunk capacity is considered
    reserve_inbound: int = 1          # trunk channels always left free for inbound calls
    calls_per_second: float = 2.0     # ceiling on new originates
    per_free_dispatcher: float = 0.0  # calls in flight per free dispatcher of option 3; 0 = not dispatcher-aware
    min_concurrent: int = 0           # calls in flight allowed however few dispatchers are free


@dataclass(frozen=True)
class Amd:
    """app_amd parameters (milliseconds), in AMD()'s argument order; enabled=False skips AMD."""

    enabled: bool = False
    initial_silence: int = 2500
    greeting: int = 1500
    after_greeting_silence: int = 800
    total_analysis_time: int = 5000
    min_word_length: int = 100
    between_words_silence: int = 50
    maximum_number_of_words: int = 3
    silence_threshold: int = 256
    maximum_word_length: int = 5000

    def arguments(self) -> str:
        return ",".join(str(v) for v in (
            self.initial_silence, self.greeting, self.after_greeting_silence, self.total_analysis_time,
            self.min_word_length, self.between_words_silence, self.maximum_number_of_words,
            self.silence_threshold, self.maximum_word_length))


@dataclass(frozen=True)
class Wording:
    """Prompt names of a flow; the trip itself is spoken between `intro` and `question`."""

    intro: tuple[str, ...] = ()
    question: tuple[str, ...] = ()
    thanks: dict[str, tuple[str, ...]] = field(default_factory=dict)   # action -> prompts
    no_input: tuple[str, ...] = ()          # before the one repeat
    call_again: tuple[str, ...] = ()        # "we will call again", after the repeat went unanswered
    machine: tuple[str, ...] = ()           # left on an answering machine (machine: message)


@dataclass(frozen=True)
class Profile:
    """How a campaign calls: its flow, hours, retries, pacing, AMD and wording."""

    name: str
    kind: str                                         # confirm | notice
    digits: dict[str, str]                            # digit -> action
    wording: Wording
    hours: dict[int, tuple[TimeRange, ...]]           # callee's local weekday -> ranges
    call_on_holidays: bool = False
    holidays_from: tuple[str, ...] = ()               # plan schedules; () = all of them
    deadline_hours: float = 3.0                       # no call after departure minus this
    ring_seconds: int = 30
    answer_timeout: float = 5.0                       # for a digit after the question
    max_attempts: int = 3
    retry: dict[str, RetryRule] = field(default_factory=dict)
    pacing: Pacing = Pacing()
    amd: Amd = Amd()
    machine: str = "hangup"                           # hangup | message
    dispatcher: str = ""                              # plan node (hunt or queue) for option 3
    caller_id: str = ""
    webhook: str = ""                                 # URL of a notifications.yaml webhook: each answer
    record: bool = False                              # answered calls are recorded (the plan's `recording:`)


@dataclass(frozen=True)
class Passenger:
    """One row to call, as imported or pushed through the API."""

    name: str
    phone: str                    # E.164
    trip_id: str
    route: str = ""
    departure: datetime | None = None     # aware
    timezone: str = ""                    # the departure stop's zone (the ticket's); "" = the plan's
    seat: str = ""
    bus: str = ""
    platform: str = ""
    language: str = ""
    raw_phone: str = ""
    source_rows: tuple[int, ...] = ()     # CSV rows merged into this one
    key: str = ""                         # idempotency key (API), or "" for CSV rows

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "phone": self.phone, "trip_id": self.trip_id, "route": self.route,
                "departure": self.departure.isoformat() if self.departure else None,
                "trip_timezone": self.timezone,
                "seat": self.seat, "bus": self.bus, "platform": self.platform,
                "language": self.language}


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    kind: str
    profile: str
    status: str
    created_at: datetime
    dispatcher: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "profile": self.profile,
                "status": self.status, "created_at": self.created_at.isoformat(),
                "dispatcher": self.dispatcher}


@dataclass(frozen=True)
class Row:
    id: int
    campaign_id: int
    passenger: Passenger
    timezone: str
    status: str
    result: str                  # final or latest outcome / answer
    attempts: int
    next_at: datetime | None
    claim_token: str = ""
    claimed_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.passenger.to_dict(), "timezone": self.timezone,
                "status": self.status, "result": self.result, "attempts": self.attempts,
                "next_at": self.next_at.isoformat() if self.next_at else None}


@dataclass(frozen=True)
class Attempt:
    id: int
    row_id: int
    campaign_id: int
    number: str
    channel_id: str              # chosen by us before dialling
    trunk: str
    instance: str
    created_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = ""            # set by the flow (no_input, machine) or from the hangup cause
    digit: str = ""
    answer: str = ""             # action of the digit (confirm, cancel, ...)
    answer_at: datetime | None = None
    tried: tuple[str, ...] = ()  # trunks that failed this attempt before `trunk` (503, 408, ...)

    def to_dict(self) -> dict[str, Any]:
        iso = lambda t: t.isoformat() if t else None   # noqa: E731
        return {"id": self.id, "row_id": self.row_id, "number": self.number,
                "channel_id": self.channel_id, "trunk": self.trunk, "tried": list(self.tried),
                "instance": self.instance,
                "created_at": iso(self.created_at),
                "answered_at": iso(self.answered_at), "ended_at": iso(self.ended_at),
                "outcome": self.outcome, "digit": self.digit, "answer": self.answer}
