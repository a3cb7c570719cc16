"""Errors of the storage layer, each fit to show a user as it is."""
from __future__ import annotations

from ivr.errors import InvalidInput, IvrError, NotFound, ServiceUnavailable


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be opened, reached or brought up to date."""

    error_id = "database-unavailable"


class CallNotFound(NotFound):
    error_id = "call-not-found"


class PlanVersionNotFound(NotFound):
    error_id = "plan-version-not-found"


class NoPreviousPlan(IvrError):
    """A rollback was asked for with no older plan version to return to."""

    status_code = 409
    error_id = "no-previous-plan"


class CallExists(IvrError):
    """A call record for this channel was already started."""

    status_code = 409
    error_id = "call-exists"


class InvalidRecord(InvalidInput):
    """Values a repository refuses to store (an unknown direction, an end before the start)."""

    error_id = "invalid-record"
