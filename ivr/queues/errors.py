"""Errors of the queues, each fit to show a user as it is."""
from __future__ import annotations

from ivr.errors import InvalidInput, NotFound


class UnknownAgent(NotFound):
    error_id = "unknown-agent"


class InvalidAgentAction(InvalidInput):
    error_id = "invalid-agent-action"
