"""Why a call counts as missed: the reasons an item carries, and the words a plan may use for groups of
them (`auto_callback: reasons: [closed, voicemail]`). Standard library only: the plan validator checks
`auto_callback` with it, the missed-call list classifies calls with it."""
from __future__ import annotations

from collections.abc import Iterable

# Outcomes of an inbound call that never talked to a person (ivr/flows/inbound.py and the flows).
MISSED_OUTCOMES = frozenset({
    "hung_up_in_greeting", "abandoned_in_menu", "abandoned_while_ringing", "abandoned_in_queue", "abandoned",
    "closed_hours", "holiday", "voicemail", "no_answer", "menu_no_choice", "rejected_full", "error",
    "callback_requested", "transfer_no_answer", "node_lost",
})

# Plain words for groups of reasons; any reason itself may be written too.
REASON_GROUPS: dict[str, frozenset[str]] = {
    "closed": frozenset({"closed_hours", "holiday"}),
    "abandoned": frozenset({"hung_up_in_greeting", "abandoned_in_menu", "abandoned_while_ringing",
                            "abandoned_in_queue", "abandoned", "menu_no_choice"}),
    "no_answer": frozenset({"no_answer", "transfer_no_answer"}),
    "voicemail": frozenset({"voicemail"}),
    "full": frozenset({"rejected_full"}),
    "callback_requested": frozenset({"callback_requested"}),
    "all": MISSED_OUTCOMES,
}
REASON_WORDS = tuple(REASON_GROUPS) + tuple(sorted(MISSED_OUTCOMES - set(REASON_GROUPS)))


def expand_reasons(words: Iterable[str]) -> frozenset[str]:
    """The item reasons meant by plan words (groups or reasons); unknown words raise KeyError."""
    found: set[str] = set()
    for word in words:
        if word in REASON_GROUPS:
            found |= REASON_GROUPS[word]
        elif word in MISSED_OUTCOMES:
            found.add(word)
        else:
            raise KeyError(word)
    return frozenset(found)
