"""ARI requests over the event websocket (Asterisk 22.4+, "ARI REST over WebSocket").

A request is one JSON message out (`RESTRequest`) and its answer one message back on the same
socket (`RESTResponse`, matched by request id): no HTTP connection, headers or request objects per
operation, which made HTTP requests the largest share of the service's CPU per call after SQL.
The answer means what the same request over HTTP would (rest.answer).
"""
from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp

from ivr.ari.rest import REQUEST_TIMEOUT_S, answer, query
from ivr.errors import ServiceUnavailable

# An Asterisk that takes requests on the websocket answers a ping at once.
PROBE_TIMEOUT_S = 2.0


class WsRest:
    """Requests sent on one open event websocket; `deliver` hands it each RESTResponse read."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, timeout: float = REQUEST_TIMEOUT_S):
        self._ws = ws
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def answers(self, within: float = PROBE_TIMEOUT_S) -> bool:
        """Whether this Asterisk takes requests on the websocket (older ones ignore them)."""
        try:
            await self.request("GET", "/asterisk/ping", timeout=within)
        except ServiceUnavailable:
            return False
        return True

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                      body: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """The same request and answer as AriRest.request, over the websocket."""
        request_id = str(next(self._ids))
        message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id, "method": method,
                                   "uri": path.lstrip("/")}
        values = query(params)
        if values:
            # Name/value pairs need no URL encoding: media URIs and dial strings go as they are.
            message["query_strings"] = [{"name": k, "value": v} for k, v in values.items()]
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = json.dumps(body)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            await self._ws.send_str(json.dumps(message))
            async with asyncio.timeout(timeout or self._timeout):      # cheaper than wait_for
                response = await future
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as e:
            raise ServiceUnavailable(f"Asterisk unreachable: {type(e).__name__}") from e
        except asyncio.TimeoutError:
            raise ServiceUnavailable(f"Asterisk did not answer {method} {path} in time") from None
        finally:
            self._waiting.pop(request_id, None)
        return answer(method, path, int(response.get("status_code", 0)), response.get("message_body") or "")

    def deliver(self, response: dict[str, Any]) -> None:
        """A RESTResponse read from the socket: wakes the request that waits for it."""
        future = self._waiting.get(str(response.get("request_id", "")))
        if future is not None and not future.done():
            future.set_result(response)

    def fail_all(self) -> None:
        """The socket closed: every request still waiting learns Asterisk is gone."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("ARI websocket closed"))
        self._waiting.clear()
