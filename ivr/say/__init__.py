"""Numbers, dates, times and seats as lists of prompt names, in the grammar of each language.

Every name resolves through ivr.sounds.catalog.PromptCatalog: "digits/..." are Asterisk's core
sounds of the language, "say/..." word forms the core sounds lack (generated once by
`generate_words`), "tts/..." synthesised route and stop names (`speak_text`). A flow plays the
list in order. Gender is "m", "f" or "n"; case is "nom" or "gen" (Russian; English has neither).
"""
from __future__ import annotations

from datetime import date, datetime, time
from types import ModuleType

from ivr.say import en, ru
from ivr.say.zones import zone_label, zone_prompt
from ivr.say.errors import SayError
from ivr.say.speech import TextSpeaker, WordsResult, generate_words, recorded_name, speak_text

__all__ = [
    "LANGUAGES", "SayError", "TextSpeaker", "WordsResult", "generate_words", "recorded_name",
    "say_bus", "say_date", "say_datetime", "say_digits", "say_number", "say_ordinal",
    "say_platform", "say_seat", "say_time", "say_zone", "speak_text", "zone_label",
]

_RULES: dict[str, ModuleType] = {"ru": ru, "en": en}
LANGUAGES = tuple(_RULES)
_GENDERS = ("m", "f", "n")
_CASES = ("nom", "gen")
# Characters of a code ("A12", "*5#") and their core sound; letters are Latin (letters/a..z).
_SYMBOLS = {"*": "digits/star", "#": "digits/pound", "-": "letters/dash", ".": "letters/dot",
            "+": "letters/plus", "/": "letters/slash"}


def _rules(lang: str) -> ModuleType:
    try:
        return _RULES[lang]
    except KeyError:
        raise SayError(f"cannot say numbers in {lang!r}: languages are {', '.join(LANGUAGES)}") from None


def _check(gender: str, case: str) -> None:
    if gender not in _GENDERS:
        raise SayError(f"unknown gender {gender!r}: use m, f or n")
    if case not in _CASES:
        raise SayError(f"unknown case {case!r}: use nom or gen")


def say_number(n: int, lang: str, gender: str = "m", case: str = "nom") -> list[str]:
    """A cardinal number. Russian: gender picks один/одна/одно, два/две ("двадцать одна
    минута"); only the nominative exists for cardinals. English ignores gender."""
    _check(gender, case)
    if lang == "ru":
        return ru.number(n, gender, case)
    return _rules(lang).number(n)


def say_ordinal(n: int, lang: str, gender: str = "m", case: str = "nom") -> list[str]:
    """An ordinal: ru "двадцать пятого" (n, gen), "первая" (f, nom); en "twenty fifth"."""
    _check(gender, case)
    if lang == "ru":
        return ru.ordinal(n, gender, case)
    return _rules(lang).ordinal(n)


def say_date(d: date, lang: str, *, year: bool = False) -> list[str]:
    """ru "двадцать пятого ноября", en "November twenty fifth"; the year on request."""
    return _rules(lang).say_date(d, year=year)


def say_time(t: time, lang: str) -> list[str]:
    """ru "девять тридцать" (24-hour, timetable style), en "nine thirty a m"."""
    return _rules(lang).say_time(t)


def say_datetime(dt: datetime, lang: str, *, year: bool = False) -> list[str]:
    """ru "двадцать пятого ноября в девять тридцать", en "November twenty fifth at ..."."""
    return _rules(lang).say_datetime(dt.date(), dt.time(), year=year)


def say_zone(zone: str, lang: str) -> list[str]:
    """ru "по московскому времени", en "Moscow time" (an IANA zone; others: "local time of departure")."""
    _rules(lang)
    return [zone_prompt(zone)]


def say_seat(n: int, lang: str) -> list[str]:
    """ru "место двенадцать", en "seat twelve"."""
    return _rules(lang).say_seat(_positive(n, "seat"))


def say_bus(n: int, lang: str) -> list[str]:
    """ru "автобус номер сто два", en "bus number one hundred two"."""
    return _rules(lang).say_bus(_positive(n, "bus"))


def say_platform(n: int, lang: str) -> list[str]:
    """ru "платформа номер три", en "platform three"."""
    return _rules(lang).say_platform(_positive(n, "platform"))


def say_digits(s: str, lang: str) -> list[str]:
    """One sound per character: phone numbers, codes ("A12" -> a, one, two)."""
    _rules(lang)
    out: list[str] = []
    for ch in s:
        if ch.isascii() and ch.isdigit():
            out.append(f"digits/{ch}")
        elif ch.isascii() and ch.isalpha():
            out.append(f"letters/{ch.lower()}")
        elif ch in _SYMBOLS:
            out.append(_SYMBOLS[ch])
        elif not ch.isspace():
            raise SayError(f"cannot say the character {ch!r} of {s!r}")
    return out


def _positive(n: int, what: str) -> int:
    if n <= 0:
        raise SayError(f"a {what} number is positive, not {n}")
    return n
