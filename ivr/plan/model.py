"""The routing plan as plain frozen data. Runtime code reads only these, never raw YAML.

Every reference (node ids, schedules, staff extensions, prompts) has been checked by the loader,
so executors can index without guarding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal, Protocol

ScheduleState = Literal["open", "closed", "holiday"]



@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time          # end > start; "24:00" is stored as time.max


@dataclass(frozen=True)
class Closure:
    start: datetime    # aware, in the plan's time zone
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class Schedule:
    name: str
    weekly: dict[int, tuple[TimeRange, ...]]   # weekday (0 = Monday) -> open ranges
    holidays: dict[date, str]                   # date -> name
    closures: tuple[Closure, ...] = ()


@dataclass(frozen=True)
class CompanyNumber:
    number: str        # E.164
    entry: str         # node id
    source: str        # tracking label (ad campaign), reported per call
    name: str = ""
    record: bool = False   # every call to this number is recorded from the answer (plan `recording:`)


@dataclass(frozen=True)
class Staff:
    extension: str     # "101": also the PJSIP endpoint and auth user
    name: str
    password: str      # from the secrets file, never the plan
    mobile: str = ""   # E.164, used by follow-me
    language: str = ""
    # Outbound class of service: destination classes this phone may dial (ivr.routing.numbers
    # .DestClass). International is off unless listed: toll-fraud protection.
    dial: tuple[str, ...] = ("internal", "local", "mobile", "long_distance")
    dial_per_hour: int = 60    # outbound calls to outside numbers an hour, 0 = no limit
    pickup_group: str = ""     # phones of one group answer each other's ringing calls with *8
    record: bool = False       # outside calls this phone makes are recorded
    mail: str = ""             # a personal voicemail box: messages are mailed here (docs/plan-format.md)


@dataclass(frozen=True)
class TransferCodes:
    """In-call codes a staff phone keys to pass its caller on (ivr.flows.transfer_codes)."""

    blind: str = "##"              # ## 102 #: the caller rings 102 at once
    attended: str = "*2"           # *2 102: talk to 102 first; hang up or * to hand over, # to go back
    digit_seconds: float = 3.0     # the number is complete after this long without a digit (or on #)


@dataclass(frozen=True)
class Roster:
    """`rosters:` in the plan: who is on duty on a given duty day (ivr.plan.roster.on_duty). The
    database's overrides for a date (ivr roster set) come before all of these."""
    name: str
    people: tuple[str, ...] = ()      # staff extensions taking turns from `start`, `every` days each
    start: date = date(2026, 1, 5)    # a Monday: turns follow weeks
    every: int = 7
    weekdays: dict[int, str] = field(default_factory=dict)   # weekday (0 = Monday) -> extension
    dates: dict[date, str] = field(default_factory=dict)     # a date -> extension
    holiday_schedule: str = ""        # on this schedule's holidays ...
    holiday_person: str = ""          # ... this extension is on duty
    change_at: time = time(0, 0)      # a duty day starts at this local time
    ring: Literal["phone", "mobile"] = "phone"   # what a hunt or forward naming the roster rings


@dataclass(frozen=True)
class TrunkSip:
    """How a trunk speaks SIP, as the carrier's offer says (docs/trunks.md)."""

    register: bool = False          # we REGISTER to the carrier with the trunk's login (digest auth)
    client: bool = False            # a GSM/SIM gateway at `host` that registers to us with the trunk's login
    expiry: int = 600               # seconds a registration lasts
    retry_seconds: int = 60         # after a failed registration
    forbidden_retry_seconds: int = 300   # after a 401/403 with our credentials
    contact_user: str = ""          # user part of our Contact when registering (default: the login)
    identify: str = "address"       # inbound calls: address | registration | header
    match: tuple[str, ...] = ()     # identify: address -> the carrier's addresses/networks (default: host)
    header: tuple[str, str] = ("", "")   # identify: header -> (name, value)
    codecs: tuple[str, ...] = ("alaw", "ulaw")
    dtmf: str = "rfc4733"           # rfc4733 | inband | info | auto
    number_format: str = "e164"     # numbers we send: e164 (+7...) | national (8...) | ten (10 digits)
    did_from: str = "request"       # where the called company number is: request | to | header
    did_header: str = ""            # did_from: header -> the header's name


@dataclass(frozen=True)
class Trunk:
    name: str
    host: str          # address[:port] or DNS name of the operator's or gateway's SIP side
    caller_id: str = ""
    capacity: int = 0  # concurrent channels, 0 = unlimited
    default: bool = False
    carriers: tuple[str, ...] = ()             # mobile carriers reached on-net (our keys)
    # Price per minute by destination class; None: the trunk does not carry that class.
    cost_onnet: float | None = None
    cost_mobile: float | None = None
    cost_landline: float | None = None
    cost_international: float | None = None
    priority: int = 100                        # lower is tried first among equal costs
    international: bool = False                # may carry international calls off-net
    calls_per_minute: int = 0                  # new outbound calls a minute, 0 = no limit
    username: str = ""                         # SIP auth towards the trunk, from the secrets file
    password: str = ""
    sip: TrunkSip = field(default_factory=TrunkSip)


# ----- nodes: one dataclass per kind; `id` is the key under `nodes:` -----

@dataclass(frozen=True)
class PlayNode:
    id: str
    prompts: tuple[str, ...]
    next: str | None = None          # None: hang up after playing
    kind: str = "play"


@dataclass(frozen=True)
class MenuNode:
    id: str
    prompts: tuple[str, ...]
    choices: dict[str, str]          # digit -> node id
    timeout: float = 5.0             # seconds to wait for a digit after the prompt
    retries: int = 2                 # further tries after the first
    invalid: tuple[str, ...] = ()    # prompts on a digit that is not a choice
    no_input: tuple[str, ...] = ()   # prompts when nothing was pressed
    default: str | None = None       # node when tries run out; None: hang up
    kind: str = "menu"


@dataclass(frozen=True)
class ScheduleNode:
    id: str
    schedule: str
    open: str
    closed: str
    holiday: str                     # defaults to `closed` in the loader
    kind: str = "schedule"


@dataclass(frozen=True)
class LanguageNode:
    id: str
    language: str
    next: str
    kind: str = "language"


@dataclass(frozen=True)
class GotoNode:
    id: str
    next: str
    kind: str = "goto"


@dataclass(frozen=True)
class HangupNode:
    id: str
    prompts: tuple[str, ...] = ()
    kind: str = "hangup"


@dataclass(frozen=True)
class ForwardNode:
    id: str
    number: str                      # E.164 or staff extension
    ring_seconds: float = 30.0
    then: str | None = None
    kind: str = "forward"
    record: bool = False             # record the conversation from here on


@dataclass(frozen=True)
class HuntMember:
    target: str                      # staff extension or E.164 number
    ring_seconds: float              # already converted from rings with the plan's cadence
    follow_me: tuple[str, ...] = ()  # further targets tried after this one
    confirm: bool = False            # external numbers: press 1 to accept


@dataclass(frozen=True)
class HuntNode:
    id: str
    members: tuple[HuntMember, ...]
    strategy: Literal["sequential", "ringall", "roundrobin", "memory", "overlap"] = "sequential"
    limit_seconds: float = 0.0       # whole group, 0 = sum of member times
    music: str = ""                  # empty: ringback; else a musiconhold class
    ring_busy: bool = False          # ring members already on a call
    overlap_seconds: float = 0.0     # overlap strategy: the next member starts this long before
    then: str | None = None
    kind: str = "hunt"
    manager_first: bool = False      # a known contact's responsible manager (a staff extension) rings first
    record: bool = False             # record the conversation from here on


@dataclass(frozen=True)
class QueueNode:
    id: str
    agents: tuple[str, ...]          # staff extensions, in the plan's order (linear, round-robin)
    strategy: str = "ringall"        # ringall, linear, longestidle (= leastrecent), roundrobin, fewestcalls, random
    music: str = "default"           # musiconhold class
    announce_every: float = 30.0     # position (and estimated wait) again after this long; 0 = on entry only
    max_wait: float = 0.0            # 0 = no limit
    max_callers: int = 0             # 0 = no limit
    callback_after: float = 0.0      # offer "press 1 to be called back" after this long; 0 = never
    agent_ring_seconds: float = 15.0
    wrapup_seconds: float = 0.0
    then: str | None = None
    penalties: dict[str, int] = field(default_factory=dict)   # extension -> penalty (0 = first)
    vip: tuple[str, ...] = ()        # E.164 callers who go ahead of the line
    service_level_seconds: float = 20.0
    skip_after_no_answer_seconds: float = 10.0   # an agent who let it ring is not offered calls this long
    leave_digit: str = ""            # a digit that leaves the line to `leave` (or `then`)
    leave: str | None = None
    callback_retries: int = 3        # further attempts when the customer is busy or does not answer
    callback_retry_seconds: float = 60.0
    kind: str = "queue"
    record: bool = False             # record the conversation from here on


@dataclass(frozen=True)
class VoicemailNode:
    id: str
    prompts: tuple[str, ...] = ()
    max_seconds: float = 120.0
    then: str | None = None
    kind: str = "voicemail"
    box: str = ""                    # a staff extension: the message goes to that person's box


@dataclass(frozen=True)
class CallbackNode:
    id: str
    prompts: tuple[str, ...] = ()
    then: str | None = None
    kind: str = "callback"


@dataclass(frozen=True)
class AutoCallbackRule:
    """`auto_callback:` in the plan: which open missed-call items the service calls back by itself,
    when, and who takes them (docs/plan-format.md#automatic-call-back)."""
    name: str
    schedule: str                    # only while this schedule is open
    reasons: frozenset[str]          # item reasons (call outcomes) that qualify, groups expanded
    numbers: tuple[str, ...] = ()    # company numbers (E.164) it covers; () = every one
    staff: tuple[str, ...] = ()      # who takes it: the first free of these extensions ...
    queue: str = ""                  # ... or a free agent of this queue node (logged in, not paused)
    not_before: time | None = None   # local time of day; None: from the schedule's opening
    not_after: time | None = None    # time.max stands for 24:00
    delay_seconds: float = 60.0      # after the customer's latest call: they may call again first
    attempts: int = 3                # calls to the customer per missed call, then people take over
    retry_seconds: float = 600.0     # after a busy, unanswered or failed attempt
    skip_short: bool = True          # items of misdials only (all calls `short`) are left alone


class Node(Protocol):
    """What every node dataclass has; each kind's own fields are in its dataclass (ivr/plan/nodes/)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class DayCap:
    """Outbound calls and minutes one trunk or one staff phone may use a day; 0: no limit."""
    calls: int = 0
    minutes: int = 0

    def __bool__(self) -> bool:
        return bool(self.calls or self.minutes)


@dataclass(frozen=True)
class DailyLimits:
    """`limits:` in the plan, the toll-fraud guard: outbound use a day (the plan's time zone) that
    campaigns together, each trunk and each staff phone may reach. An alert mail goes out at
    ALERT_SHARE; at the limit campaigns stop, a trunk is skipped, a phone is refused."""
    campaign_calls: int = 0          # 0: no limit
    campaign_minutes: int = 0
    alert_to: tuple[str, ...] = ()   # mail addresses
    trunks: dict[str, DayCap] = field(default_factory=dict)
    phones: DayCap = DayCap()        # every staff phone unless `phone_caps` names it
    phone_caps: dict[str, DayCap] = field(default_factory=dict)

    def phone(self, extension: str) -> DayCap:
        return self.phone_caps.get(extension, self.phones)


@dataclass(frozen=True)
class RecordingPolicy:
    """`recording:` in the plan: how the conversations chosen for recording (a number's, a node's,
    a staff phone's `record: yes`) are recorded and kept (docs/plan-format.md#call-recording)."""
    consent: bool = True             # the caller hears CONSENT_PROMPT before the recording starts
    stereo: bool = False             # customer on the left channel, staff on the right; else one mixed channel
    retention_days: int = 90         # the daily purge deletes older days; 0 keeps them for ever


CONSENT_PROMPT = "call-recorded"


@dataclass(frozen=True)
class Plan:
    company: str
    timezone: str                    # IANA name
    country: str                     # ISO 3166 alpha-2: cadence and number normalisation
    language: str                    # default prompt language
    languages: tuple[str, ...]
    ring_seconds: float              # one ring as a person hears it (cadence), maybe overridden
    short_call_seconds: float
    numbers: dict[str, CompanyNumber]
    schedules: dict[str, Schedule]
    staff: dict[str, Staff]
    fallback: tuple[str, ...]        # extensions the dialplan rings when the service is down
    nodes: dict[str, Node]
    trunks: dict[str, Trunk] = field(default_factory=dict)
    auto_callback: tuple[AutoCallbackRule, ...] = ()    # first matching rule wins
    limits: DailyLimits = field(default_factory=DailyLimits)
    transfer_ring_seconds: float = 20.0  # a transfer's target, then the transferring phone, ring this long
    transfer_codes: TransferCodes = field(default_factory=TransferCodes)
    recording: RecordingPolicy = field(default_factory=RecordingPolicy)
    rosters: dict[str, Roster] = field(default_factory=dict)
    voicemail_ring_seconds: float = 20.0  # an internal call rings this long before the callee's voicemail
    source: str = ""                 # file name the plan came from
    checksum: str = ""               # sha256 of the YAML text

    @property
    def mailboxes(self) -> list[str]:
        """Extensions with a personal voicemail box (a mail address in the plan)."""
        return sorted(e for e, s in self.staff.items() if s.mail)

    @property
    def default_trunk(self) -> str:
        """The trunk a leg leaves on without the carrier router: the one marked default, else the
        first; "" without trunks."""
        return next((t.name for t in self.trunks.values() if t.default), None) or next(iter(self.trunks), "")
