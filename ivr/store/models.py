"""Tables of the service. Repositories (calls.py, plans.py) turn rows into plain dataclasses;
nothing outside ivr/store/ sees these classes.

A change here needs a migration in migrations/versions/ (see migrations/README).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
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
