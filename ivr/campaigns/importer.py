"""Passengers from CSV as booking offices export them, with a report that names every problem.

Nothing is dropped silently: a row is either kept, merged into an earlier row of the same passenger
on the same trip (reported), or refused with its row number, field and reason.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.campaigns.model import Passenger
from ivr.errors import InvalidInput
from ivr.routing.numbers import normalize

# Column -> the header names accepted for it (case and spaces ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "passenger", "passenger name", "фио", "пассажир"),
    "phone": ("phone", "telephone", "phone number", "телефон"),
    "trip_id": ("trip", "trip id", "trip_id", "рейс"),
    "route": ("route", "маршрут"),
    "departure": ("departure", "departure time", "отправление"),
    "seat": ("seat", "место"),
    "bus": ("bus", "автобус"),
    "platform": ("platform", "перрон", "платформа"),
    "language": ("language", "lang", "язык"),
}
REQUIRED = ("name", "phone", "trip_id", "departure")
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S")


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
    """Parse CSV text (`,` or `;` separated; the header names the columns in any order)."""
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if header is None:
        raise InvalidInput("the CSV file is empty")
    columns, issues = _columns(header)
    records = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        records.append((number, {name: (values[i].strip() if i < len(values) else "")
                                 for name, i in columns.items()}))
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
        raise InvalidInput(f"the CSV header lacks column(s): {', '.join(missing)}",
                           {"header": header, "missing": missing})
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
    departure = None
    if rec.get("departure", "").strip():
        departure = parse_departure(rec["departure"], tz)
        if departure is None:
            issues.append(Issue(number, "departure", f"{rec['departure']!r} is not a date and time "
                                "like 2026-11-26 09:30"))
    language = rec.get("language", "").strip().lower()
    if language and languages and language not in languages:
        issues.append(Issue(number, "language", f"'{language}' is not a plan language "
                            f"({', '.join(sorted(languages))})"))
    if len(issues) > before:
        return None
    return Passenger(name=rec["name"].strip(), phone=phone, trip_id=rec["trip_id"].strip(),
                     route=rec.get("route", "").strip(), departure=departure, seat=rec.get("seat", "").strip(),
                     bus=rec.get("bus", "").strip(), platform=rec.get("platform", "").strip(),
                     language=language, raw_phone=raw_phone, source_rows=(number,))


def parse_departure(text: str, tz: ZoneInfo) -> datetime | None:
    """A departure in the plan's zone unless it carries its own UTC offset."""
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
