"""normalize's fast path gives exactly what phonenumbers gives (or leaves the number to it)."""
from __future__ import annotations

import random

import phonenumbers
import pytest

from ivr.routing.e164 import fast_e164
from ivr.routing.numbers import InvalidNumber, normalize


def slow(text: str, country: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def written(rng: random.Random, country: str) -> str:
    cc = str(phonenumbers.country_code_for_region(country))
    length = rng.choice([6, 7, 8, 9, 10, 10, 10, 11, 12])
    nsn = str(rng.randrange(10 ** (length - 1), 10 ** length))
    if rng.random() < 0.5:
        nsn = rng.choice(["9", "8", "4", "3", "7", "6", "1", "0", "800", "810", "812", "495", "67", "50", "2"]) + nsn[2:]
    shapes = [lambda: "+" + cc + nsn, lambda: "8" + nsn, lambda: "0" + nsn, lambda: cc + nsn, lambda: nsn,
              lambda: "+" + rng.choice(["1", "44", "49", "375", "380", "7", "77", "998"]) + nsn,
              lambda: f"8 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}", lambda: f"+{cc} {nsn[:3]} {nsn[3:]}",
              lambda: "810" + cc + nsn, lambda: "00" + cc + nsn, lambda: "1" + nsn]
    return rng.choice(shapes)()


@pytest.mark.parametrize("country", ["RU", "UA", "KZ", "BY", "US", "DE"])
def test_the_fast_path_agrees_with_phonenumbers(country: str) -> None:
    rng = random.Random(country)
    fast_taken = 0
    for _ in range(20000):
        text = written(rng, country)
        digits = text.replace("+", "").replace(" ", "").replace("(", "").replace(")", "").replace("-", "")
        fast = fast_e164(digits, text.startswith("+"), country)
        if fast is not None:
            fast_taken += 1
            assert fast == slow(text, country), text
    assert fast_taken > 100


@pytest.mark.parametrize("country", ["RU", "UA", "KZ", "US"])
def test_normalize_agrees_with_phonenumbers_on_every_way_of_writing(country: str) -> None:
    """The whole of normalize (digits-only input takes its own short way), fast path or not."""
    rng = random.Random(country + "normalize")
    for _ in range(3000):
        text = written(rng, country)
        # "00" is read as "+" in every country (normalize's own rule; phonenumbers only where it is the IDD)
        expected = slow("+" + text[2:] if text.startswith("00") else text, country)
        if expected is None:
            with pytest.raises(InvalidNumber):
                normalize(text, country)
        else:
            assert normalize(text, country) == expected, text


def test_valid_mobiles_of_the_home_country_take_the_fast_path() -> None:
    for text in ("+79161234567", "8 916 123-45-67", "+7 (916) 123-45-67", "79161234567", "9161234567"):
        assert fast_e164(text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "").lstrip("+"),
                         text.startswith("+"), "RU") == "+79161234567"
        assert normalize(text) == "+79161234567"


@pytest.mark.parametrize("text", ["+7 916 123", "8 10 49 30 1234567", "+0 123 4567", "916123456789"])
def test_what_the_fast_path_refuses_still_gets_phonenumbers_answer(text: str) -> None:
    expected = slow(text, "RU")
    if expected is None:
        with pytest.raises(InvalidNumber):
            normalize(text)
    else:
        assert normalize(text) == expected
