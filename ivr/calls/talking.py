"""Calls in conversation now, by call record id: which staff extension talks to the caller, and
how the console asks that conversation to pass the caller on (`POST /api/calls/{id}/transfer`).

The request reaches the call's own task as an event on its subscription (the task that owns the
call does the work; the web handler only asks).
"""
from __future__ import annotations

from dataclasses import dataclass

from ivr.ari.bus import EventBus
from ivr.ari.events import Event


@dataclass(frozen=True)
class TransferAsked(Event):
    """The console asked to pass the caller on to `destination` (a number or a node id)."""

    destination: str
    by: str                  # the console user who asked


@dataclass(frozen=True)
class Talking:
    channel_id: str          # the caller's channel (the call's task listens on it)
    staff: str               # the extension talking to the caller


class Conversations:
    def __init__(self, bus: EventBus):
        self.bus = bus
        self._calls: dict[int, Talking] = {}

    def talking(self, call_id: int, channel_id: str, staff: str) -> None:
        self._calls[call_id] = Talking(channel_id, staff)

    def ended(self, call_id: int) -> None:
        self._calls.pop(call_id, None)

    def get(self, call_id: int) -> Talking | None:
        return self._calls.get(call_id)

    def of_staff(self, extension: str) -> list[int]:
        """Ids of the calls `extension` talks in now."""
        return [call_id for call_id, now in self._calls.items() if now.staff == extension]

    def ask_transfer(self, call_id: int, destination: str, by: str) -> None:
        now = self._calls[call_id]
        self.bus.publish_to(now.channel_id, TransferAsked("TransferAsked", destination, by))
