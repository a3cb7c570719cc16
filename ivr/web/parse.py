"""Reading a request, shared by the handlers: numbers in the path and the query, yes/no and
one-of choices in the query, the JSON body and its fields, times; anything wrong is an
InvalidInput (400) that names the field."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from aiohttp import web

from ivr.clock import parse_aware
from ivr.errors import InvalidInput

YES = ("1", "yes", "true")


def path_int(request: web.Request, name: str = "id", what: str | None = None) -> int:
    """A number from the path (`/api/calls/{id}`); `what` names it in the error ("call id")."""
    raw = request.match_info[name]
    if not raw.isdigit():
        raise InvalidInput(f"{what or name} {raw!r} is not a number")
    return int(raw)


def limit(request: web.Request, default: int = 50, most: int = 1000) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise InvalidInput(f"limit: {raw!r} must be a whole number from 1 to {most}")
    return int(raw)


def query_time(request: web.Request, key: str) -> datetime | None:
    """An aware ISO time from the query (`?since=...`), None when not given."""
    raw = request.query.get(key)
    return parse_aware(raw, key) if raw else None


def query_day(request: web.Request, key: str) -> date | None:
    """A day from the query (`?from=2026-12-07`), None when not given."""
    raw = request.query.get(key)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{key}: expected a day like 2026-12-07, not {raw!r}") from None


def query_flag(request: web.Request, key: str) -> bool:
    """`?key=1` (or yes, true); anything else, or nothing, is no."""
    return request.query.get(key) in YES


def query_choice(request: web.Request, key: str, choices: Collection[str], default: str) -> str:
    """One of `choices` from the query (`?status=open`), `default` when not given."""
    value = request.query.get(key) or default
    if value not in choices:
        raise InvalidInput(f"{key}: {value!r} is not one of {', '.join(choices)}")
    return value


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; no body at all is {}."""
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    return data


def text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    """A text field of a JSON body, stripped; required unless a default is given (also for null)."""
    value = data.get(key)
    if value is None:
        value = default
    if value is None:
        raise InvalidInput(f"{key} is required")
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a text")
    return value.strip()


def optional_id(data: dict[str, Any], key: str) -> int | None:
    """A record's number (1 or more) from a JSON body; None when absent."""
    value = data.get(key)
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise InvalidInput(f"{key} must be a number (1 or more), not {value!r}")
    return value


def objects(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of JSON objects from a body."""
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(f"{key} must be a list of objects")
    return value


def seconds(data: dict[str, Any], key: str) -> float:
    """A number of seconds (0 or more) from a JSON body, as a number or digits; 0 when absent."""
    value = data.get(key, 0)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidInput(f"{key} must be a number of seconds, not {value!r}")
    return float(value)


def day(data: dict[str, Any], key: str) -> date:
    """A day from a JSON body, like 2026-12-07."""
    value = data.get(key)
    try:
        return date.fromisoformat(value)          # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"{key}: expected a day like 2026-12-07, not {value!r}") from None
