"""Storage: SQLAlchemy 2 (async) on SQLite or PostgreSQL, schema kept by Alembic migrations.

    db = await open_database(settings.database_url, settings)
    calls, plans = CallStore(db), PlanStore(db)
    ...
    await db.close()
"""
from __future__ import annotations

from ivr.store.calls import CallRecord, CallStep, CallStore
from ivr.store.db import Database, open_database
from ivr.store.errors import (
    CallExists,
    CallNotFound,
    DatabaseUnavailable,
    InvalidRecord,
    NoPreviousPlan,
    PlanVersionNotFound,
)
from ivr.store.plans import PlanStore, PlanVersion

__all__ = [
    "CallExists",
    "CallNotFound",
    "CallRecord",
    "CallStep",
    "CallStore",
    "Database",
    "DatabaseUnavailable",
    "InvalidRecord",
    "NoPreviousPlan",
    "PlanStore",
    "PlanVersion",
    "PlanVersionNotFound",
    "open_database",
]
