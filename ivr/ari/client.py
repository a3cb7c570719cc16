"""ARI client: connection with reconnect and backoff, and operations that take plain values.

aioari (unmaintained since 2020) is used only here. Operations map HTTP errors onto our
telephony errors: 404 on a channel means the caller hung up (ChannelGone).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import urllib.parse

import aiohttp
import aioari
from aioswagger11.http_client import ApiKeyAuthenticator, AsynchronousHttpClient
from aiohttp import web_exceptions

from ivr.ari.events import ChannelInfo, Event, decode
from ivr.errors import IvrError, ServiceUnavailable

log = logging.getLogger(__name__)


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


class AriClient:
    def __init__(self, url: str, user: str, password: str, app: str,
                 on_event: Callable[[Event], None],
                 on_connect: Callable[[], Awaitable[None]] | None = None,
                 backoff: tuple[float, float] = (0.5, 10.0)):
        self.url, self.app = url, app
        self._user, self._password = user, password
        self._on_event, self._on_connect = on_event, on_connect
        self._backoff = backoff
        self._client: Any = None
        self._connected = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    # ----- connection -----

    async def run_forever(self) -> None:
        """Stay connected: reconnect with exponential backoff; returns only when cancelled."""
        delay = self._backoff[0]
        while True:
            try:
                self._client = await self._connect()
                self._client.on_event("*", self._receive)
                run = asyncio.ensure_future(self._client.run(apps=self.app))
                await asyncio.sleep(0.1)          # the websocket is open once run() has started
                if run.done():
                    run.result()
                self._connected.set()
                log.info("ari connected url=%s app=%s", self.url, self.app)
                delay = self._backoff[0]
                if self._on_connect:
                    await self._on_connect()
                await run
                log.warning("ari connection closed url=%s", self.url)
            except asyncio.CancelledError:
                await self._close()
                raise
            except (aiohttp.ClientError, OSError, web_exceptions.HTTPException, asyncio.TimeoutError,
                    ValueError) as e:
                log.warning("ari unreachable url=%s error=%s retry_in=%.1fs", self.url,
                            type(e).__name__, delay)
            self._connected.clear()
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _connect(self):
        """aioari.connect, but closing its HTTP session when Asterisk is not answering yet
        (aioari leaves it open, one leaked session per retry)."""
        host = urllib.parse.urlparse(self.url).hostname or ""
        http = AsynchronousHttpClient(auth=ApiKeyAuthenticator(host, f"{self._user}:{self._password}"))
        client = aioari.Client(self.url, http)
        try:
            await client.init()
        except BaseException:
            await http.close()
            raise
        return client

    async def _close(self) -> None:
        self._connected.clear()
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.close()
            except Exception:   # closing a broken session must not stop the reconnect loop
                log.debug("ari close failed", exc_info=True)

    def _receive(self, msg: dict) -> None:
        self._on_event(decode(msg))

    # ----- operations -----

    async def _op(self, resource: str, operation: str, **kwargs: Any) -> Any:
        if self._client is None:
            raise ServiceUnavailable("not connected to Asterisk")
        # ARI takes booleans as "true"/"false" in the query string
        kwargs = {k: ("true" if v else "false") if isinstance(v, bool) else v
                  for k, v in kwargs.items() if v is not None}
        try:
            result = await getattr(getattr(self._client, resource), operation)(**kwargs)
        except web_exceptions.HTTPNotFound as e:
            what = kwargs.get("channelId") or kwargs.get("bridgeId") or kwargs.get("playbackId") or ""
            raise ChannelGone(f"{resource}.{operation}: {what} not found", 404) from e
        except web_exceptions.HTTPConflict as e:
            raise AriConflict(f"{resource}.{operation}: conflict", 409) from e
        except web_exceptions.HTTPException as e:
            raise AriError(f"{resource}.{operation}: HTTP {e.status}", e.status) from e
        except (aiohttp.ClientError, OSError) as e:
            raise ServiceUnavailable(f"Asterisk unreachable: {type(e).__name__}") from e
        if isinstance(result, list):
            return [getattr(r, "json", r) for r in result]
        return getattr(result, "json", result)

    async def answer(self, channel_id: str) -> None:
        await self._op("channels", "answer", channelId=channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._op("channels", "hangup", channelId=channel_id, reason=reason)

    async def ring(self, channel_id: str) -> None:
        await self._op("channels", "ring", channelId=channel_id)

    async def start_moh(self, channel_id: str, moh_class: str = "default") -> None:
        await self._op("channels", "startMoh", channelId=channel_id, mohClass=moh_class)

    async def stop_moh(self, channel_id: str) -> None:
        await self._op("channels", "stopMoh", channelId=channel_id)

    async def play(self, channel_id: str, media: list[str], playback_id: str, lang: str | None = None) -> None:
        await self._op("channels", "playWithId", channelId=channel_id, playbackId=playback_id,
                       media=",".join(media), lang=lang)

    async def stop_playback(self, playback_id: str) -> None:
        await self._op("playbacks", "stop", playbackId=playback_id)

    async def playback_exists(self, playback_id: str) -> bool:
        try:
            await self._op("playbacks", "get", playbackId=playback_id)
        except ChannelGone:
            return False
        return True

    async def send_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100,
                        between_ms: int = 100) -> None:
        await self._op("channels", "sendDTMF", channelId=channel_id, dtmf=digits,
                       duration=duration_ms, between=between_ms)

    async def originate(self, endpoint: str, channel_id: str, app_args: str, caller_id: str = "",
                        timeout: int = 30, variables: dict[str, str] | None = None) -> ChannelInfo:
        # `variables` is the name of ARI's body parameter: aioswagger sends {"variables": {...}}.
        result = await self._op("channels", "originateWithId", channelId=channel_id, endpoint=endpoint,
                                app=self.app, appArgs=app_args, callerId=caller_id or None,
                                timeout=timeout, variables=variables or None)
        return ChannelInfo.from_json(result)

    async def create_channel(self, endpoint: str, channel_id: str, app_args: str,
                             variables: dict[str, str] | None = None) -> ChannelInfo:
        """Stage an outgoing channel without dialling it (subscribe, then `dial`)."""
        result = await self._op("channels", "create", channelId=channel_id, endpoint=endpoint,
                                app=self.app, appArgs=app_args)
        # aioari's description of `create` has no body, so variables are set one by one.
        for name, value in (variables or {}).items():
            await self.set_var(channel_id, name, value)
        return ChannelInfo.from_json(result)

    async def dial(self, channel_id: str, caller_channel: str | None = None, timeout: int = 0) -> None:
        """Dial a staged channel; `caller_channel` is the channel it is dialled for (Dial events)."""
        await self._op("channels", "dial", channelId=channel_id, caller=caller_channel,
                       timeout=timeout or None)

    async def continue_in_dialplan(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        await self._op("channels", "continueInDialplan", channelId=channel_id, context=context,
                       extension=exten, priority=priority)

    async def get_var(self, channel_id: str, variable: str) -> str:
        result = await self._op("channels", "getChannelVar", channelId=channel_id, variable=variable)
        return (result or {}).get("value", "")

    async def set_var(self, channel_id: str, variable: str, value: str) -> None:
        await self._op("channels", "setChannelVar", channelId=channel_id, variable=variable, value=value)

    async def snoop(self, channel_id: str, snoop_id: str, spy: str, app_args: str) -> None:
        await self._op("channels", "snoopChannelWithId", channelId=channel_id, snoopId=snoop_id,
                       spy=spy, app=self.app, appArgs=app_args)

    async def record(self, channel_id: str, name: str, fmt: str = "wav", max_seconds: int = 0,
                     max_silence: int = 0, beep: bool = False, terminate_on: str = "none") -> None:
        await self._op("channels", "record", channelId=channel_id, name=name, format=fmt,
                       maxDurationSeconds=max_seconds, maxSilenceSeconds=max_silence,
                       beep=beep, terminateOn=terminate_on, ifExists="overwrite")

    async def create_bridge(self, bridge_id: str, kind: str = "mixing,proxy_media") -> None:
        # proxy_media: media always flows through Asterisk's core. With a native RTP bridge the caller
        # heard nothing of a mobile behind a trunk, and a staff member nothing of a customer whose
        # phone sends audio from its answer on (both seen on Asterisk 22).
        await self._op("bridges", "createWithId", bridgeId=bridge_id, type=kind)

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        await self._op("bridges", "addChannel", bridgeId=bridge_id, channel=",".join(channel_ids))

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self._op("bridges", "removeChannel", bridgeId=bridge_id, channel=channel_id)

    async def transfer_progress(self, channel_id: str, state: str) -> None:
        """Tell the phone that asked for a transfer how it goes (a NOTIFY with a SIP fragment):
        channel_progress, channel_answered (done: the phone hangs up), channel_unavailable,
        channel_declined."""
        await self._op("channels", "transfer_progress", channelId=channel_id, states=state)

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._op("bridges", "destroy", bridgeId=bridge_id)

    async def get_channel(self, channel_id: str) -> ChannelInfo:
        return ChannelInfo.from_json(await self._op("channels", "get", channelId=channel_id))

    async def list_channels(self) -> list[ChannelInfo]:
        return [ChannelInfo.from_json(c) for c in await self._op("channels", "list")]

    async def device_state(self, device: str) -> str:
        result = await self._op("deviceStates", "get", deviceName=device)
        return (result or {}).get("state", "UNKNOWN")

    async def set_device_state(self, device: str, state: str) -> None:
        """A device state the application owns ("Stasis:NAME"): NOT_INUSE, BUSY, ..."""
        await self._op("deviceStates", "update", deviceName=device, deviceState=state)

    async def reload_module(self, module: str) -> None:
        await self._op("asterisk", "reloadModule", moduleName=module)

