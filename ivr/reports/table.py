"""A report's table: typed columns, rows of values, and its CSV and XLSX files (headers translated,
numbers kept as numbers so a spreadsheet can sum them)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from ivr.i18n import gettext


@dataclass(frozen=True)
class Column:
    key: str
    title: str                       # English, marked with lazy(); translated when shown
    kind: str = "int"                # text | int | share (0..1) | seconds | money | number


@dataclass
class Table:
    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def titles(self) -> list[str]:
        return [gettext(c.title) for c in self.columns]

    def values(self) -> list[list[Any]]:
        return [[row.get(c.key) for c in self.columns] for row in self.rows]


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.titles())
    for values in table.values():
        writer.writerow(["" if v is None else round(v, 3) if isinstance(v, float) else v for v in values])
    return out.getvalue()


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table, headers bold, shares as percentages."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.name[:31])
        sheet.append(table.titles())
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for values in table.values():
            sheet.append([float(v) if hasattr(v, "as_tuple") else v for v in values])
        for index, column in enumerate(table.columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = max(10, len(gettext(column.title)) + 2)
            if column.kind == "share":
                for cell in sheet[letter][1:]:
                    cell.number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
