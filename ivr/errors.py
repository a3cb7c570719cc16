"""The error family of the service. Each carries a message fit to show a user as it is."""
from __future__ import annotations


class IvrError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 500
    error_id = "internal-error"

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(IvrError):
    status_code = 400
    error_id = "invalid-config"


class NotFound(IvrError):
    status_code = 404
    error_id = "not-found"


class Forbidden(IvrError):
    status_code = 403
    error_id = "forbidden"


class InvalidInput(IvrError):
    status_code = 400
    error_id = "invalid-input"


class ServiceUnavailable(IvrError):
    status_code = 503
    error_id = "service-unavailable"
