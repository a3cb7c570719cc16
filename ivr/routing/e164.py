"""A fast path for `normalize`: the common ways of writing a number ("+7 916 ...", "8 916 ...",
"7916...", "916...") read without phonenumbers' general parser, with phonenumbers' own metadata and
its own rules for which region a number belongs to and whether it is valid. Anything it is not sure
of (an international prefix, a national prefix that might be stripped differently, an unknown
region) returns None and goes the slow way; tests/unit/test_routing_numbers_fast.py checks it
against phonenumbers on many numbers."""
from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata

# The common types first: a number is valid when any type's pattern matches, and the alternation
# stops at the first that does.
_TYPES = ("mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager",
          "uan", "voicemail")


class _Region:
    """One region's validity test: the general pattern, then any number type's pattern, each only
    at the lengths its metadata allows (phonenumbers' _number_type_helper)."""

    def __init__(self, metadata: PhoneMetadata):
        general = metadata.general_desc
        self.general = re.compile(general.national_number_pattern) if general.national_number_pattern else None
        self.general_lengths = frozenset(general.possible_length)
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        by_length: dict[int | None, list[str]] = {}
        for name in _TYPES:
            desc = getattr(metadata, name)
            if desc is None or not desc.national_number_pattern:
                continue
            for length in desc.possible_length or (None,):
                by_length.setdefault(length, []).append(desc.national_number_pattern)
        self.any_length = by_length.pop(None, [])
        self.types = {n: re.compile("|".join(f"(?:{p})" for p in pats + self.any_length))
                      for n, pats in by_length.items()}
        self.types_any = re.compile("|".join(f"(?:{p})" for p in self.any_length)) if self.any_length else None
        prefix = metadata.national_prefix_for_parsing
        self.national_prefix = prefix if prefix and prefix.isdigit() and not metadata.national_prefix_transform_rule \
            else None
        self.has_prefix_rule = bool(prefix) and self.national_prefix is None
        self.idd = re.compile(metadata.international_prefix) if metadata.international_prefix else None

    def matches_general(self, nsn: str) -> bool:
        if self.general is None or (self.general_lengths and len(nsn) not in self.general_lengths):
            return False
        return self.general.fullmatch(nsn) is not None

    def valid_pattern(self, length: int) -> str | None:
        """phonenumbers' validity in this region for national numbers of `length` digits, as one
        pattern: the general test (a lookahead) and the types'; None: no such number is valid."""
        types = self.types.get(length, self.types_any)
        if types is None or self.general is None or (self.general_lengths and length not in self.general_lengths):
            return None
        return f"(?=(?:{self.general.pattern})\\Z)(?:{types.pattern})"


@cache
def _region(code: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(code, None)
    return _Region(metadata) if metadata is not None else None


@cache
def _regions_of(code: int) -> tuple[_Region, ...]:
    """The regions sharing a country calling code, main region first (phonenumbers' order)."""
    return tuple(r for r in map(_region, phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())) if r is not None)


# Per calling code, per length of the national number: its validity as one pattern (None: never valid).
_valid_at: dict[int, dict[int, re.Pattern | None]] = {}


def _valid_for_code(code: int, nsn: str) -> bool:
    """phonenumbers.is_valid_number for country calling code `code` and national number `nsn`."""
    try:
        pattern = _valid_at[code][len(nsn)]
    except KeyError:
        pattern = _valid_at.setdefault(code, {})[len(nsn)] = _code_pattern(code, len(nsn))
    return pattern is not None and pattern.fullmatch(nsn) is not None


def _code_pattern(code: int, length: int) -> re.Pattern | None:
    """The regions of `code` in phonenumbers' order, as one pattern: a region with leading digits
    decides alone when they match (valid or not) and is passed over when they do not; a region
    without them makes the number valid when it is valid there, else the next one is asked."""
    rest, any_valid = "(?!)", False
    for region in reversed(_regions_of(code)):
        valid = region.valid_pattern(length)
        any_valid = any_valid or valid is not None
        valid = valid or "(?!)"
        if region.leading is not None:
            leading = region.leading.pattern
            rest = f"(?:(?={leading})(?:{valid})|(?!{leading})(?:{rest}))"
        else:
            rest = f"(?:{valid}|{rest})"
    return re.compile(rest) if any_valid else None


def _safe_national(region: _Region, nsn: str) -> bool:
    """phonenumbers would keep `nsn` as it is: it starts with no national prefix to strip."""
    return not region.has_prefix_rule and not (region.national_prefix and nsn.startswith(region.national_prefix))


@cache
def _calling_code_at(head: str) -> tuple[int, int, _Region | None] | None:
    """(digits it takes, country calling code, its main region) of a number starting with `head`
    (its first three digits), as phonenumbers reads a "+": the shortest code that exists."""
    for n in (1, 2, 3):
        code = int(head[:n])
        if regions := phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code):
            return n, code, _region(regions[0])
    return None


class _Home:
    """The country a number without "+" is read in, when its national formats are simple enough."""

    def __init__(self, code: int, region: _Region):
        self.code, self.cc, self.region = code, str(code), region
        self.idd, self.prefix = region.idd, region.national_prefix
        # Per length of what follows the national prefix: the region's general pattern (phonenumbers
        # strips the prefix only then) and the code's validity, as one pattern (None: never both).
        self._after_prefix: dict[int, re.Pattern | None] = {}

    def valid_after_prefix(self, nsn: str) -> bool:
        try:
            pattern = self._after_prefix[len(nsn)]
        except KeyError:
            pattern = self._after_prefix[len(nsn)] = self._prefix_pattern(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None

    def _prefix_pattern(self, length: int) -> re.Pattern | None:
        general, valid = self.region.general, _code_pattern(self.code, length)
        if general is None or valid is None or (self.region.general_lengths and length not in self.region.general_lengths):
            return None
        return re.compile(f"(?=(?:{general.pattern})\\Z){valid.pattern}")


@cache
def _home(country: str) -> _Home | None:
    metadata = PhoneMetadata.metadata_for_region(country, None)
    region = _region(country)
    if metadata is None or region is None or region.has_prefix_rule or region.leading is not None and \
            phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())[0] != country:
        return None
    return _Home(metadata.country_code, region)


def fast_e164(digits: str, plus: bool, country: str) -> str | None:
    """E.164 of `digits` (separators already removed) when sure, else None."""
    if not digits or digits[0] == "0" and plus:
        return None
    if plus:
        if (found := _calling_code_at(digits[:3])) is None:
            return None
        n, code, first = found
        nsn = digits[n:]
        if first is None or not nsn or nsn[0] == "0" or not _safe_national(first, nsn):
            return None
        return "+" + digits if _valid_for_code(code, nsn) else None
    if (home := _home(country)) is None:
        return None
    cc = home.cc
    if home.idd is not None and home.idd.match(digits):
        return None                                  # an international call: the slow way
    if home.prefix and digits.startswith(home.prefix):
        nsn = digits[len(home.prefix):]
        if not nsn or nsn[0] == "0" or nsn.startswith(cc) or not home.valid_after_prefix(nsn):
            return None
        return "+" + cc + nsn
    if digits.startswith(cc):
        nsn = digits[len(cc):]
        if home.region.matches_general(digits) or not _safe_national(home.region, nsn):
            return None
    else:
        nsn = digits
    if not nsn or nsn[0] == "0" or not _valid_for_code(home.code, nsn):
        return None
    return "+" + cc + nsn
