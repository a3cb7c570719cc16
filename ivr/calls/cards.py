"""Call cards: who is calling a staff phone and why, shown on the phone (the caller name) and on
the console of the user whose extension rings or talks.

A card is plain data made by whoever knows the caller (a campaign's option 3 knows the passenger
and the trip); the hunt that rings the staff legs puts it on each ringing extension and takes it
off when the leg ends. The registry lives in `Services` and holds nothing once the calls are over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Longest caller name sent to a phone: SIP allows more, desk phones show about this much.
LABEL_LIMIT = 40


@dataclass(frozen=True)
class Card:
    """What to show about one caller: a title (a person), their number, a short label for the
    phone's display and any fields in the order shown."""

    title: str
    number: str
    label: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    kind: str = ""                                  # who made it: "campaign", later "contact"

    def phone_name(self) -> str:
        """The caller name the staff phone shows (no quotes: it goes into a SIP display name)."""
        return (self.label or self.title).replace('"', "").strip()[:LABEL_LIMIT]

    def to_dict(self) -> dict:
        return {"title": self.title, "number": self.number, "label": self.phone_name(), "kind": self.kind,
                "fields": [{"name": name, "value": value} for name, value in self.fields]}


@dataclass(frozen=True)
class Shown:
    """A card on one extension, for one leg ringing or talking there."""

    card: Card
    extension: str
    leg_id: str
    call_id: str                                    # the caller's channel
    since: datetime
    state: Literal["ringing", "talking"] = "ringing"

    def to_dict(self) -> dict:
        return self.card.to_dict() | {"extension": self.extension, "leg_id": self.leg_id,
                                      "call_id": self.call_id, "state": self.state,
                                      "since": self.since.isoformat()}


@dataclass
class Cards:
    """The cards on show, by extension and leg. Plain synchronous methods: a caller may clear a
    card in a `finally` or on cancellation without awaiting anything."""

    _by_leg: dict[str, Shown] = field(default_factory=dict)

    def show(self, extension: str, leg_id: str, call_id: str, card: Card, now: datetime) -> None:
        self._by_leg[leg_id] = Shown(card, extension, leg_id, call_id, now)

    def talking(self, leg_id: str) -> None:
        shown = self._by_leg.get(leg_id)
        if shown is not None:
            self._by_leg[leg_id] = Shown(shown.card, shown.extension, leg_id, shown.call_id, shown.since,
                                         "talking")

    def clear(self, leg_id: str) -> None:
        self._by_leg.pop(leg_id, None)

    def for_extension(self, extension: str) -> list[Shown]:
        """The cards of one extension, oldest first (a phone that rings for two calls shows both)."""
        return sorted((s for s in self._by_leg.values() if s.extension == extension), key=lambda s: s.since)

    def __len__(self) -> int:
        return len(self._by_leg)
