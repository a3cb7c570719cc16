"""ARI over plain HTTP: one aiohttp session per connection, the paths and query names of Asterisk's
REST API, JSON back as dicts.

A request costs one HTTP round trip and nothing more: no swagger description walked per call and no
model objects built from the answer (aioari did both, a third of the service's CPU per call at 200
concurrent calls). HTTP errors become our telephony errors: 404 means the channel (playback,
bridge) is gone.
"""
from __future__ import annotations

import asyncio
import base64
import json
import urllib.parse
from typing import Any

import aiohttp

from ivr.errors import IvrError, ServiceUnavailable

# A request that takes this long means Asterisk is stuck; the call gives up rather than hang.
REQUEST_TIMEOUT_S = 30.0


class AriError(IvrError):
    error_id = "ari-error"

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class ChannelGone(AriError):
    """The channel no longer exists: the other side hung up."""

    error_id = "channel-gone"


class AriConflict(AriError):
    error_id = "ari-conflict"


def segment(value: str) -> str:
    """One path segment: a device name such as PJSIP/101 keeps its slash inside the segment."""
    return urllib.parse.quote(value, safe="")


class AriRest:
    """Requests to ARI at `url` (http://host:8088) as `user`; `open()` before the first request."""

    def __init__(self, url: str, user: str, password: str):
        self.base = url.rstrip("/") + "/ari"
        self._key = f"{user}:{password}"
        self._headers = {"Authorization": "Basic " + base64.b64encode(self._key.encode()).decode(),
                         "Accept": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    def open(self) -> None:
        if self._session is None:
            # No cookies, no decompression: ARI sets none and sends plain JSON.
            self._session = aiohttp.ClientSession(
                headers=self._headers, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def events(self, app: str) -> aiohttp.ClientWebSocketResponse:
        """The event websocket of Stasis application `app`, open when this returns."""
        self.open()
        assert self._session is not None
        url = "ws" + self.base.removeprefix("http") + "/events"
        return await self._session.ws_connect(url, params={"app": app, "api_key": self._key})

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                      body: dict[str, Any] | None = None) -> Any:
        """`method` on `path` (below /ari, segments already quoted); None values are left out and
        booleans sent as ARI wants them ("true"/"false"). Returns the decoded JSON, None when empty."""
        session = self._session
        if session is None:
            raise ServiceUnavailable("not connected to Asterisk")
        try:
            async with session.request(method, self.base + path, params=query(params), json=body) as response:
                status, data = response.status, await response.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            raise ServiceUnavailable(f"Asterisk unreachable: {type(e).__name__}") from e
        return answer(method, path, status, data)


def answer(method: str, path: str, status: int, data: bytes | str) -> Any:
    """ARI's answer to one request, from either transport: its JSON, or the error its status means."""
    if status == 404:
        raise ChannelGone(f"{method} {path}: not found", 404)
    if status == 409:
        raise AriConflict(f"{method} {path}: conflict", 409)
    if status >= 300:
        raise AriError(f"{method} {path}: HTTP {status} {_reason(data)}".rstrip(), status)
    return json.loads(data) if data else None


def query(params: dict[str, Any] | None) -> dict[str, str]:
    """Query values as ARI reads them: None left out, booleans as "true"/"false"."""
    return {k: _text(v) for k, v in (params or {}).items() if v is not None}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reason(data: bytes | str) -> str:
    """ARI's own words for a refused request ({"message": "..."}), when it sent any."""
    try:
        message = json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        return ""
    return str(message)
