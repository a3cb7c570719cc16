"""English: numbers, ordinals, dates and times as prompt names, in the style of Asterisk's own
English say.c ("two thousand twenty six", "nine oh five a m"). The core set has cardinals 0..20
and tens, ordinals h-1..h-20 and h-30..h-90, h-hundred, h-thousand; WORDS has the few nouns it
lacks, spoken once by espeak-ng into sounds/generated/en/say/.
"""
from __future__ import annotations

from datetime import date, time

from ivr.say import zones
from ivr.say.errors import SayError

MAX_NUMBER = 10**12 - 1

WORDS: dict[str, str] = {"say/seat": "seat", "say/bus": "bus", "say/platform": "platform", **zones.words("en")}

_SCALES = ((10**9, "digits/billion"), (10**6, "digits/million"), (10**3, "digits/thousand"))


def _below_thousand(n: int) -> list[str]:
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        out += [f"digits/{hundreds}", "digits/hundred"]
    if rest >= 20:
        out.append(f"digits/{rest - rest % 10}")
        rest %= 10
    if rest:
        out.append(f"digits/{rest}")
    return out


def number(n: int) -> list[str]:
    if abs(n) > MAX_NUMBER:
        raise SayError(f"{n} is too large to say")
    if n < 0:
        return ["digits/minus", *number(-n)]
    if n == 0:
        return ["digits/0"]
    out: list[str] = []
    for size, word in _SCALES:
        count, n = divmod(n, size)
        if count:
            out += [*_below_thousand(count), word]
    return out + _below_thousand(n)


def ordinal(n: int) -> list[str]:
    """"twenty fifth", "one hundred first", "two thousandth"."""
    if n <= 0 or n > MAX_NUMBER:
        raise SayError(f"no ordinal for {n}")
    rest = n % 100
    if rest:
        last = rest if rest < 20 or rest % 10 == 0 else rest % 10
        return [*(number(n - last) if n != last else []), f"digits/h-{last}"]
    if n % 1000:                                      # 200th: "two hundredth"
        return [*(number(n - n % 1000) if n >= 1000 else []), f"digits/{n % 1000 // 100}",
                "digits/h-hundred"]
    for size, word in ((10**3, "thousand"), (10**6, "million"), (10**9, "billion")):
        group = n // size % 1000
        if group:                                     # the lowest group that is not zero
            head = n - group * size
            return [*(number(head) if head else []), *_below_thousand(group), f"digits/h-{word}"]
    raise SayError(f"no ordinal for {n}")


def say_date(d: date, *, year: bool = False) -> list[str]:
    """"November twenty fifth [two thousand twenty six]"."""
    out = [f"digits/mon-{d.month - 1}", *ordinal(d.day)]
    return out + number(d.year) if year else out


def say_time(t: time) -> list[str]:
    """Twelve-hour clock: "nine thirty a m", "twelve oh five a m", "twelve p m"."""
    hour = t.hour % 12 or 12
    out = number(hour)
    if 0 < t.minute < 10:
        out += ["digits/oh", *number(t.minute)]
    elif t.minute:
        out += number(t.minute)
    return out + ["digits/a-m" if t.hour < 12 else "digits/p-m"]


def say_datetime(d: date, t: time, *, year: bool = False) -> list[str]:
    return [*say_date(d, year=year), "digits/at", *say_time(t)]


def say_seat(n: int) -> list[str]:
    return ["say/seat", *number(n)]


def say_bus(n: int) -> list[str]:
    return ["say/bus", "number", *number(n)]


def say_platform(n: int) -> list[str]:
    return ["say/platform", *number(n)]
