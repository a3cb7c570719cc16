"""The card of a known contact calling in (the "screen pop"): who they are, their manager, VIP mark,
notes, and the missed calls of theirs nobody has handled yet."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ivr.calls.cards import Card
from ivr.contacts.store import Contact

if TYPE_CHECKING:      # the missed-call list is above contacts; the card only reads its items
    from ivr.missed.store import MissedItem

# About as much of the notes as a console card shows at a glance.
NOTES_LIMIT = 80


def contact_card(contact: Contact, number: str, open_items: Sequence[MissedItem], timezone: str,
                 now: datetime) -> Card:
    """The card for `contact` calling from `number`. `open_items` are the missed-call items of that
    number still pending; the last one's time in the plan's time zone, with its date when not today."""
    fields = [("Company", contact.company), ("Manager", contact.manager),
              ("VIP", "yes" if contact.vip else ""), ("Notes", _short_notes(contact.notes))]
    if open_items:
        zone = ZoneInfo(timezone)
        last = max(item.last_at for item in open_items).astimezone(zone)
        when = f"{last:%H:%M}" if last.date() == now.astimezone(zone).date() else f"{last:%d.%m %H:%M}"
        fields.append(("Open missed calls", f"{sum(item.count for item in open_items)} (last at {when})"))
    return Card(title=contact.name, number=number, fields=tuple((name, value) for name, value in fields if value),
                kind="contact")


def _short_notes(notes: str) -> str:
    text = " ".join(notes.split())                  # line breaks would not survive a one-line field
    return text if len(text) <= NOTES_LIMIT else text[:NOTES_LIMIT - 1].rstrip() + "…"
