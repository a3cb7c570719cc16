"""Region names of the numbering registry, normalised, and their IANA time zones.

Campaigns call only within the callee's local hours, so each range keeps a time zone. Regions not
in the table fall back to Moscow time, where most Russian numbers are.
"""
from __future__ import annotations

import re

DEFAULT_TIMEZONE = "Europe/Moscow"

_SPACES = re.compile(r"\s+")
_CITY = re.compile(r"^(г\.|город)\s*", re.IGNORECASE)
_ABBREVIATIONS = (
    (re.compile(r"(?<!\w)обл\.?(?!\w)", re.IGNORECASE), "область"),
    (re.compile(r"(?<!\w)респ\.?(?!\w)", re.IGNORECASE), "Республика"),
)

# First match wins: specific names come before ones they contain ("томск" before "омск").
_ZONES: tuple[tuple[str, str], ...] = (
    (r"калининград", "Europe/Kaliningrad"),
    (r"самар|удмурт", "Europe/Samara"),
    (r"ульяновск", "Europe/Ulyanovsk"),
    (r"саратов", "Europe/Saratov"),
    (r"астрахан", "Europe/Astrakhan"),
    (r"волгоград", "Europe/Volgograd"),
    (r"свердловск|екатеринбург|челябинск|курганск|тюменск|ханты|югра|ямало|пермск|оренбург"
     r"|башкорт", "Asia/Yekaterinburg"),
    (r"томск", "Asia/Tomsk"),
    (r"(?<!\w)омск", "Asia/Omsk"),
    (r"новосибирск", "Asia/Novosibirsk"),
    (r"алтай", "Asia/Barnaul"),
    (r"кемеровск|кузбасс", "Asia/Novokuznetsk"),
    (r"красноярск|хакас|тыва|тува", "Asia/Krasnoyarsk"),
    (r"иркутск|бурят", "Asia/Irkutsk"),
    (r"забайкал|читинск", "Asia/Chita"),
    (r"сахалин", "Asia/Sakhalin"),
    (r"саха(?!\w)|якут|амурск", "Asia/Yakutsk"),
    (r"приморск|владивосток|хабаровск|еврейск", "Asia/Vladivostok"),
    (r"магадан", "Asia/Magadan"),
    (r"камчат", "Asia/Kamchatka"),
    (r"чукот", "Asia/Anadyr"),
    (r"москв|санкт-петербург|ленинградск", "Europe/Moscow"),
)
_ZONE_PATTERNS = tuple((re.compile(p), tz) for p, tz in _ZONES)


def normalise_region(text: str) -> str:
    """One spelling per region: 'г. Москва * Московская область' -> 'Москва и Московская область';
    'town|district|region' keeps the region; '-' (unknown) becomes ''."""
    s = _SPACES.sub(" ", text.replace("\u00a0", " ")).strip().strip('"').strip()
    if "|" in s:
        parts = [p.strip() for p in s.split("|") if p.strip()]
        s = parts[-1] if parts else ""
    if s in ("", "-", "—", "–"):
        return ""
    s = re.sub(r"\s*\*\s*", " и ", s)
    s = _CITY.sub("", s)
    for pattern, full in _ABBREVIATIONS:
        s = pattern.sub(full, s)
    return _SPACES.sub(" ", s).strip()


def timezone_for_region(region: str) -> str:
    """IANA time zone of a (normalised) Russian region; Moscow time when not known."""
    low = region.lower().replace("ё", "е")
    for pattern, tz in _ZONE_PATTERNS:
        if pattern.search(low):
            return tz
    return DEFAULT_TIMEZONE
