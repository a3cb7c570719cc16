"""Mail texts about missed calls, from the Babel catalogue in the rule's language. Plain text: it reads
well on a phone and in any mail client. The time is written as people of that language write it, in
the plan's time zone (the facts carry it as an offset)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ivr import i18n
from ivr.i18n import _, lazy
from ivr.terms import source, step_name

# A mail says why in a whole phrase; the console's shorter words for the same codes are in ivr/terms.py.
REASONS = {
    "hung_up_in_greeting": lazy("hung up during the greeting"),
    "abandoned_in_menu": lazy("hung up in the menu"),
    "abandoned_while_ringing": lazy("hung up while staff phones rang"),
    "abandoned_in_queue": lazy("hung up while waiting in the queue"),
    "abandoned": lazy("hung up"),
    "no_answer": lazy("nobody answered"),
    "closed_hours": lazy("called outside office hours"),
    "holiday": lazy("called on a holiday"),
    "voicemail": lazy("left a voicemail"),
    "menu_no_choice": lazy("made no choice in the menu"),
    "rejected_full": lazy("all lines were busy"),
    "error": lazy("the call failed"),
}

BODY = lazy("Missed call\n\n"
            "Caller: %(customer)s%(name)s\n"
            "Number called: %(company_number)s (%(source)s)\n"
            "Time: %(at)s\n"
            "Reason: %(reason)s%(short)s\n"
            "Path of the call: %(path)s\n"
            "Attempts: %(count)s\n"
            "%(voicemail)s"
            "Open: %(link)s\n")


def reason_text(reason: str) -> str:
    return _(REASONS[reason]) if reason in REASONS else reason


def path_text(steps: list[str]) -> str:
    """The steps of the call in words, a step repeated in a row said once."""
    kept = [kind for i, kind in enumerate(steps) if i == 0 or steps[i - 1] != kind]
    return " → ".join(step_name(kind) for kind in kept) or "-"


def fields(facts: dict[str, Any]) -> dict[str, str]:
    """The placeholders of one missed call, from the facts stored with the outbox row."""
    at = datetime.fromisoformat(facts["at"])
    return {
        "customer": facts["customer"] or "—",
        "name": f" ({facts['contact_name']})" if facts.get("contact_name") else "",
        "company_number": facts["company_number"],
        "source": source(facts.get("source")) or "-",
        "at": i18n.when(at, at.tzinfo),
        "reason": reason_text(facts["reason"]),
        "short": _(" (short call)") if facts.get("short") else "",
        "path": path_text(facts.get("steps", [])),
        "count": i18n.number(facts.get("count", 1)),
        "voicemail": _("The voicemail is attached.") + "\n" if facts.get("voicemail") else "",
        "link": facts["link"],
    }


def render_single(facts: dict[str, Any], language: str) -> tuple[str, str]:
    """Subject and body of the mail about one missed call."""
    with i18n.language(language):
        f = fields(facts)
        return _("Missed call: %(customer)s%(name)s to %(company_number)s", **f), _(BODY, **f)


def render_digest(facts: list[dict[str, Any]], language: str) -> tuple[str, str]:
    with i18n.language(language):
        lines = ["{at}  {customer}{name} → {company_number} ({source}): {reason}  {link}".format(**fields(f))
                 for f in facts]
        return _("Missed calls: %(count)s", count=i18n.number(len(facts))), "\n".join(lines) + "\n"
