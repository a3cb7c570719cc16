"""The one fake of AriClient for unit tests: every operation of the real client, with its
signature, recorded in `ops`; device states from `states`; a test scripts what Asterisk would do by
overriding the operations it cares about (and `later()` publishes events on the bus, as Asterisk
would, after a delay). tests/unit/test_fake_ari.py keeps it in step with AriClient."""
from __future__ import annotations

import asyncio
from typing import Any

from ivr.ari.bus import EventBus
from ivr.ari.client import CALL_BRIDGE, AriError, ChannelGone
from ivr.ari.events import ChannelInfo, Event


def channel(channel_id: str, state: str = "Ring", name: str = "", caller: str = "") -> ChannelInfo:
    return ChannelInfo(channel_id, name or f"PJSIP/{channel_id}", state, caller, "", "", "", "en")


class FakeAri:
    connected = True

    def __init__(self, bus: EventBus | None = None, states: dict[str, str] | None = None,
                 unknown_state: str | None = "NOT_INUSE"):
        self.bus = bus
        self.states = states if states is not None else {}     # device ("101" or "PJSIP/101") -> state
        self.unknown_state = unknown_state          # None: a device not in `states` cannot be read
        self.ops: list[tuple[str, tuple[Any, ...]]] = []
        self.channels: dict[str, ChannelInfo] = {}

    def did(self, op: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of one operation, in order."""
        return [args for name, args in self.ops if name == op]

    def later(self, delay: float, event: Event) -> None:
        assert self.bus is not None, "give FakeAri a bus to publish events"
        asyncio.get_running_loop().call_later(delay, self.bus.publish, event)

    def _op(self, name: str, *args: Any) -> None:
        self.ops.append((name, args))

    async def wait_connected(self, timeout: float | None = None) -> None:
        return None

    async def answer(self, channel_id: str) -> None:
        self._op("answer", channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self._op("hangup", channel_id, reason)

    async def ring(self, channel_id: str) -> None:
        self._op("ring", channel_id)

    async def start_moh(self, channel_id: str, moh_class: str = "default") -> None:
        self._op("start_moh", channel_id, moh_class)

    async def stop_moh(self, channel_id: str) -> None:
        self._op("stop_moh", channel_id)

    async def play(self, channel_id: str, media: list[str], playback_id: str, lang: str | None = None) -> None:
        self._op("play", channel_id, media, playback_id)

    async def stop_playback(self, playback_id: str) -> None:
        self._op("stop_playback", playback_id)

    async def playback_exists(self, playback_id: str) -> bool:
        return False

    async def send_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100,
                        between_ms: int = 100) -> None:
        self._op("send_dtmf", channel_id, digits)

    async def originate(self, endpoint: str, channel_id: str, app_args: str, caller_id: str = "",
                        timeout: int = 30, variables: dict[str, str] | None = None) -> ChannelInfo:
        self._op("originate", endpoint, channel_id, app_args, caller_id, variables or {})
        return self.channels.setdefault(channel_id, channel(channel_id, "Down"))

    async def create_channel(self, endpoint: str, channel_id: str, app_args: str,
                             variables: dict[str, str] | None = None) -> ChannelInfo:
        self._op("create_channel", endpoint, channel_id, app_args)
        return self.channels.setdefault(channel_id, channel(channel_id, "Down"))

    async def dial(self, channel_id: str, caller_channel: str | None = None, timeout: int = 0) -> None:
        self._op("dial", channel_id, caller_channel, timeout)

    async def continue_in_dialplan(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        self._op("continue_in_dialplan", channel_id, context, exten, priority)

    async def get_var(self, channel_id: str, variable: str) -> str:
        self._op("get_var", channel_id, variable)
        return ""

    async def set_var(self, channel_id: str, variable: str, value: str) -> None:
        self._op("set_var", channel_id, variable, value)

    async def snoop(self, channel_id: str, snoop_id: str, spy: str, app_args: str) -> None:
        self._op("snoop", channel_id, snoop_id, spy, app_args)

    async def record(self, channel_id: str, name: str, fmt: str = "wav", max_seconds: int = 0,
                     max_silence: int = 0, beep: bool = False, terminate_on: str = "none") -> None:
        self._op("record", channel_id, name, fmt)

    async def create_bridge(self, bridge_id: str, kind: str = CALL_BRIDGE) -> None:
        self._op("create_bridge", bridge_id)

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        self._op("add_to_bridge", bridge_id, *channel_ids)

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        self._op("remove_from_bridge", bridge_id, channel_id)

    async def transfer_progress(self, channel_id: str, state: str) -> None:
        self._op("transfer_progress", channel_id, state)

    async def start_bridge_moh(self, bridge_id: str, moh_class: str = "default") -> None:
        self._op("start_bridge_moh", bridge_id)

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        self._op("stop_bridge_moh", bridge_id)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self._op("destroy_bridge", bridge_id)

    async def stasis_bridges(self) -> dict[str, tuple[str, ...]]:
        return {}                  # no earlier run of the service left bridges here

    async def get_channel(self, channel_id: str) -> ChannelInfo:
        if channel_id not in self.channels:
            raise ChannelGone(f"channels.get: {channel_id} not found", 404)
        return self.channels[channel_id]

    async def list_channels(self) -> list[ChannelInfo]:
        return list(self.channels.values())

    async def device_state(self, device: str) -> str:
        for key in (device, device.removeprefix("PJSIP/")):
            if key in self.states:
                return self.states[key]
        if self.unknown_state is None:
            raise AriError(f"no device {device}")
        return self.unknown_state

    async def set_device_state(self, device: str, state: str) -> None:
        self._op("set_device_state", device, state)
        self.states[device] = state

    async def reload_module(self, module: str) -> None:
        self._op("reload_module", module)
