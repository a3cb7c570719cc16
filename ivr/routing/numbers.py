"""Phone numbers as people write them -> E.164, and the destination class of a number.

The output of `normalize` is always "+" followed by digits only: it is the one gate a number passes
before it may reach a dialplan, so anything but digits and a few separators is refused outright.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

from ivr.errors import InvalidInput
from ivr.routing.e164 import fast_e164

DestClass = Literal["internal", "local", "mobile", "long_distance", "international"]

# Separators people type between digits. Everything else (letters, & , ; * # ! |, control
# characters) is refused before phonenumbers sees it: it is lenient and would skip some of them.
_ALLOWED = re.compile(r"\+?[ (]*[0-9][0-9 ()\-.\u00a0]*")
_MAX_LEN = 32
_SEPARATORS = b"+ ()-."
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Short digit strings dialled from a phone: staff extensions, never sent to a trunk.
_INTERNAL = re.compile(r"[0-9]{2,6}")


class InvalidNumber(InvalidInput):
    error_id = "invalid-number"


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "...'"


def for_trunk(e164: str, number_format: str) -> str:
    """A number as a Russian trunk wants it (the plan's sip.number_format): e164 "+79161234567",
    national "89161234567" (abroad "810..."), ten "9161234567" (abroad "810..."). Not a +7 number
    in e164 form, or e164 wanted: unchanged."""
    if number_format == "e164" or not e164.startswith("+"):
        return e164
    if not e164.startswith("+7"):
        return "810" + e164[1:]
    return ("8" if number_format == "national" else "") + e164[2:]


_NAMED_CALLER = re.compile(r'(?P<name>"[^"]*"\s*)?<(?P<number>[^>]*)>')


def caller_id_for_trunk(caller_id: str, number_format: str) -> str:
    """A caller ID ("+74951110000" or '"Name" <+74951110000>') with its number written as the trunk
    wants it (for_trunk); the display name stays."""
    if match := _NAMED_CALLER.fullmatch(caller_id.strip()):
        return f'{match["name"] or ""}<{for_trunk(match["number"], number_format)}>'
    return for_trunk(caller_id.strip(), number_format)


def caller_number(caller_id: str) -> str:
    """The number of a caller ID with or without a display name."""
    match = _NAMED_CALLER.fullmatch(caller_id.strip())
    return (match["number"] if match else caller_id).strip()


def normalize(raw: str, country: str = "RU") -> str:
    """E.164 ("+79161234567") of a number written as people write it.

    `country` is the ISO country whose national formats apply ("8 916 ...", "9161234567" in RU;
    "067 ..." in UA). Raises InvalidNumber naming the value for anything that is not a valid number.
    """
    if not isinstance(raw, str):
        raise InvalidNumber(f"{_shown(raw)} is not a phone number")
    text = raw.strip()
    if text.isdigit() and text.isascii() and len(text) <= _MAX_LEN:
        fast = fast_e164(text, False, country.upper())      # digits only: nothing to check or drop
        if fast is not None and _E164.fullmatch(fast):
            return fast
    elif not text or len(text) > _MAX_LEN or not _ALLOWED.fullmatch(text):
        raise InvalidNumber(f"{_shown(raw)} is not a phone number: only digits, spaces, "
                            "'+', '(', ')', '-' and '.' are allowed")
    if text.startswith("00"):
        # "00" is the international prefix of most of the world (and of phones people bring from
        # abroad); phonenumbers reads it only for countries that use it. "810" (Russia's) it knows.
        text = "+" + text[2:]
    plus = text[0] == "+"
    digits = text[1:] if plus else text
    if not digits.isdigit():
        # _ALLOWED let in ASCII digits and separators, and the no-break space: bytes.translate is the
        # fastest way to drop them.
        digits = digits.replace("\u00a0", " ").encode("ascii").translate(None, _SEPARATORS).decode("ascii")
    fast = fast_e164(digits, plus, country.upper())
    if fast is not None and _E164.fullmatch(fast):
        return fast
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        raise InvalidNumber(f"{_shown(raw)} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{_shown(raw)} is not a valid phone number (read with country {country.upper()})")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # A last guard: whatever phonenumbers did, only "+digits" leaves this function.
    if not _E164.fullmatch(e164):
        raise InvalidNumber(f"{_shown(raw)} is not a phone number")
    return e164


def is_internal(dialled: str) -> bool:
    """A short extension number ("101"), which never leaves the PBX."""
    return bool(_INTERNAL.fullmatch(dialled))


def classify(e164: str, home_country: str = "RU", home_areas: Iterable[str] = ()) -> DestClass:
    """The destination class of a number, for class of service and cost.

    A short extension is "internal". Another country is "international". In the home country a
    mobile is "mobile"; a landline is "local" when its national number starts with one of
    `home_areas` (e.g. ("495", "499") for Moscow) and "long_distance" otherwise, so without home
    areas every landline counts as long distance (the safe side for toll fraud). Toll-free numbers
    are "local"; premium-rate, shared-cost and other special numbers are "long_distance".
    """
    if is_internal(e164):
        return "internal"
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        raise InvalidNumber(f"{_shown(e164)} is not an E.164 number") from None
    if phonenumbers.region_code_for_number(parsed) != home_country.upper():
        return "international"
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.MOBILE:
        return "mobile"
    if kind == PhoneNumberType.TOLL_FREE:
        return "local"
    if kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        national = phonenumbers.national_significant_number(parsed)
        return "local" if any(national.startswith(a) for a in home_areas if a) else "long_distance"
    return "long_distance"
