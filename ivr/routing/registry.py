"""The regulator's numbering registry (ABC-3xx/4xx/8xx, DEF-9xx CSV files): parsing every layout
met in practice, and the compact range store the lookup reads.

Layouts (see docs in numbering-facts.md): 8 columns (2026: UTF-8 with BOM, `;`, no quoting),
7 columns (ИНН, no "Территория ГАР"), 6 columns (no ИНН), an older cp1251 file with fields padded
by tabs, and a spreadsheet re-save (leading zeros of От/До lost, quoted fields with doubled quotes).
Encoding and layout are detected from the bytes and the header. A broken row becomes a RowError
with its line number; the good rows of the file still load.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ivr.routing import store
from ivr.routing.layout import REGISTRY, REGISTRY_ARRAYS
from ivr.routing.regions import normalise_region

# Canonical column names, used in error reports.
CODE, FROM, TO, CAPACITY, OPERATOR, REGION, TERRITORY, INN = (
    "АВС/ DEF", "От", "До", "Емкость", "Оператор", "Регион", "Территория ГАР", "ИНН")
_POSITIONAL = {
    6: (CODE, FROM, TO, CAPACITY, OPERATOR, REGION),
    7: (CODE, FROM, TO, CAPACITY, OPERATOR, REGION, INN),
    8: (CODE, FROM, TO, CAPACITY, OPERATOR, REGION, TERRITORY, INN),
}
_PAD = " \t\r\ufeff"


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RangeRow:
    start: int          # full national number (code + 7 digits), e.g. 9160000000
    end: int            # inclusive
    operator: str
    inn: str
    region: str         # normalised; '' when unknown
    file: str
    line: int


@dataclass(frozen=True)
class ParsedFile:
    file: str
    encoding: str       # utf-8-sig | utf-8 | cp1251
    layout: str         # e.g. "8 columns", "6 columns, tab-padded", "7 columns, spreadsheet re-save"
    rows: tuple[RangeRow, ...]
    errors: tuple[RowError, ...]


@dataclass(frozen=True)
class ImportReport:
    files: tuple[ParsedFile, ...]
    rows: int                     # ranges in the published registry
    replaced_codes: tuple[str, ...]  # leading digits whose ranges the import replaced ("3", "9", ...)
    errors: tuple[RowError, ...]  # every broken row, including overlaps found across files


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: a BOM means UTF-8; else UTF-8 if it decodes, else cp1251."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace"), "cp1251"


def split_fields(line: str, delim: str) -> tuple[list[str], bool]:
    """Fields of one line, and whether any was quoted. A field that starts and ends with a quote
    is a spreadsheet's quoted field ("" inside is one quote); quotes anywhere else are literal,
    as in the regulator's own unquoted files (ООО "Т2 Мобайл")."""
    if '"' not in line:
        return [f.strip(_PAD) for f in line.split(delim)], False
    out: list[str] = []
    quoted_any = False
    i, n = 0, len(line)
    while True:
        j = i
        while j < n and line[j] in _PAD and line[j] != delim:
            j += 1
        field, end = _quoted_field(line, j, delim) if j < n and line[j] == '"' else (None, -1)
        if field is not None:
            out.append(field)
            quoted_any = True
            if end >= n:
                return out, quoted_any
            i = end + 1
            continue
        k = line.find(delim, i)
        if k < 0:
            out.append(line[i:].strip(_PAD))
            return out, quoted_any
        out.append(line[i:k].strip(_PAD))
        i = k + 1


def _quoted_field(line: str, j: int, delim: str) -> tuple[str | None, int]:
    """Parse a quoted field starting at line[j] == '"'; (None, -1) if it is not one."""
    buf: list[str] = []
    k, n = j + 1, len(line)
    while k < n:
        ch = line[k]
        if ch == '"':
            if k + 1 < n and line[k + 1] == '"':
                buf.append('"')
                k += 2
                continue
            m = k + 1
            while m < n and line[m] in _PAD and line[m] != delim:
                m += 1
            if m >= n or line[m] == delim:
                return "".join(buf), m
            return None, -1
        buf.append(ch)
        k += 1
    return None, -1


def _header_columns(fields: list[str]) -> tuple[str, ...] | None:
    """Canonical names of the header's columns, or None if this is not a registry header."""
    names = []
    for f in fields:
        low = f.lower().replace("ё", "е").replace(" ", "").replace('"', "")
        if "def" in low or "авс" in low or "abc" in low:
            names.append(CODE)
        elif low in ("от", "from"):
            names.append(FROM)
        elif low in ("до", "to"):
            names.append(TO)
        elif low.startswith("емкость") or low == "capacity":
            names.append(CAPACITY)
        elif low.startswith("оператор") or low == "operator":
            names.append(OPERATOR)
        elif low.startswith("регион") or low == "region":
            names.append(REGION)
        elif "гар" in low or "территория" in low:
            names.append(TERRITORY)
        elif low.startswith("инн") or low == "inn":
            names.append(INN)
        elif low == "":
            names.append("")       # a spreadsheet's trailing empty column
        else:
            return None
    required = {CODE, FROM, TO, OPERATOR, REGION}
    return tuple(names) if required <= set(names) else None


def _digits(value: str, field: str, max_len: int) -> int | str:
    """The number in a digit field, or the reason it is broken."""
    if not value:
        return f"{field} is empty"
    if not value.isdigit() or not value.isascii():
        return f"{value!r} is not a number"
    if len(value) > max_len:
        return f"{value!r} has more than {max_len} digits"
    return int(value)


def parse_text(text: str, file: str = "", encoding: str = "utf-8") -> ParsedFile:
    """Parse a registry file's text. Line numbers count from 1 at the header."""
    lines = text.split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip(_PAD)), None)
    if first is None:
        return ParsedFile(file, encoding, "empty", (), (RowError(1, "file", "the file is empty", file),))
    head = lines[first]
    delim = ";" if ";" in head else ("\t" if "\t" in head else ",")
    head_fields, _ = split_fields(head, delim)
    columns = _header_columns(head_fields)
    body_start = first + 1
    if columns is None:
        # No header we know: a headerless file is read by position if its first row looks right.
        columns = _POSITIONAL.get(len(head_fields))
        if columns is None or not head_fields[0].isdigit():
            return ParsedFile(file, encoding, "unknown", (), (RowError(
                first + 1, "header", f"not a numbering registry header: {head.strip(_PAD)[:80]!r}", file),))
        body_start = first
    width = len(columns)
    while width and columns[width - 1] == "":
        width -= 1
    index = {name: i for i, name in enumerate(columns[:width]) if name}
    rows: list[RangeRow] = []
    errors: list[RowError] = []
    interned: dict[str, str] = {}
    regions: dict[str, str] = {}
    quoted = tab_padded = lost_zeros = False
    for number in range(body_start, len(lines)):
        raw = lines[number]
        if not raw.strip(_PAD):
            continue
        lineno = number + 1
        fields, was_quoted = split_fields(raw, delim)
        quoted |= was_quoted
        tab_padded |= "\t" in raw and delim != "\t"
        # A spreadsheet pads short rows with empty trailing columns.
        while len(fields) > width and fields[-1] == "":
            fields.pop()
        if len(fields) != width:
            errors.append(RowError(lineno, "row", f"expected {width} fields separated by {delim!r}, "
                                                  f"found {len(fields)}", file))
            continue
        if _header_columns(fields) == columns:
            continue      # a header repeated where files were concatenated
        get = fields.__getitem__
        code_text = get(index[CODE])
        if not (len(code_text) == 3 and code_text.isdigit() and code_text.isascii() and code_text[0] != "0"):
            errors.append(RowError(lineno, CODE, f"{code_text!r} is not a 3-digit code", file))
            continue
        start = _digits(get(index[FROM]), FROM, 7)
        if isinstance(start, str):
            errors.append(RowError(lineno, FROM, start, file))
            continue
        end = _digits(get(index[TO]), TO, 7)
        if isinstance(end, str):
            errors.append(RowError(lineno, TO, end, file))
            continue
        lost_zeros |= len(get(index[FROM])) < 7 or len(get(index[TO])) < 7
        if end < start:
            errors.append(RowError(lineno, TO, f"{end:07d} is below От {start:07d}", file))
            continue
        if CAPACITY in index:
            capacity = _digits(get(index[CAPACITY]), CAPACITY, 8)
            if isinstance(capacity, str):
                errors.append(RowError(lineno, CAPACITY, capacity, file))
                continue
            if capacity != end - start + 1:
                errors.append(RowError(lineno, CAPACITY, f"{capacity} does not match До − От + 1 = "
                                                         f"{end - start + 1}", file))
                continue
        operator = get(index[OPERATOR])
        if not operator:
            errors.append(RowError(lineno, OPERATOR, "operator name is empty", file))
            continue
        inn = get(index[INN]) if INN in index else ""
        if inn:
            if not inn.isdigit() or not inn.isascii() or len(inn) not in (9, 10, 11, 12):
                errors.append(RowError(lineno, INN, f"{inn!r} is not a 10- or 12-digit ИНН", file))
                continue
            if len(inn) in (9, 11):
                inn = "0" + inn        # a spreadsheet dropped the leading zero (regions 01-09)
        region_text = get(index[REGION])
        region = regions.get(region_text)
        if region is None:
            norm = normalise_region(region_text)
            region = regions[region_text] = interned.setdefault(norm, norm)
        base = int(code_text) * 10_000_000
        rows.append(RangeRow(base + start, base + end, interned.setdefault(operator, operator),
                             interned.setdefault(inn, inn), region, file, lineno))
    layout = f"{width} columns"
    if tab_padded:
        layout += ", tab-padded"
    if quoted or lost_zeros:
        layout += ", spreadsheet re-save"
    return ParsedFile(file, encoding, layout, tuple(rows), tuple(errors))


def parse_file(path: Path) -> ParsedFile:
    text, encoding = decode(path.read_bytes())
    return parse_text(text, str(path), encoding)


def _remove_overlaps(rows: list[RangeRow]) -> tuple[list[RangeRow], list[RowError]]:
    """Rows sorted by start with overlapping ones reported: the lookup needs disjoint ranges."""
    rows.sort(key=lambda r: (r.start, r.end))
    kept: list[RangeRow] = []
    errors: list[RowError] = []
    for row in rows:
        if kept and row.start <= kept[-1].end:
            prev = kept[-1]
            errors.append(RowError(row.line, FROM, (
                f"range {row.start:010d}-{row.end:010d} overlaps {prev.start:010d}-{prev.end:010d} "
                f"from {prev.file}:{prev.line}"), row.file))
            continue
        kept.append(row)
    return kept, errors


def import_files(paths: list[Path], data_dir: Path) -> ImportReport:
    """Parse registry files and publish a new registry store atomically.

    The regulator splits the plan by leading digit (ABC-3xx, ABC-4xx, ABC-8xx, DEF-9xx), so the
    imported rows replace every stored range whose code starts with a digit they cover, and keep
    the others: importing a new DEF-9xx.csv leaves the ABC ranges in place. Nothing is published
    when no file has a good row.
    """
    parsed = tuple(parse_file(p) for p in paths)
    new_rows = [r for f in parsed for r in f.rows]
    file_errors = [e for f in parsed for e in f.errors]
    if not new_rows:
        return ImportReport(parsed, _stored_count(data_dir), (), tuple(file_errors))
    digits = tuple(sorted({str(r.start)[0] for r in new_rows}))
    with store.locked(data_dir):
        kept_rows = [r for r in _stored_rows(data_dir) if str(r.start)[0] not in digits]
        rows, overlap_errors = _remove_overlaps(kept_rows + new_rows)
        arrays, meta = _build(rows)
        meta["files"] = [{"file": f.file, "encoding": f.encoding, "layout": f.layout,
                          "rows": len(f.rows), "errors": len(f.errors)} for f in parsed]
        store.publish(data_dir, REGISTRY, arrays, meta)
    return ImportReport(parsed, len(rows), digits, tuple(file_errors + overlap_errors))


def _build(rows: list[RangeRow]) -> tuple[dict[str, np.ndarray], dict]:
    operators: dict[tuple[str, str], int] = {}
    regions: dict[str, int] = {}
    op_idx = np.empty(len(rows), dtype=np.uint32)
    region_idx = np.empty(len(rows), dtype=np.uint32)
    for i, r in enumerate(rows):
        op_idx[i] = operators.setdefault((r.operator, r.inn), len(operators))
        region_idx[i] = regions.setdefault(r.region, len(regions))
    arrays = {
        "start": np.fromiter((r.start for r in rows), dtype=np.int64, count=len(rows)),
        "end": np.fromiter((r.end for r in rows), dtype=np.int64, count=len(rows)),
        "operator": op_idx.astype(np.uint16) if len(operators) < 65536 else op_idx,
        "region": region_idx.astype(np.uint16) if len(regions) < 65536 else region_idx,
    }
    meta = {
        "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": len(rows),
        "operators": [{"name": name, "inn": inn} for name, inn in operators],
        "regions": list(regions),
    }
    return arrays, meta


def _stored_rows(data_dir: Path) -> list[RangeRow]:
    """The published registry as rows, to keep the ranges an import does not replace."""
    directory = store.current(data_dir, REGISTRY)
    if directory is None:
        return []
    arrays, meta = store.load_arrays(directory, REGISTRY_ARRAYS)
    ops = meta["operators"]
    regions = meta["regions"]
    return [RangeRow(int(s), int(e), ops[o]["name"], ops[o]["inn"], regions[g], "(stored registry)", 0)
            for s, e, o, g in zip(arrays["start"].tolist(), arrays["end"].tolist(),
                                  arrays["operator"].tolist(), arrays["region"].tolist())]


def _stored_count(data_dir: Path) -> int:
    directory = store.current(data_dir, REGISTRY)
    if directory is None:
        return 0
    return int(store.read_meta(directory)["rows"])
