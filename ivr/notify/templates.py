"""Mail texts in Russian and English. Plain text: it reads well on a phone and in any mail client."""
from __future__ import annotations

from datetime import datetime
from typing import Any

REASONS = {
    "ru": {
        "hung_up_in_greeting": "положил трубку во время приветствия",
        "abandoned_in_menu": "положил трубку в меню",
        "abandoned_while_ringing": "не дождался ответа сотрудника",
        "abandoned_in_queue": "не дождался ответа в очереди",
        "abandoned": "положил трубку",
        "no_answer": "никто не ответил",
        "closed_hours": "звонок в нерабочее время",
        "holiday": "звонок в праздник",
        "voicemail": "оставил голосовое сообщение",
        "menu_no_choice": "ничего не выбрал в меню",
        "rejected_full": "все линии заняты",
        "error": "ошибка обработки звонка",
    },
    "en": {
        "hung_up_in_greeting": "hung up during the greeting",
        "abandoned_in_menu": "hung up in the menu",
        "abandoned_while_ringing": "hung up while staff phones rang",
        "abandoned_in_queue": "hung up while waiting in the queue",
        "abandoned": "hung up",
        "no_answer": "nobody answered",
        "closed_hours": "called outside office hours",
        "holiday": "called on a holiday",
        "voicemail": "left a voicemail",
        "menu_no_choice": "made no choice in the menu",
        "rejected_full": "all lines were busy",
        "error": "the call failed",
    },
}

TEXT = {
    "ru": {
        "subject": "Пропущенный звонок: {customer}{name} на {company_number}",
        "digest_subject": "Пропущенные звонки: {count}",
        "body": ("Пропущенный звонок\n\n"
                 "Кто звонил: {customer}{name}\n"
                 "Куда: {company_number} ({source})\n"
                 "Когда: {at}\n"
                 "Причина: {reason}{short}\n"
                 "Попыток: {count}\n"
                 "{voicemail}"
                 "Открыть: {link}\n"),
        "short": " (короткий звонок)",
        "voicemail": "Голосовое сообщение во вложении.\n",
        "digest_line": "{at}  {customer}{name} → {company_number} ({source}): {reason}  {link}",
    },
    "en": {
        "subject": "Missed call: {customer}{name} to {company_number}",
        "digest_subject": "Missed calls: {count}",
        "body": ("Missed call\n\n"
                 "Caller: {customer}{name}\n"
                 "Number called: {company_number} ({source})\n"
                 "Time: {at}\n"
                 "Reason: {reason}{short}\n"
                 "Attempts: {count}\n"
                 "{voicemail}"
                 "Open: {link}\n"),
        "short": " (short call)",
        "voicemail": "The voicemail is attached.\n",
        "digest_line": "{at}  {customer}{name} -> {company_number} ({source}): {reason}  {link}",
    },
}


def reason_text(reason: str, language: str) -> str:
    return REASONS[language].get(reason, reason)


def fields(facts: dict[str, Any], language: str) -> dict[str, str]:
    """The placeholders of one missed call, from the facts stored with the outbox row."""
    t = TEXT[language]
    at = datetime.fromisoformat(facts["at"])
    return {
        "customer": facts["customer"] or "—",
        "name": f" ({facts['contact_name']})" if facts.get("contact_name") else "",
        "company_number": facts["company_number"],
        "source": facts.get("source") or "-",
        "at": at.strftime("%Y-%m-%d %H:%M:%S %z"),
        "reason": reason_text(facts["reason"], language),
        "short": t["short"] if facts.get("short") else "",
        "count": str(facts.get("count", 1)),
        "voicemail": t["voicemail"] if facts.get("voicemail") else "",
        "link": facts["link"],
    }


def render_single(facts: dict[str, Any], language: str) -> tuple[str, str]:
    """Subject and body of the mail about one missed call."""
    t, f = TEXT[language], fields(facts, language)
    return t["subject"].format(**f), t["body"].format(**f)


def render_digest(facts: list[dict[str, Any]], language: str) -> tuple[str, str]:
    t = TEXT[language]
    lines = [t["digest_line"].format(**fields(f, language)) for f in facts]
    return t["digest_subject"].format(count=len(facts)), "\n".join(lines) + "\n"
