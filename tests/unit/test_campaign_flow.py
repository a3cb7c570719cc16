"""What a campaign call says about the trip: the say module's words, the departure as the ticket
prints it (the departure stop's zone), that zone named when the callee's clock differs."""
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
    words = trip_words(row(), "confirm", "ru", "Europe/Moscow")
    # двадцать пятого ноября в девять тридцать, место двенадцать
    assert words == ("digits/20", "say/h-5-gen", "digits/mon-10", "digits/at", "digits/9", "digits/30",
                     "say/seat", "digits/12")


def test_a_callee_in_another_zone_hears_the_tickets_time_and_its_zone():
    # a Moscow bus at 09:30 (13:30 in Novosibirsk): the ticket's 09:30, "по московскому времени"
    words = trip_words(row("Asia/Novosibirsk"), "confirm", "ru", "Europe/Moscow")
    assert words[:-2] == (*say_datetime(datetime(2026, 11, 25, 9, 30), "ru"), "say/tz-moscow")
    en = trip_words(row("Asia/Novosibirsk"), "confirm", "en", "Europe/Moscow")
    assert en[:-2] == (*say_datetime(datetime(2026, 11, 25, 9, 30), "en"), "say/tz-moscow")


def test_the_trips_own_zone_wins_over_the_plans():
    # a Novosibirsk bus (its stop's zone on the row) to a Moscow callee: its local 23:30 on the 25th
    # is 19:30 in Moscow, and 01:30 of the 26th Novosibirsk time is what the ticket says
    late = datetime(2026, 11, 25, 22, 30, tzinfo=MSK)
    words = trip_words(row("Europe/Moscow", departure=late, timezone="Asia/Novosibirsk"), "confirm", "ru",
                       "Europe/Moscow")
    assert words[:-2] == (*say_datetime(datetime(2026, 11, 26, 2, 30), "ru"), "say/tz-novosibirsk")


def test_across_midnight_the_ticket_date_is_said_not_the_callees():
    # 23:30 on the 25th in Moscow is 03:30 on the 26th in Novosibirsk: the passenger hears the 25th
    late = datetime(2026, 11, 25, 23, 30, tzinfo=MSK)
    words = trip_words(row("Asia/Novosibirsk", departure=late), "confirm", "ru", "Europe/Moscow")
    assert words[:-2] == (*say_datetime(datetime(2026, 11, 25, 23, 30), "ru"), "say/tz-moscow")
    assert "say/h-6-gen" not in words


def test_same_zone_or_same_offset_names_no_zone():
    assert "say/tz-moscow" not in trip_words(row("Europe/Moscow"), "confirm", "ru", "Europe/Moscow")
    assert not any(w.startswith("say/tz-") for w in trip_words(row("Europe/Simferopol"), "confirm", "ru",
                                                              "Europe/Moscow"))


def test_a_zone_without_a_name_is_local_time_of_departure():
    words = trip_words(row("Europe/Moscow", timezone="Asia/Tbilisi"), "confirm", "en", "Europe/Moscow")
    assert "say/tz-local" in words


def test_notice_says_bus_and_platform_not_seat():
    words = trip_words(row(bus="102", platform="3"), "notice", "ru", "Europe/Moscow")
    assert "say/seat" not in words
    assert words[-7:] == ("say/bus", "number", "digits/hundred", "digits/2", "say/platform", "number", "digits/3")


def test_english_and_a_seat_list_take_the_first_seat():
    words = trip_words(row(seat="7, 8"), "confirm", "en", "Europe/Moscow")
    assert words[-len(say_seat(7, "en")):] == tuple(say_seat(7, "en"))
    assert list(words[:-2]) == say_datetime(datetime(2026, 11, 25, 9, 30), "en")


def test_no_seat_and_no_departure_say_nothing():
    assert trip_words(row(seat="", departure=None), "confirm", "ru", "Europe/Moscow") == ()


def test_a_language_without_rules_says_only_the_route():
    assert trip_words(row(), "confirm", "de", "Europe/Moscow", "tts/abc") == ("tts/abc",)


async def test_route_name_comes_first_from_the_speaker():
    spoken = []

    def speak(text: str, lang: str) -> str:
        spoken.append((text, lang))
        return "novosibirsk-avtovokzal"

    words = await trip_prompts(row(route="Новосибирск, автовокзал"), "confirm", "ru", speak, "Europe/Moscow")
    assert spoken == [("Новосибирск, автовокзал", "ru")]
    assert words[0] == "novosibirsk-avtovokzal" and words[1:] == trip_words(row(), "confirm", "ru", "Europe/Moscow")


async def test_speech_failure_leaves_the_route_out():
    def speak(text: str, lang: str) -> str:
        raise SayError("espeak-ng is not installed")

    words = await trip_prompts(row(route="Томск"), "confirm", "ru", speak, "Europe/Moscow")
    assert words == trip_words(row(), "confirm", "ru", "Europe/Moscow")
