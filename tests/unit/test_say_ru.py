"""Russian numbers, ordinals, dates and times: the exact prompt sequence for each value."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest

from ivr.say import (SayError, say_bus, say_date, say_datetime, say_digits, say_number,
                     say_ordinal, say_platform, say_seat, say_time)


@pytest.mark.parametrize("n, words", [
    (0, ["digits/0"]),
    (1, ["digits/1"]),
    (2, ["digits/2"]),
    (5, ["digits/5"]),
    (11, ["digits/11"]),
    (12, ["digits/12"]),
    (20, ["digits/20"]),
    (21, ["digits/20", "digits/1"]),
    (22, ["digits/20", "digits/2"]),
    (99, ["digits/90", "digits/9"]),
    (100, ["digits/hundred"]),                                   # сто
    (101, ["digits/hundred", "digits/1"]),
    (215, ["say/200", "digits/15"]),                             # двести пятнадцать
    (1000, ["digits/thousand"]),                                 # тысяча
    (1001, ["digits/thousand", "digits/1"]),
    (2021, ["say/2f", "say/thousands-i", "digits/20", "digits/1"]),   # две тысячи двадцать один
    (5000, ["digits/5", "say/thousands"]),                       # пять тысяч
    (11000, ["digits/11", "say/thousands"]),                     # одиннадцать тысяч
    (21000, ["digits/20", "say/1f", "digits/thousand"]),         # двадцать одна тысяча
    (44000, ["digits/40", "digits/4", "say/thousands-i"]),       # сорок четыре тысячи
    (1_000_000, ["digits/million"]),
    (3_000_000, ["digits/3", "say/million-a"]),                  # три миллиона
    (12_000_000, ["digits/12", "say/millions"]),                 # двенадцать миллионов
    (2_000_000_000, ["digits/2", "say/billion-a"]),              # два миллиарда
    (-7, ["digits/minus", "digits/7"]),
])
def test_cardinal_masculine(n, words):
    assert say_number(n, "ru") == words


@pytest.mark.parametrize("n, gender, words", [
    (1, "f", ["say/1f"]), (1, "n", ["digits/1n"]), (1, "m", ["digits/1"]),
    (2, "f", ["say/2f"]), (2, "n", ["digits/2n"]), (2, "m", ["digits/2"]),
    (21, "f", ["digits/20", "say/1f"]),
    (32, "f", ["digits/30", "say/2f"]),
    (5, "f", ["digits/5"]),
    (12, "f", ["digits/12"]),                                     # only 1 and 2 have genders
    (2001, "f", ["say/2f", "say/thousands-i", "say/1f"]),
])
def test_cardinal_gender_changes_only_one_and_two(n, gender, words):
    assert say_number(n, "ru", gender=gender) == words


@pytest.mark.parametrize("n, gender, case, words", [
    (1, "m", "nom", ["digits/h-1"]),                              # первый: the core sound
    (1, "n", "nom", ["say/h-1-n"]),                               # первое
    (1, "f", "nom", ["say/h-1-f"]),                               # первая
    (1, "m", "gen", ["say/h-1-gen"]),                             # первого
    (1, "n", "gen", ["say/h-1-gen"]),
    (1, "f", "gen", ["say/h-1-f-gen"]),                           # первой
    (3, "n", "gen", ["say/h-3-gen"]),
    (25, "n", "gen", ["digits/20", "say/h-5-gen"]),               # двадцать пятого
    (25, "m", "nom", ["digits/20", "digits/h-5"]),                # двадцать пятый
    (30, "n", "gen", ["say/h-30-gen"]),
    (31, "n", "gen", ["digits/30", "say/h-1-gen"]),
    (111, "m", "nom", ["digits/hundred", "digits/h-11"]),
    (100, "m", "nom", ["digits/h-hundred"]),
    (2000, "m", "gen", ["say/h-2000-gen"]),                       # двухтысячного
    (2026, "m", "gen", ["say/2f", "say/thousands-i", "digits/20", "say/h-6-gen"]),
])
def test_ordinal_gender_and_case(n, gender, case, words):
    assert say_ordinal(n, "ru", gender=gender, case=case) == words


@pytest.mark.parametrize("d, words", [
    (date(2026, 11, 25), ["digits/20", "say/h-5-gen", "digits/mon-10"]),   # двадцать пятого ноября
    (date(2026, 1, 1), ["say/h-1-gen", "digits/mon-0"]),                   # первого января
    (date(2026, 3, 8), ["say/h-8-gen", "digits/mon-2"]),
    (date(2026, 5, 13), ["say/h-13-gen", "digits/mon-4"]),
    (date(2026, 12, 31), ["digits/30", "say/h-1-gen", "digits/mon-11"]),
    (date(2026, 6, 20), ["say/h-20-gen", "digits/mon-5"]),
])
def test_date_is_genitive_ordinal_and_genitive_month(d, words):
    assert say_date(d, "ru") == words


def test_date_with_year():
    assert say_date(date(2026, 11, 25), "ru", year=True) == [
        "digits/20", "say/h-5-gen", "digits/mon-10",
        "say/2f", "say/thousands-i", "digits/20", "say/h-6-gen", "say/year-gen"]


@pytest.mark.parametrize("t, words", [
    (time(9, 30), ["digits/9", "digits/30"]),                     # девять тридцать
    (time(0, 5), ["digits/0", "digits/0", "digits/5"]),           # ноль ноль пять
    (time(12, 0), ["digits/12", "digits/0", "digits/0"]),         # двенадцать ноль ноль
    (time(9, 1), ["digits/9", "digits/0", "say/1f"]),             # девять ноль одна
    (time(21, 22), ["digits/20", "digits/1", "digits/20", "say/2f"]),  # двадцать один двадцать две
    (time(23, 59), ["digits/20", "digits/3", "digits/50", "digits/9"]),
    (time(10, 15), ["digits/10", "digits/15"]),
])
def test_time(t, words):
    assert say_time(t, "ru") == words


def test_datetime_reads_like_the_issue():
    # "двадцать пятого ноября в девять тридцать"
    assert say_datetime(datetime(2026, 11, 25, 9, 30), "ru") == [
        "digits/20", "say/h-5-gen", "digits/mon-10", "digits/at", "digits/9", "digits/30"]


@pytest.mark.parametrize("n, words", [
    (12, ["say/seat", "digits/12"]),                              # место двенадцать
    (1, ["say/seat", "digits/1"]),
    (21, ["say/seat", "digits/20", "digits/1"]),                  # место двадцать один
    (44, ["say/seat", "digits/40", "digits/4"]),
])
def test_seat(n, words):
    assert say_seat(n, "ru") == words


def test_bus_and_platform():
    assert say_bus(102, "ru") == ["say/bus", "number", "digits/hundred", "digits/2"]
    assert say_platform(3, "ru") == ["say/platform", "number", "digits/3"]


def test_digits_and_codes():
    assert say_digits("8 913 *0#", "ru") == [
        "digits/8", "digits/9", "digits/1", "digits/3", "digits/star", "digits/0", "digits/pound"]
    assert say_digits("A-12", "ru") == ["letters/a", "letters/dash", "digits/1", "digits/2"]


@pytest.mark.parametrize("call", [
    lambda: say_number(1, "ru", gender="x"),
    lambda: say_number(5, "ru", case="gen"),           # cardinal genitive forms are not recorded
    lambda: say_number(10**12, "ru"),
    lambda: say_ordinal(0, "ru"),
    lambda: say_ordinal(200, "ru"),                    # двухсотый: one word, no sound for it
    lambda: say_ordinal(5, "ru", case="dat"),
    lambda: say_seat(0, "ru"),
    lambda: say_digits("Ж1", "ru"),
    lambda: say_number(1, "de"),
])
def test_what_cannot_be_said_is_an_error(call):
    with pytest.raises(SayError):
        call()
