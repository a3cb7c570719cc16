"""Spreadsheet files as people have them: CSV in UTF-8 (with or without a BOM) or cp1251 (Russian
Excel), separated by `;`, `,` or tabs, and XLSX; and files to hand back: `;`-separated CSV with a
BOM (Excel opens it right in either locale) and XLSX.

Only bytes and cells here; what the columns mean is ivr.campaigns.importer's.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time

from ivr.errors import InvalidInput

BOM = "\ufeff"
SEPARATORS = (";", ",", "\t")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def decode(data: bytes, name: str = "the file") -> tuple[str, str]:
    """The text and the encoding it was in: UTF-8 (a BOM or valid UTF-8), else cp1251. A file
    that is neither (UTF-16, a binary) is refused with its name."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(f"{name} is UTF-16: save it as CSV (UTF-8) or CSV (;) from the spreadsheet")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1251", errors="replace")
    if "\x00" in text or text.count("\ufffd") > 0:
        raise InvalidInput(f"{name} is neither UTF-8 nor Windows-1251 text (a binary file?)")
    return text, "cp1251"


def separator(header_line: str) -> str:
    """The separator the header line uses most (`;` on a tie: Russian Excel's)."""
    counts = {s: header_line.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def csv_rows(text: str) -> tuple[list[list[str]], str]:
    """Rows of a CSV text and its separator."""
    text = text.lstrip(BOM)
    sep = separator(text.split("\n", 1)[0])
    return [row for row in csv.reader(io.StringIO(text), delimiter=sep)], sep


def is_xlsx(data: bytes, name: str = "") -> bool:
    return name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04"


def xlsx_rows(data: bytes, name: str = "the file") -> list[list[str]]:
    """The first sheet's rows as text: dates as 2026-11-26, times as 09:30, whole numbers without .0."""
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise InvalidInput(f"{name} is not an XLSX workbook: {e}") from None
    try:
        sheet = book.worksheets[0]
        return [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes, name: str = "the file") -> tuple[list[list[str]], str]:
    """The rows of a CSV or XLSX file and what it was ("XLSX", "CSV cp1251 ;", ...)."""
    if is_xlsx(data, name):
        return xlsx_rows(data, name), "XLSX"
    text, encoding = decode(data, name)
    rows, sep = csv_rows(text)
    return rows, f"CSV {encoding} {'tab' if sep == chr(9) else sep}"


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """`;`-separated UTF-8 with a BOM: Excel opens it in columns with Cyrillic intact."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + out.getvalue()).encode("utf-8")


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
