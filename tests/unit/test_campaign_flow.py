"""What a campaign call says about the trip: the say module's words in the callee's local time."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.campaigns.flow import trip_prompts, trip_words
from ivr.campaigns.model import Passenger, Row
from ivr.say import say_datetime, say_seat
from ivr.say.errors import SayError

MSK = ZoneInfo("Europe/Moscow")


def row(zone: str = "Europe/Moscow", **fields) -> Row:
    values = {"name": "Иван", "phone": "+79161234567", "trip_id": "T1",
              "departure": datetime(2026, 11, 25, 9, 30, tzinfo=MSK), "seat": "12", **fields}
    return Row(1, 1, Passenger(**values), zone, "calling", "", 1, None)


def test_russian_confirm_says_date_time_and_seat():
    words = trip_words(row(), "confirm", "ru")
    # двадцать пятого ноября в девять тридцать, место двенадцать
    assert words == ("digits/20", "say/h-5-gen", "digits/mon-10", "digits/at", "digits/9", "digits/30",
                     "say/seat", "digits/12")


def test_departure_is_spoken_in_the_callees_local_time():
    # 09:30 Moscow is 13:30 in Novosibirsk
    words = trip_words(row("Asia/Novosibirsk"), "confirm", "ru")
    assert words[:-2] == tuple(say_datetime(datetime(2026, 11, 25, 13, 30), "ru"))


def test_notice_says_bus_and_platform_not_seat():
    words = trip_words(row(bus="102", platform="3"), "notice", "ru")
    assert "say/seat" not in words
    assert words[-7:] == ("say/bus", "number", "digits/hundred", "digits/2", "say/platform", "number", "digits/3")


def test_english_and_a_seat_list_take_the_first_seat():
    words = trip_words(row(seat="7, 8"), "confirm", "en")
    assert words[-len(say_seat(7, "en")):] == tuple(say_seat(7, "en"))
    assert list(words[:-2]) == say_datetime(datetime(2026, 11, 25, 9, 30), "en")


def test_no_seat_and_no_departure_say_nothing():
    assert trip_words(row(seat="", departure=None), "confirm", "ru") == ()


def test_a_language_without_rules_says_only_the_route():
    assert trip_words(row(), "confirm", "de", "tts/abc") == ("tts/abc",)


async def test_route_name_comes_first_from_the_speaker():
    spoken = []

    def speak(text: str, lang: str) -> str:
        spoken.append((text, lang))
        return "novosibirsk-avtovokzal"

    words = await trip_prompts(row(route="Новосибирск, автовокзал"), "confirm", "ru", speak)
    assert spoken == [("Новосибирск, автовокзал", "ru")]
    assert words[0] == "novosibirsk-avtovokzal" and words[1:] == trip_words(row(), "confirm", "ru")


async def test_speech_failure_leaves_the_route_out():
    def speak(text: str, lang: str) -> str:
        raise SayError("espeak-ng is not installed")

    words = await trip_prompts(row(route="Томск"), "confirm", "ru", speak)
    assert words == trip_words(row(), "confirm", "ru")
