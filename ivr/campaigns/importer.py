"""Passengers from CSV or XLSX as booking offices export them, with a report that names every problem.

Columns are found by their header, in Russian or English (COLUMNS, listed in docs/campaigns.md);
the departure is one column (date and time) or two (a date column and a time column). A trip's
time is as its ticket prints it: in the departure stop's zone (a `timezone` column), else the plan's.

Nothing is dropped silently: a row is either kept, merged into an earlier row of the same passenger
on the same trip (reported), or refused with its row number, field and reason.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.campaigns import sheets
from ivr.campaigns.model import Passenger
from ivr.errors import InvalidInput
from ivr.routing.numbers import normalize

# Column -> the header names accepted for it (case, spaces and underscores ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "фио", "passenger", "passenger name", "full name", "пассажир", "фио пассажира",
             "фамилия имя отчество", "ф.и.о.", "фамилия, имя, отчество"),
    "phone": ("phone", "телефон", "telephone", "phone number", "mobile", "номер телефона", "мобильный",
              "телефон пассажира"),
    "trip_id": ("trip", "рейс", "trip id", "trip number", "номер рейса", "рейс №"),
    "route": ("route", "маршрут"),
    "departure_date": ("departure date", "дата отправления", "date", "дата", "дата рейса"),
    "departure": ("departure", "отправление", "departure time", "time", "время отправления", "время",
                  "дата и время отправления"),
    "timezone": ("timezone", "часовой пояс", "time zone", "tz", "пояс"),
    "seat": ("seat", "место", "seats", "места"),
    "bus": ("bus", "автобус", "bus number", "номер автобуса"),
    "platform": ("platform", "платформа", "перрон"),
    "language": ("language", "язык", "lang"),
}
REQUIRED = ("name", "phone", "trip_id", "departure")
# The headers of the template and the export (English, Russian).
HEADERS: dict[str, tuple[str, str]] = {
    "name": ("name", "ФИО"), "phone": ("phone", "Телефон"), "trip_id": ("trip", "Рейс"),
    "route": ("route", "Маршрут"), "departure": ("departure", "Отправление"),
    "timezone": ("timezone", "Часовой пояс"), "seat": ("seat", "Место"), "bus": ("bus", "Автобус"),
    "platform": ("platform", "Платформа"), "language": ("language", "Язык")}
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S",
            "%d.%m.%y %H:%M", "%d/%m/%Y %H:%M")
# Moscow time as Russian timetables write it: МСК, МСК+4, MSK-1.
_MSK = re.compile(r"(?:мск|msk)\s*(?:([+-])\s*(\d{1,2}))?")


@dataclass(frozen=True)
class Issue:
    row: int            # 1 = the header line; data rows from 2, as a spreadsheet numbers them
    field: str
    reason: str
    level: str = "error"    # error: row refused; merged: row folded into an earlier one

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "reason": self.reason, "level": self.level}


@dataclass(frozen=True)
class ImportResult:
    passengers: tuple[Passenger, ...]
    issues: tuple[Issue, ...]
    rows_read: int

    @property
    def refused(self) -> int:
        return len({i.row for i in self.issues if i.level == "error"})

    @property
    def merged(self) -> int:
        return sum(1 for i in self.issues if i.level == "merged")


def read_csv(text: str, country: str, timezone: str, languages: Iterable[str] = ()) -> ImportResult:
    """Parse CSV text (`;`, `,` or tab separated; the header names the columns in any order)."""
    rows, _sep = sheets.csv_rows(text)
    return read_table(rows, country, timezone, languages)


def read_file(data: bytes, name: str, country: str, timezone: str, languages: Iterable[str] = (),
              route_zones: Mapping[str, str] | None = None) -> tuple[ImportResult, str]:
    """A CSV (UTF-8 with or without a BOM, or cp1251) or XLSX file; the result and what the file was."""
    rows, kind = sheets.read_rows(data, name)
    return read_table(rows, country, timezone, languages, route_zones), kind


def read_table(rows: Iterable[list[str]], country: str, timezone: str, languages: Iterable[str] = (),
               route_zones: Mapping[str, str] | None = None) -> ImportResult:
    """Rows of a sheet, the first one the header. A row without a `timezone` takes its route's
    from `route_zones` (campaigns.yaml `route_timezones`, keys lower case), else the plan's."""
    it = iter(rows)
    header = next(it, None)
    if header is None:
        raise InvalidInput("the file is empty")
    columns, issues = _columns(header)
    records = []
    for number, values in enumerate(it, start=2):
        if not any(v.strip() for v in values):
            continue
        rec = {name: (values[i].strip() if i < len(values) else "") for name, i in columns.items()}
        if not rec.get("timezone") and route_zones:
            rec["timezone"] = route_zones.get(" ".join(rec.get("route", "").lower().split()), "")
        if "departure_date" in rec:
            # two columns: "26.11.2026" and "09:30" (an empty time leaves the departure empty)
            rec["departure"] = f"{rec.pop('departure_date')} {rec['departure']}".strip() \
                if rec.get("departure") else ""
        records.append((number, rec))
    result = read_records(records, country, timezone, languages)
    return replace(result, issues=tuple(issues) + result.issues)


def read_records(records: Iterable[tuple[int, Mapping[str, str]]], country: str, timezone: str,
                 languages: Iterable[str] = (), keys: Mapping[int, str] | None = None) -> ImportResult:
    """Check numbered records (from CSV rows or API items), merge duplicates, report the rest."""
    tz = ZoneInfo(timezone)
    allowed = set(languages)
    issues: list[Issue] = []
    kept: dict[tuple[str, str], Passenger] = {}
    count = 0
    for number, rec in records:
        count += 1
        passenger = _passenger(number, rec, country, tz, allowed, issues)
        if passenger is None:
            continue
        if keys and number in keys:
            passenger = replace(passenger, key=keys[number])
        same = (passenger.trip_id, passenger.phone)
        if same in kept:
            first = kept[same]
            kept[same] = _merge(first, passenger)
            issues.append(Issue(number, "phone", f"{passenger.phone} is already on trip {passenger.trip_id} "
                                f"(row {first.source_rows[0]}); merged", "merged"))
        else:
            kept[same] = passenger
    issues.sort(key=lambda i: i.row)
    return ImportResult(tuple(kept.values()), tuple(issues), count)


def _columns(header: list[str]) -> tuple[dict[str, int], list[Issue]]:
    issues = []
    known = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for i, title in enumerate(header):
        key = " ".join(title.strip().lower().replace("_", " ").split())
        name = known.get(key) or known.get(key.replace(" ", "_"))
        if name is None:
            issues.append(Issue(1, title.strip() or f"column {i + 1}", "unknown column, ignored", "warning"))
        elif name in columns:
            issues.append(Issue(1, title.strip(), f"a second '{name}' column, ignored", "warning"))
        else:
            columns[name] = i
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        names = ", ".join(f"{c} ({COLUMNS[c][1]})" for c in missing)
        hint = " (the departure: one column with date and time, or 'Дата отправления' and " \
               "'Время отправления')" if "departure" in missing else ""
        raise InvalidInput(f"the header lacks column(s): {names}{hint}; accepted names are listed in "
                           "docs/campaigns.md", {"header": header, "missing": missing})
    return columns, issues


def _passenger(number: int, rec: Mapping[str, str], country: str, tz: ZoneInfo, languages: set[str],
               issues: list[Issue]) -> Passenger | None:
    before = len(issues)
    for name in REQUIRED:
        if not rec.get(name, "").strip():
            issues.append(Issue(number, name, "empty"))
    phone = ""
    raw_phone = rec.get("phone", "").strip()
    if raw_phone:
        try:
            phone = normalize(raw_phone, country)
        except InvalidInput as e:
            issues.append(Issue(number, "phone", f"bad phone number {raw_phone!r}: {e.message}"))
    zone_name = ""
    if rec.get("timezone", "").strip():
        zone_name = parse_zone(rec["timezone"])
        if zone_name is None:
            issues.append(Issue(number, "timezone", f"{rec['timezone']!r} is not a time zone like "
                                "Europe/Moscow, Asia/Novosibirsk or МСК+4"))
            zone_name = ""
    departure = None
    if rec.get("departure", "").strip():
        departure = parse_departure(rec["departure"], ZoneInfo(zone_name) if zone_name else tz)
        if departure is None:
            issues.append(Issue(number, "departure", f"{rec['departure']!r} is not a date and time "
                                "like 2026-11-26 09:30 or 26.11.2026 09:30"))
    language = rec.get("language", "").strip().lower()
    if language and languages and language not in languages:
        issues.append(Issue(number, "language", f"'{language}' is not a plan language "
                            f"({', '.join(sorted(languages))})"))
    if len(issues) > before:
        return None
    return Passenger(name=rec["name"].strip(), phone=phone, trip_id=rec["trip_id"].strip(),
                     route=rec.get("route", "").strip(), departure=departure, timezone=zone_name,
                     seat=rec.get("seat", "").strip(),
                     bus=rec.get("bus", "").strip(), platform=rec.get("platform", "").strip(),
                     language=language, raw_phone=raw_phone, source_rows=(number,))


def parse_zone(text: str) -> str | None:
    """An IANA zone ("Asia/Novosibirsk"), or Moscow time as timetables write it ("МСК", "МСК+4":
    the IANA zone of Russia with that offset); None if it is neither."""
    text = text.strip()
    m = _MSK.fullmatch(text.lower())
    if m:
        offset = 3 + (int(m.group(2)) * (1 if m.group(1) == "+" else -1) if m.group(2) else 0)
        return _RUSSIAN_ZONES.get(offset)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return text


# Russia's zones by UTC offset (hours), for МСК±N.
_RUSSIAN_ZONES = {2: "Europe/Kaliningrad", 3: "Europe/Moscow", 4: "Europe/Samara", 5: "Asia/Yekaterinburg",
                  6: "Asia/Omsk", 7: "Asia/Novosibirsk", 8: "Asia/Irkutsk", 9: "Asia/Yakutsk",
                  10: "Asia/Vladivostok", 11: "Asia/Magadan", 12: "Asia/Kamchatka"}


def template_header(lang: str) -> list[str]:
    """The template's and the export's passenger columns, in `lang` ("ru" or "en")."""
    return [ru if lang == "ru" else en for en, ru in HEADERS.values()]


def template_rows(lang: str) -> list[list[str]]:
    """One example passenger under template_header."""
    if lang == "ru":
        return [["Кузнецова Мария Викторовна", "8 913 123-45-67", "МТ-0730", "Москва — Тверь",
                 "08.12.2026 09:15", "Europe/Moscow", "12", "А 123 ВС", "3", "ru"]]
    return [["Olga Ivanova", "+7 916 123-45-67", "T1", "Moscow - Tver", "2026-12-08 09:15", "Europe/Moscow",
             "12", "A 123", "3", "en"]]


def parse_departure(text: str, tz: ZoneInfo) -> datetime | None:
    """A departure in `tz` (the trip's or the plan's zone) unless it carries its own UTC offset."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
        for fmt in _FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _merge(first: Passenger, again: Passenger) -> Passenger:
    """One call per passenger and trip: seats are joined, the rest of the first row is kept."""
    seats = [s for s in dict.fromkeys((*first.seat.split(", "), *again.seat.split(", "))) if s]
    return replace(first, seat=", ".join(seats), source_rows=first.source_rows + again.source_rows)
