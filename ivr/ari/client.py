"""ARI client: the event websocket with reconnect and backoff, and operations that take plain values.

Requests go out on the event websocket itself where Asterisk takes them (ws_rest.py, Asterisk
22.4+), else as plain HTTP (rest.py); events are decoded once into dataclasses (events.py).
Operations map HTTP errors onto our telephony errors: 404 on a channel means the caller hung up
(ChannelGone).
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from ivr.ari.events import ChannelInfo, Event, decode
from ivr.ari.rest import AriConflict, AriError, AriRest, ChannelGone, segment
from ivr.ari.ws_rest import WsRest
from ivr.errors import ServiceUnavailable

__all__ = ["AriClient", "AriConflict", "AriError", "ChannelGone"]

log = logging.getLogger(__name__)

# proxy_media: media always flows through Asterisk's core. With a native RTP bridge the caller heard
# nothing of a mobile behind a trunk, and a staff member nothing of a customer whose phone sends audio
# from its answer on (both seen on Asterisk 22).
CALL_BRIDGE = "mixing,proxy_media"
# A recorded customer's bridge (MixMonitor on the customer's channel). In Asterisk 22's two-party
# bridge (simple_bridge) a party who joins after another left (a transfer's target, a consulted
# colleague) is heard by the customer but no longer by MixMonitor: the staff side of the file went
# silent, or the file ended, in about half the transferred calls. softmix writes its own mix to each
# channel and keeps it; video_sfu is the flag that makes a two-party ARI bridge softmix.
RECORDED_BRIDGE = "mixing,video_sfu"


class _Detached:
    """Where a detached client's operations go: nowhere (see AriClient.detach)."""

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                      body: dict[str, Any] | None = None) -> Any:
        raise ServiceUnavailable("ari detached: the node's calls are left to the instance serving it next")


class AriClient:
    def __init__(self, url: str, user: str, password: str, app: str,
                 on_event: Callable[[Event], None],
                 on_connect: Callable[[], Awaitable[None]] | None = None,
                 backoff: tuple[float, float] = (0.5, 10.0), wanted: tuple[str, ...] = ()):
        self.url, self.app = url, app
        self._rest = AriRest(url, user, password)
        self._transport: AriRest | WsRest | _Detached = self._rest      # what operations are sent with
        self._ws_rest: WsRest | None = None
        self._on_event, self._on_connect = on_event, on_connect
        self._backoff = backoff
        self._wanted = wanted        # the event types asked for at each connect; () for all of them
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
            reader: asyncio.Future | None = None
            try:
                ws = await self._rest.events(self.app)
                self._ws_rest = WsRest(ws)
                # Events flow while on_connect runs: picking up calls waits on them.
                reader = asyncio.ensure_future(self._read(ws))
                if await self._ws_rest.answers():
                    self._transport = self._ws_rest
                if self._wanted:
                    await self._filter_events()
                self._connected.set()
                log.info("ari connected url=%s app=%s requests=%s", self.url, self.app,
                         "websocket" if self._transport is self._ws_rest else "http")
                delay = self._backoff[0]
                if self._on_connect:
                    await self._on_connect()
                await reader
                log.warning("ari connection closed url=%s", self.url)
            except asyncio.CancelledError:
                await self._close(reader)
                raise
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as e:
                log.warning("ari unreachable url=%s error=%s retry_in=%.1fs", self.url,
                            type(e).__name__, delay)
            await self._close(reader)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _filter_events(self) -> None:
        """Only the `wanted` event types (the service: events.WANTED); an Asterisk that refuses the
        filter sends them all, which costs CPU and changes nothing else."""
        try:
            await self._transport.request("PUT", f"/applications/{segment(self.app)}/eventFilter",
                                          body={"allowed": [{"type": kind} for kind in self._wanted]})
        except (AriError, ServiceUnavailable) as e:
            log.warning("ari event filter refused, every event comes url=%s error=%s", self.url, e.message)

    def detach(self) -> None:
        """After `run_forever` was cancelled: no operation reaches Asterisk any more, so the calls'
        clean-ups fail as with Asterisk unreachable and their channels stay in Stasis, untouched,
        for the instance that serves the node next (a node handed back, or its lease lost)."""
        self._transport = _Detached()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                log.error("ari event is not JSON: %.200s", msg.data)
                continue
            if not isinstance(data, dict):
                continue
            if data.get("type") == "RESTResponse":
                if self._ws_rest is not None:
                    self._ws_rest.deliver(data)
                continue
            try:
                self._on_event(decode(data))
            except Exception:       # one bad event handler must not close the connection
                log.exception("ari event handling failed type=%s", data.get("type"))

    async def _close(self, reader: asyncio.Future | None) -> None:
        self._connected.clear()
        self._transport = self._rest
        if self._ws_rest is not None:
            self._ws_rest.fail_all()
            self._ws_rest = None
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.wait([reader])
        try:
            await self._rest.close()
        except Exception:   # closing a broken session must not stop the reconnect loop
            log.debug("ari close failed", exc_info=True)

    # ----- operations -----

    async def answer(self, channel_id: str) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._transport.request("DELETE", f"/channels/{segment(channel_id)}", {"reason": reason})

    async def ring(self, channel_id: str) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/ring")

    async def start_moh(self, channel_id: str, moh_class: str = "default") -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/moh", {"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self._transport.request("DELETE", f"/channels/{segment(channel_id)}/moh")

    async def play(self, channel_id: str, media: list[str], playback_id: str, lang: str | None = None) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/play/{segment(playback_id)}",
                                 {"media": ",".join(media), "lang": lang})

    async def stop_playback(self, playback_id: str) -> None:
        await self._transport.request("DELETE", f"/playbacks/{segment(playback_id)}")

    async def playback_exists(self, playback_id: str) -> bool:
        try:
            await self._transport.request("GET", f"/playbacks/{segment(playback_id)}")
        except ChannelGone:
            return False
        return True

    async def send_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100,
                        between_ms: int = 100) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/dtmf",
                                 {"dtmf": digits, "duration": duration_ms, "between": between_ms})

    async def originate(self, endpoint: str, channel_id: str, app_args: str, caller_id: str = "",
                        timeout: int = 30, variables: dict[str, str] | None = None) -> ChannelInfo:
        result = await self._transport.request(
            "POST", f"/channels/{segment(channel_id)}",
            {"endpoint": endpoint, "app": self.app, "appArgs": app_args, "callerId": caller_id or None,
             "timeout": timeout}, {"variables": variables} if variables else None)
        return ChannelInfo.from_json(result)

    async def create_channel(self, endpoint: str, channel_id: str, app_args: str,
                             variables: dict[str, str] | None = None) -> ChannelInfo:
        """Stage an outgoing channel without dialling it (subscribe, then `dial`)."""
        result = await self._transport.request(
            "POST", "/channels/create",
            {"endpoint": endpoint, "app": self.app, "appArgs": app_args, "channelId": channel_id},
            {"variables": variables} if variables else None)
        return ChannelInfo.from_json(result)

    async def dial(self, channel_id: str, caller_channel: str | None = None, timeout: int = 0) -> None:
        """Dial a staged channel; `caller_channel` is the channel it is dialled for (Dial events)."""
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/dial",
                                 {"caller": caller_channel, "timeout": timeout or None})

    async def continue_in_dialplan(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/continue",
                                 {"context": context, "extension": exten, "priority": priority})

    async def get_var(self, channel_id: str, variable: str) -> str:
        result = await self._transport.request("GET", f"/channels/{segment(channel_id)}/variable",
                                          {"variable": variable})
        return (result or {}).get("value", "")

    async def set_var(self, channel_id: str, variable: str, value: str) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/variable",
                                 {"variable": variable, "value": value})

    async def snoop(self, channel_id: str, snoop_id: str, spy: str, app_args: str) -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/snoop/{segment(snoop_id)}",
                                 {"spy": spy, "app": self.app, "appArgs": app_args})

    async def record(self, channel_id: str, name: str, fmt: str = "wav", max_seconds: int = 0,
                     max_silence: int = 0, beep: bool = False, terminate_on: str = "none") -> None:
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/record",
                                 {"name": name, "format": fmt, "maxDurationSeconds": max_seconds,
                                  "maxSilenceSeconds": max_silence, "beep": beep,
                                  "terminateOn": terminate_on, "ifExists": "overwrite"})

    async def create_bridge(self, bridge_id: str, kind: str = CALL_BRIDGE) -> None:
        await self._transport.request("POST", f"/bridges/{segment(bridge_id)}", {"type": kind})

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        await self._transport.request("POST", f"/bridges/{segment(bridge_id)}/addChannel",
                                 {"channel": ",".join(channel_ids)})

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self._transport.request("POST", f"/bridges/{segment(bridge_id)}/removeChannel",
                                 {"channel": channel_id})

    async def transfer_progress(self, channel_id: str, state: str) -> None:
        """Tell the phone that asked for a transfer how it goes (a NOTIFY with a SIP fragment):
        channel_progress, channel_answered (done: the phone hangs up), channel_unavailable,
        channel_declined."""
        await self._transport.request("POST", f"/channels/{segment(channel_id)}/transfer_progress",
                                 {"states": state})

    async def start_bridge_moh(self, bridge_id: str, moh_class: str = "default") -> None:
        """Music to everyone in a bridge (a party on hold while a transfer is arranged)."""
        await self._transport.request("POST", f"/bridges/{segment(bridge_id)}/moh", {"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        await self._transport.request("DELETE", f"/bridges/{segment(bridge_id)}/moh")

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._transport.request("DELETE", f"/bridges/{segment(bridge_id)}")

    async def stasis_bridges(self) -> dict[str, tuple[str, ...]]:
        """The bridges Stasis applications made (not the dialplan's Dial bridges): id -> channel ids."""
        return {b["id"]: tuple(b.get("channels") or ()) for b in await self._transport.request("GET", "/bridges") or ()
                if b.get("bridge_class") == "stasis"}

    async def get_channel(self, channel_id: str) -> ChannelInfo:
        return ChannelInfo.from_json(await self._transport.request("GET", f"/channels/{segment(channel_id)}"))

    async def list_channels(self) -> list[ChannelInfo]:
        return [ChannelInfo.from_json(c) for c in await self._transport.request("GET", "/channels") or ()]

    async def device_state(self, device: str) -> str:
        result = await self._transport.request("GET", f"/deviceStates/{segment(device)}")
        return (result or {}).get("state", "UNKNOWN")

    async def set_device_state(self, device: str, state: str) -> None:
        """A device state the application owns ("Stasis:NAME"): NOT_INUSE, BUSY, ..."""
        await self._transport.request("PUT", f"/deviceStates/{segment(device)}", {"deviceState": state})

    async def reload_module(self, module: str) -> None:
        await self._transport.request("PUT", f"/asterisk/modules/{segment(module)}")
