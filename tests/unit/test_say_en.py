"""English numbers, ordinals, dates and times: the exact prompt sequence for each value."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest

from ivr.say import (SayError, say_bus, say_date, say_datetime, say_number, say_ordinal,
                     say_platform, say_seat, say_time)


@pytest.mark.parametrize("n, words", [
    (0, ["digits/0"]),
    (1, ["digits/1"]),
    (12, ["digits/12"]),
    (21, ["digits/20", "digits/1"]),
    (100, ["digits/1", "digits/hundred"]),
    (101, ["digits/1", "digits/hundred", "digits/1"]),
    (1000, ["digits/1", "digits/thousand"]),
    (2021, ["digits/2", "digits/thousand", "digits/20", "digits/1"]),
    (1_000_000, ["digits/1", "digits/million"]),
    (3_000_000_000, ["digits/3", "digits/billion"]),
    (-5, ["digits/minus", "digits/5"]),
])
def test_cardinal(n, words):
    assert say_number(n, "en") == words
    assert say_number(n, "en", gender="f") == words      # English has no gender


@pytest.mark.parametrize("n, words", [
    (1, ["digits/h-1"]),
    (12, ["digits/h-12"]),
    (20, ["digits/h-20"]),
    (25, ["digits/20", "digits/h-5"]),
    (31, ["digits/30", "digits/h-1"]),
    (100, ["digits/1", "digits/h-hundred"]),
    (101, ["digits/1", "digits/hundred", "digits/h-1"]),
    (300, ["digits/3", "digits/h-hundred"]),
    (1000, ["digits/1", "digits/h-thousand"]),
    (2001000, ["digits/2", "digits/million", "digits/1", "digits/h-thousand"]),
])
def test_ordinal(n, words):
    assert say_ordinal(n, "en") == words


def test_date_and_datetime():
    assert say_date(date(2026, 11, 25), "en") == ["digits/mon-10", "digits/20", "digits/h-5"]
    assert say_date(date(2026, 1, 1), "en", year=True) == [
        "digits/mon-0", "digits/h-1", "digits/2", "digits/thousand", "digits/20", "digits/6"]
    assert say_datetime(datetime(2026, 11, 25, 9, 30), "en") == [
        "digits/mon-10", "digits/20", "digits/h-5", "digits/at", "digits/9", "digits/30",
        "digits/a-m"]


@pytest.mark.parametrize("t, words", [
    (time(9, 30), ["digits/9", "digits/30", "digits/a-m"]),
    (time(0, 5), ["digits/12", "digits/oh", "digits/5", "digits/a-m"]),
    (time(12, 0), ["digits/12", "digits/p-m"]),
    (time(13, 2), ["digits/1", "digits/oh", "digits/2", "digits/p-m"]),
    (time(23, 45), ["digits/11", "digits/40", "digits/5", "digits/p-m"]),
])
def test_time_twelve_hour(t, words):
    assert say_time(t, "en") == words


def test_seat_bus_platform():
    assert say_seat(12, "en") == ["say/seat", "digits/12"]
    assert say_bus(7, "en") == ["say/bus", "number", "digits/7"]
    assert say_platform(3, "en") == ["say/platform", "digits/3"]


def test_errors():
    with pytest.raises(SayError):
        say_ordinal(0, "en")
    with pytest.raises(SayError):
        say_number(1, "en", case="dat")
