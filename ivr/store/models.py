"""Tables of the service. Repositories (calls.py, plans.py) turn rows into plain dataclasses;
nothing outside ivr/store/ sees these classes.

A change here needs a migration in migrations/versions/ (see migrations/README).
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so later migrations can alter them on both backends
# (SQLite's batch mode needs a name to drop or replace a constraint).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL so the data can be queried and indexed there later.
JsonData = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so the value is stored as naive UTC
    (which keeps string order equal to time order) and comes back with tzinfo=UTC.
    Naive datetimes are refused: their meaning depends on the machine that wrote them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use an aware one (UTC offset)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CallRow(Base):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_company_number_started_at", "company_number", "started_at"),
        Index("ix_calls_outcome", "outcome"),
        Index("ix_calls_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(128), unique=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    caller: Mapped[str] = mapped_column(String(32))  # E.164, or "" when withheld
    company_number: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    caller_name: Mapped[str] = mapped_column(String(200), default="")     # the display name the call came with
    # No foreign key: a call keeps the number of the plan it ran on even if that plan
    # was loaded from a file before it was stored.
    plan_version: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(64))
    answered_by: Mapped[str | None] = mapped_column(String(128))
    duration: Mapped[float | None] = mapped_column(Float)  # seconds, started_at → ended_at
    # Bumped by each add_step; its row lock hands out step numbers safely on PostgreSQL too.
    step_count: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))

    steps: Mapped[list[CallStepRow]] = relationship(
        back_populates="call", order_by="CallStepRow.seq", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CallStepRow(Base):
    __tablename__ = "call_steps"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_call_steps_call_id_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    node: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # enter, prompt, digit, ring, bridge, hangup, ...
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)

    call: Mapped[CallRow] = relationship(back_populates="steps")


class PlanVersionRow(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (
        # At most one active version, enforced by the database on both backends.
        Index(
            "uq_plan_versions_active", "active", unique=True,
            sqlite_where=sql_text("active"), postgresql_where=sql_text("active"),
        ),
    )

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_file: Mapped[str] = mapped_column(String(512))
    checksum: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    applied_by: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=False)


# ----- missed calls, contacts, notification outbox (migration 0002_missed) -----

class MissedItemRow(Base):
    """One entry of the missed-call list: a customer number and a company number, until reached."""

    __tablename__ = "missed_items"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'taken', 'closed')", name="status"),
        # One item not yet closed per customer and company number, enforced by the database.
        Index("uq_missed_items_pending", "customer", "company_number", unique=True,
              sqlite_where=sql_text("status <> 'closed'"), postgresql_where=sql_text("status <> 'closed'")),
        Index("ix_missed_items_status_last_at", "status", "last_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer: Mapped[str] = mapped_column(String(32))           # E.164 of the caller
    company_number: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    count: Mapped[int] = mapped_column(Integer, default=0)
    short: Mapped[bool] = mapped_column(Boolean, default=False)  # every call so far was short
    reason: Mapped[str] = mapped_column(String(64))              # of the latest missed call
    node: Mapped[str] = mapped_column(String(128), default="")   # where the latest call ended
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    voicemail: Mapped[str] = mapped_column(String(512), default="")  # latest message, under var/
    taken_by: Mapped[str] = mapped_column(String(128), default="")
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str] = mapped_column(String(128), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str] = mapped_column(String(64), default="")
    callback_seconds: Mapped[float | None] = mapped_column(Float)  # first missed -> closed


class MissedEventRow(Base):
    """The item's history: each missed call, take, release, call-back attempt, close."""

    __tablename__ = "missed_events"
    __table_args__ = (Index("ix_missed_events_item_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("missed_items.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))   # missed, taken, released, callback, closed
    by: Mapped[str] = mapped_column(String(128), default="")
    call_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)


class CallReviewRow(Base):
    """Marks a finished call as seen by the missed-call list, so a restart reviews the rest once."""

    __tablename__ = "call_reviews"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verdict: Mapped[str] = mapped_column(String(32))  # missed, reached, attempt, not_missed, ...
    item_id: Mapped[int | None] = mapped_column(Integer)


class OutboxRow(Base):
    """A notification to deliver (mail, digest mail, webhook), written in the transaction of the
    change it reports; the worker delivers it and marks it sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("channel IN ('mail', 'digest', 'webhook')", name="channel"),
        Index("ix_outbox_pending_due", "sent_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)   # idempotency key
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(512))             # mail address or webhook URL
    payload: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ContactRow(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    manager: Mapped[str] = mapped_column(String(32), default="")   # staff extension
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    numbers: Mapped[list[ContactNumberRow]] = relationship(
        back_populates="contact", order_by="ContactNumberRow.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ContactNumberRow(Base):
    __tablename__ = "contact_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32), unique=True)   # E.164: one contact per number

    contact: Mapped[ContactRow] = relationship(back_populates="numbers")


class UserRow(Base):
    """A staff account of the web console. Passwords are stored as scrypt hashes only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))            # one of ivr.security.roles.STAFF_ROLES
    extension: Mapped[str] = mapped_column(String(16), default="")   # their own phone, for call-back
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")  # "": the plan's


class AdSpendRow(Base):
    """What an advert (a company number's `source`) cost over some days, entered by an admin."""

    __tablename__ = "ad_spend"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    entered_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    __table_args__ = (Index("ix_ad_spend_source", "source", "first_day"),)


# ----- queues: agent states, call-back requests, one row per caller who waited (migration 0002_queues) -----

class QueueAgentRow(Base):
    """A queue agent's login and pause, so both survive a restart of the service. An extension
    without a row is logged in and not paused (the plan's agents are static members)."""

    __tablename__ = "queue_agents"

    extension: Mapped[str] = mapped_column(String(16), primary_key=True)
    logged_in: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffStateRow(Base):
    """A staff phone's do-not-disturb, so it survives a restart (migration 0013_staff). An extension
    without a row takes calls."""

    __tablename__ = "staff_state"

    extension: Mapped[str] = mapped_column(String(16), primary_key=True)
    dnd: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(128), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QueueCallbackRow(Base):
    """A caller who asked to be called back and keeps their place: `joined_at` orders the line."""

    __tablename__ = "queue_callbacks"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'calling', 'done', 'failed', 'cancelled')", name="status"),
        Index("ix_queue_callbacks_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(128))          # queue node id
    number: Mapped[str] = mapped_column(String(32))          # E.164 to call back
    call_id: Mapped[int | None] = mapped_column(Integer)     # the call that asked
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_result: Mapped[str] = mapped_column(String(32), default="")
    agent: Mapped[str] = mapped_column(String(16), default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QueueEntryRow(Base):
    """One caller's time in a queue, written when it ends: the statistics are computed from these."""

    __tablename__ = "queue_entries"
    __table_args__ = (Index("ix_queue_entries_queue_joined_at", "queue", "joined_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[int | None] = mapped_column(Integer)
    caller: Mapped[str] = mapped_column(String(32), default="")
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # answered, abandoned, timeout, full, no_agents, left, callback (and callback_answered, ...)
    outcome: Mapped[str] = mapped_column(String(32))
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    agent: Mapped[str] = mapped_column(String(16), default="")
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    service_level_seconds: Mapped[float] = mapped_column(Float, default=20.0)


# ----- outbound campaigns (migration 0002_campaigns) -----

class CampaignRecordRow(Base):
    """A campaign: a list of passengers to call with one profile of ivr/campaigns/config.py."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'running', 'paused', 'cancelled', 'done')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))           # confirm | notice
    profile: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    dispatcher: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignEntryRow(Base):
    """One passenger of a campaign. `status` calling + `claim_token` = claimed by one dialer."""

    __tablename__ = "campaign_rows"
    __table_args__ = (
        CheckConstraint("status IN ('ready', 'calling', 'done', 'cancelled')", name="status"),
        UniqueConstraint("campaign_id", "idem_key", name="uq_campaign_rows_campaign_id_idem_key"),
        # `id` too: the claim's pick orders by (next_at, id) and reads it off the index alone
        Index("ix_campaign_rows_due", "campaign_id", "status", "next_at", "id"),
        # adding a number to the do-not-call list settles its ready rows in every campaign
        Index("ix_campaign_rows_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))            # E.164
    raw_phone: Mapped[str] = mapped_column(String(64), default="")
    trip_id: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(200), default="")
    departure: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seat: Mapped[str] = mapped_column(String(64), default="")
    bus: Mapped[str] = mapped_column(String(64), default="")
    platform: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    timezone: Mapped[str] = mapped_column(String(64))         # the callee's
    # the departure stop's, as the ticket prints the time; "" = the plan's
    trip_timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="ready")
    result: Mapped[str] = mapped_column(String(32), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str] = mapped_column(String(128), default="")
    claim_token: Mapped[str] = mapped_column(String(64), default="")
    idem_key: Mapped[str | None] = mapped_column(String(128))
    source_rows: Mapped[list[int]] = mapped_column(JsonData, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignAttemptRow(Base):
    """One call of a row, written before it is dialled with the channel id we chose."""

    __tablename__ = "campaign_attempts"
    __table_args__ = (
        Index("ix_campaign_attempts_row_id", "row_id"),
        Index("ix_campaign_attempts_open", "instance", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("campaign_rows.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(128), unique=True)
    trunk: Mapped[str] = mapped_column(String(64), default="")
    instance: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(32), default="")
    digit: Mapped[str] = mapped_column(String(4), default="")
    answer: Mapped[str] = mapped_column(String(32), default="")
    answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # trunks that failed this attempt before `trunk` (failover within the attempt)
    tried: Mapped[list[str]] = mapped_column(JsonData, default=list)


class DoNotCallRow(Base):
    __tablename__ = "do_not_call"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)   # E.164
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ActiveCallbackRow(Base):
    """A call-back running to a customer: the primary key makes a second one at once impossible,
    across processes too. Removed when the call-back ends; a row whose call ended (or that never got
    its call) is stale after a crash and taken over."""

    __tablename__ = "missed_active_callbacks"

    customer: Mapped[str] = mapped_column(String(32), primary_key=True)   # E.164
    call_id: Mapped[int | None] = mapped_column(Integer)
    staff: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignMarkRow(Base):
    """A campaign row settled by a person (a passenger who called in and confirmed with a
    dispatcher): who, when, and the answer. At most one per row; the row is then done."""

    __tablename__ = "campaign_marks"

    row_id: Mapped[int] = mapped_column(ForeignKey("campaign_rows.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, index=True)
    answer: Mapped[str] = mapped_column(String(32))
    marked_by: Mapped[str] = mapped_column(String(128))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    in_flight: Mapped[bool] = mapped_column(Boolean, default=False)   # an attempt was being dialled


# ----- security: console sessions, API tokens, the audit log (migration 0008_security) -----

class ConsoleSessionRow(Base):
    """A logged-in console session; the cookie holds a random id whose SHA-256 is the key, so
    deleting the row (logout, password change) ends the session at once."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiTokenRow(Base):
    """A bearer token of a person or an integration; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """Who did what and when: logins, missed-call actions, campaigns, plans, users, tokens, recordings."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(80))          # user name, token:NAME or cli:OSUSER
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")


class RosterOverrideRow(Base):
    """Who is on duty in a roster on one duty day, set from the CLI or the console (migration
    0014_rosters); it comes before what the plan says for that day."""

    __tablename__ = "roster_overrides"

    roster: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    extension: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(128), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VoicemailRow(Base):
    """One message in a staff member's personal box (migration 0014_rosters). The audio stays in
    Asterisk's recordings (`recording`, a name under its recording directory)."""

    __tablename__ = "voicemail_messages"
    __table_args__ = (Index("ix_voicemail_messages_box", "box"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    box: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str] = mapped_column(String(64), default="")
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    recording: Mapped[str] = mapped_column(String(200))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heard_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
