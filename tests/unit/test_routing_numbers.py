from __future__ import annotations

import pytest

from ivr.errors import InvalidInput
from ivr.routing.numbers import InvalidNumber, classify, normalize


@pytest.mark.parametrize("raw, country, expected", [
    ("8 916 123-45-67", "RU", "+79161234567"),
    ("+7 (916) 123-45-67", "RU", "+79161234567"),
    ("79161234567", "RU", "+79161234567"),
    ("9161234567", "RU", "+79161234567"),
    ("8(495)123.45.67", "RU", "+74951234567"),
    ("  +7 916 123 45 67  ", "RU", "+79161234567"),
    ("067 123 45 67", "UA", "+380671234567"),
    ("+380 67 123 45 67", "UA", "+380671234567"),
    ("+380671234567", "RU", "+380671234567"),
    ("8 800 555-35-35", "RU", "+78005553535"),
    ("810 49 30 1234 5678", "RU", "+493012345678"),      # Russia's international prefix
    ("00 49 30 1234 5678", "RU", "+493012345678"),       # and the rest of the world's
    ("0049 30 1234 5678", "UA", "+493012345678"),
])
def test_normalize_accepts(raw: str, country: str, expected: str) -> None:
    assert normalize(raw, country) == expected


@pytest.mark.parametrize("raw", [
    "", "   ", "abc", "8916123456a", "+7916123&4567", "8916,1234567", "8916;1234567",
    "8916*1234567", "8916#1234567", "+7916|1234567", "8916\n1234567", "8916\t1234567",
    "89161234567&Dial(PJSIP/x)", "+7 916 123 45 67 ext 5", "1234", "8 916 123 45",
    "8 916 123 45 67 89", "++79161234567", "7+9161234567", "+", "٨٩١٦١٢٣٤٥٦٧",
    "8916１234567", "x" * 200, "9" * 40,
])
def test_normalize_rejects(raw: str) -> None:
    with pytest.raises(InvalidNumber) as exc:
        normalize(raw)
    assert isinstance(exc.value, InvalidInput)
    assert repr(raw)[:20] in exc.value.message


def test_normalize_rejects_non_string() -> None:
    with pytest.raises(InvalidNumber):
        normalize(79161234567)  # type: ignore[arg-type]


def test_normalized_numbers_are_plus_and_digits_only() -> None:
    for raw in ("8 916 123-45-67", "(916) 123-45-67", "067 123 45 67"):
        e164 = normalize(raw, "UA" if raw.startswith("0") else "RU")
        assert e164[0] == "+" and e164[1:].isdigit()


@pytest.mark.parametrize("number, expected", [
    ("101", "internal"),
    ("+79161234567", "mobile"),
    ("+74951234567", "local"),
    ("+73832123456", "long_distance"),
    ("+78005553535", "local"),
    ("+380671234567", "international"),
    ("+77771234567", "international"),   # +7 but Kazakhstan
])
def test_classify_from_moscow(number: str, expected: str) -> None:
    assert classify(number, "RU", home_areas=("495", "499")) == expected


def test_classify_without_home_areas_counts_landlines_as_long_distance() -> None:
    assert classify("+74951234567", "RU") == "long_distance"
    assert classify("+380441234567", "UA") == "long_distance"
    assert classify("+380671234567", "UA") == "mobile"
    assert classify("+79161234567", "UA") == "international"
