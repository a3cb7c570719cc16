"""Contacts CSV: import with a validation report that names the row, field and reason of every
refused row (nothing is dropped silently), and export in the same layout.

Columns (header names, any order; `name` and `numbers` required): id, name, numbers, company, manager,
vip, notes. Several numbers share one cell, separated by `;`, `,` or `|` (quote the cell when the
separator is the file's own). Files separated by `,`, `;` or tabs are read, with or without a BOM.
Row numbers are file lines, the header being row 1, as spreadsheets show them.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.contacts.store import Contact, ContactData, ContactStore
from ivr.errors import InvalidInput
from ivr.routing.numbers import normalize

COLUMNS = ("id", "name", "numbers", "company", "manager", "vip", "notes")
REQUIRED = ("name", "numbers")
YES = {"1", "yes", "y", "true", "да", "д", "vip", "+"}
NO = {"", "0", "no", "n", "false", "нет", "н", "-"}
_SPLIT = re.compile(r"[;,|\n]+")
MAX_TEXT = {"name": 200, "company": 200, "manager": 32, "notes": 10_000}


@dataclass(frozen=True)
class Problem:
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    rows: int                       # data rows read
    created: int = 0
    updated: int = 0
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def refused_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row > 0})

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "refused_rows": self.refused_rows,
                "problems": [{"row": p.row, "field": p.field, "reason": p.reason} for p in self.problems]}


def _reader(text: str) -> csv.DictReader:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)


def parse_rows(text: str, country: str, staff: Collection[str] | None = None
               ) -> tuple[int, list[tuple[int, int | None, ContactData]], list[Problem]]:
    """Check every row: (rows read, good rows as (row number, id, data), problems)."""
    text = text.lstrip("\ufeff")
    reader = _reader(text)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    problems: list[Problem] = []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        if missing:
            problems.append(Problem(1, ",".join(missing), "required column missing from the header"))
        for h in unknown:
            problems.append(Problem(1, h, f"unknown column; known: {', '.join(COLUMNS)}"))
        return 0, [], problems
    reader.fieldnames = header
    good: list[tuple[int, int | None, ContactData]] = []
    seen: dict[str, int] = {}
    count = 0
    for record in reader:
        count += 1
        row = reader.line_num   # the line the record ended on; header is line 1
        own: list[Problem] = []
        if None in record:
            own.append(Problem(row, "-", f"{len(record[None])} value(s) more than the header has columns"))
        values = {k: (record.get(k) or "").strip() for k in COLUMNS}
        contact_id = None
        if values["id"]:
            if values["id"].isdigit():
                contact_id = int(values["id"])
            else:
                own.append(Problem(row, "id", f"{values['id']!r} is not a contact id"))
        if not values["name"]:
            own.append(Problem(row, "name", "empty"))
        for key, limit in MAX_TEXT.items():
            if len(values[key]) > limit:
                own.append(Problem(row, key, f"longer than {limit} characters"))
        numbers: list[str] = []
        raw_numbers = [n.strip() for n in _SPLIT.split(values["numbers"]) if n.strip()]
        if not raw_numbers:
            own.append(Problem(row, "numbers", "empty"))
        for raw in raw_numbers:
            try:
                number = normalize(raw, country)
            except InvalidInput as e:
                own.append(Problem(row, "numbers", e.message))
                continue
            if number in seen and seen[number] != row:
                own.append(Problem(row, "numbers", f"{number} is already in row {seen[number]}"))
                continue
            numbers.append(number)
        vip_raw = values["vip"].lower()
        if vip_raw not in YES | NO:
            own.append(Problem(row, "vip", f"{values['vip']!r} is not yes/no"))
        if values["manager"] and staff is not None and values["manager"] not in staff:
            own.append(Problem(row, "manager", f"{values['manager']!r} is not a staff extension of the plan"))
        if own:
            problems.extend(own)
            continue
        for number in numbers:
            seen[number] = row
        good.append((row, contact_id, ContactData(name=values["name"], numbers=tuple(numbers),
                                                  company=values["company"], manager=values["manager"],
                                                  vip=vip_raw in YES, notes=values["notes"])))
    return count, good, problems


async def import_csv(store: ContactStore, text: str, country: str, now: datetime,
                     staff: Collection[str] | None = None, dry_run: bool = False) -> ImportReport:
    """Import the good rows (create, or update by id) and report every refused one."""
    count, good, problems = parse_rows(text, country, staff)
    owners = await store.owners([n for _, _, data in good for n in data.numbers])
    known = await store.existing_ids([i for _, i, _ in good if i is not None])
    accepted: list[tuple[int | None, ContactData]] = []
    for row, contact_id, data in good:
        own = []
        if contact_id is not None and contact_id not in known:
            own.append(Problem(row, "id", f"no contact {contact_id} to update"))
        for number in data.numbers:
            owner = owners.get(number)
            if owner is not None and owner != contact_id:
                own.append(Problem(row, "numbers", f"{number} belongs to contact {owner} already"))
        if own:
            problems.extend(own)
        else:
            accepted.append((contact_id, data))
    problems.sort(key=lambda p: (p.row, p.field))
    if dry_run or not accepted:
        return ImportReport(count, problems=tuple(problems))
    saved = await store.save_many(accepted, now)
    return ImportReport(count, saved.created, saved.updated, tuple(problems))


def export_csv(contacts: list[Contact]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in contacts:
        writer.writerow([c.id, c.name, ";".join(c.numbers), c.company, c.manager, "yes" if c.vip else "no",
                         c.notes])
    return out.getvalue()
