"""Errors of the missed-call list, each fit to show a user as it is."""
from __future__ import annotations

from ivr.errors import IvrError, NotFound


class MissedItemNotFound(NotFound):
    error_id = "missed-item-not-found"


class MissedConflict(IvrError):
    """The item's state does not allow this (closed, taken by someone else, a call-back running)."""

    status_code = 409
    error_id = "missed-conflict"
