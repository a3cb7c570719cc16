"""Reading a request, shared by the handlers: numbers in the path and the query, the JSON body,
times; anything wrong is an InvalidInput (400) that names the field."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.clock import parse_aware
from ivr.errors import InvalidInput


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
