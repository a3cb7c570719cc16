from __future__ import annotations

from ivr.errors import InvalidInput


class SayError(InvalidInput):
    """A value that cannot be spoken: out of range, an unknown gender or case, a character."""

    error_id = "cannot-say"
