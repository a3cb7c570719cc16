"""Russian: numbers, ordinals, dates and times as prompt names.

What the core set (ru_RU_f_IvrvoiceRU) holds: its package ships no transcript, so the forms
below were read from the recordings' spectrograms and durations: digits/0..20, tens, "hundred" (сто),
"thousand" (тысяча), "million" (миллион), "billion" (миллиард), 1n (одно), 2n (два); ordinals
h-1..h-20, h-30..h-90 in the masculine nominative (первый, пятый, третий); months mon-0..11 in
the genitive (января, марта, мая). Every other form a sentence needs is in WORDS, spoken once
by espeak-ng into sounds/generated/ru/say/ (see ivr/say/speech.py).
"""
from __future__ import annotations

from datetime import date, time

from ivr.say import zones
from ivr.say.errors import SayError

MAX_NUMBER = 10**12 - 1

_ORDINALS_M = {
    1: "первый", 2: "второй", 3: "третий", 4: "четвёртый", 5: "пятый", 6: "шестой",
    7: "седьмой", 8: "восьмой", 9: "девятый", 10: "десятый", 11: "одиннадцатый",
    12: "двенадцатый", 13: "тринадцатый", 14: "четырнадцатый", 15: "пятнадцатый",
    16: "шестнадцатый", 17: "семнадцатый", 18: "восемнадцатый", 19: "девятнадцатый",
    20: "двадцатый", 30: "тридцатый", 40: "сороковой", 50: "пятидесятый", 60: "шестидесятый",
    70: "семидесятый", 80: "восьмидесятый", 90: "девяностый", 100: "сотый", 1000: "тысячный",
    2000: "двухтысячный",
}
# The core set has only the masculine nominative, and only up to 90 plus h-hundred/h-thousand.
_CORE_ORDINALS = {**{n: f"digits/h-{n}" for n in range(1, 21)},
                  **{n: f"digits/h-{n}" for n in range(30, 100, 10)},
                  100: "digits/h-hundred", 1000: "digits/h-thousand"}
_HUNDREDS = {2: "двести", 3: "триста", 4: "четыреста", 5: "пятьсот", 6: "шестьсот",
             7: "семьсот", 8: "восемьсот", 9: "девятьсот"}


def _ordinal_forms(word: str) -> dict[str, str]:
    """Neuter, feminine and genitive forms of a masculine nominative ordinal."""
    if word.endswith("ий"):                       # третий: the soft declension
        stem = word[:-2]
        return {"n": stem + "ье", "f": stem + "ья", "gen": stem + "ьего", "f-gen": stem + "ьей"}
    stem = word[:-2]
    return {"n": stem + "ое", "f": stem + "ая", "gen": stem + "ого", "f-gen": stem + "ой"}


def _words() -> dict[str, str]:
    words = {
        "say/1f": "одна", "say/2f": "две",
        "say/thousands-i": "тысячи", "say/thousands": "тысяч",
        "say/million-a": "миллиона", "say/millions": "миллионов",
        "say/billion-a": "миллиарда", "say/billions": "миллиардов",
        "say/year-gen": "года",
        "say/seat": "место", "say/bus": "автобус", "say/platform": "платформа",
    }
    words.update({f"say/{h}00": text for h, text in _HUNDREDS.items()})
    words.update(zones.words("ru"))
    for n, word in _ORDINALS_M.items():
        if n not in _CORE_ORDINALS:
            words[f"say/h-{n}"] = word
        for form, text in _ordinal_forms(word).items():
            words[f"say/h-{n}-{form}"] = text
    return words


# Prompt name -> text for espeak-ng: the word forms the core set lacks.
WORDS: dict[str, str] = _words()

_GENDERS = ("m", "f", "n")


def _unit(n: int, gender: str) -> str:
    """1..19 in the given gender (only 1 and 2 change)."""
    if n == 1:
        return {"m": "digits/1", "f": "say/1f", "n": "digits/1n"}[gender]
    if n == 2:
        return {"m": "digits/2", "f": "say/2f", "n": "digits/2n"}[gender]
    return f"digits/{n}"


def _below_thousand(n: int, gender: str) -> list[str]:
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        out.append("digits/hundred" if hundreds == 1 else f"say/{hundreds}00")
    if rest >= 20:
        out.append(f"digits/{rest - rest % 10}")
        rest %= 10
    if rest:
        out.append(_unit(rest, gender))
    return out


def _plural(n: int, one: str, few: str, many: str) -> str:
    """The noun form after n: 1 тысяча, 2-4 тысячи, 5-20 тысяч; 11-14 take the last."""
    if 11 <= n % 100 <= 14:
        return many
    return {1: one, 2: few, 3: few, 4: few}.get(n % 10, many)


_SCALES = (  # (size, gender of the noun, one, few, many)
    (10**9, "m", "digits/billion", "say/billion-a", "say/billions"),
    (10**6, "m", "digits/million", "say/million-a", "say/millions"),
    (10**3, "f", "digits/thousand", "say/thousands-i", "say/thousands"),
)


def number(n: int, gender: str = "m", case: str = "nom") -> list[str]:
    if gender not in _GENDERS:
        raise SayError(f"unknown gender {gender!r}: use m, f or n")
    if case != "nom":
        raise SayError(f"Russian cardinal numbers are spoken in the nominative only, not {case!r}")
    if abs(n) > MAX_NUMBER:
        raise SayError(f"{n} is too large to say")
    if n < 0:
        return ["digits/minus", *number(-n, gender)]
    if n == 0:
        return ["digits/0"]
    out: list[str] = []
    for size, noun_gender, one, few, many in _SCALES:
        count, n = divmod(n, size)
        if count:
            # "тысяча", "миллион" alone, as people say them; "двадцать одна тысяча" keeps the one.
            if count != 1:
                out += _below_thousand(count, noun_gender)
            out.append(_plural(count, one, few, many))
    return out + _below_thousand(n, gender)


def _ordinal_word(n: int, gender: str, case: str) -> str:
    if case not in ("nom", "gen"):
        raise SayError(f"Russian ordinals are spoken in the nominative or genitive, not {case!r}")
    if gender == "m" and case == "nom":
        return _CORE_ORDINALS.get(n) or f"say/h-{n}"
    form = {("n", "nom"): "n", ("f", "nom"): "f", ("m", "gen"): "gen", ("n", "gen"): "gen",
            ("f", "gen"): "f-gen"}[(gender, case)]
    return f"say/h-{n}-{form}"


def _ordinal_tail(n: int) -> int:
    """The part of n said as an ordinal word; the rest before it is a plain cardinal."""
    if n in _ORDINALS_M:
        return n
    if n % 100:
        return n % 100 if n % 100 in _ORDINALS_M else n % 10
    if n % 1000 in _ORDINALS_M:
        return n % 1000
    # 200th, 3000th: one compound word (двухсотый) that has no core sound and no rule here.
    raise SayError(f"no Russian ordinal for {n}")


def ordinal(n: int, gender: str = "m", case: str = "nom") -> list[str]:
    """Only the last word of a Russian ordinal declines: "две тысячи двадцать шестого"."""
    if gender not in _GENDERS:
        raise SayError(f"unknown gender {gender!r}: use m, f or n")
    if n <= 0 or n > MAX_NUMBER:
        raise SayError(f"no ordinal for {n}")
    last = _ordinal_tail(n)
    head = number(n - last) if n != last else []
    return [*head, _ordinal_word(last, gender, case)]


def say_date(d: date, *, year: bool = False) -> list[str]:
    """"двадцать пятого ноября [две тысячи двадцать шестого года]"."""
    out = [*ordinal(d.day, "n", "gen"), f"digits/mon-{d.month - 1}"]
    if year:
        out += [*ordinal(d.year, "m", "gen"), "say/year-gen"]
    return out


def say_time(t: time) -> list[str]:
    """Timetable style: "девять тридцать", "ноль ноль пять", "двенадцать ноль ноль".

    Minutes are feminine (минута): "девять двадцать одна", "ноль две".
    """
    out = number(t.hour)
    if t.minute == 0:
        return out + ["digits/0", "digits/0"]
    if t.minute < 10:
        out.append("digits/0")
    return out + number(t.minute, "f")


def say_datetime(d: date, t: time, *, year: bool = False) -> list[str]:
    return [*say_date(d, year=year), "digits/at", *say_time(t)]


def say_seat(n: int) -> list[str]:
    # A seat number is a label, so it stays in the nominative: "место двадцать один".
    return ["say/seat", *number(n)]


def say_bus(n: int) -> list[str]:
    return ["say/bus", "number", *number(n)]


def say_platform(n: int) -> list[str]:
    return ["say/platform", "number", *number(n)]
