"""Ported numbers: the Russian portability database's dumps and increments imported into a store.

The store is two arrays: the 10-digit national numbers, sorted (int64), and a carrier index
(uint8) into a small table in meta.json; 10 million numbers take 90 MB. Lookups use a bucket index
published beside them instead of the int64 array: numbers sharing all but their last four digits
form a bucket, `bounds` says where each bucket starts and `low` holds the last four digits (uint16),
so a lookup is a bisect over about a hundred small values of one bucket (10 million numbers: 20 MB
of `low` plus a bounds array of 8 bytes per bucket spanned, 0.8 MB for the 9xx codes). The
lookup reads it without numpy (`ivr.routing.lookup.load_ported_index`); importing needs numpy.
"""
from __future__ import annotations

import io
import time
import zipfile
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import numpy as np

from ivr.errors import InvalidInput
from ivr.routing import store
from ivr.routing.carriers import MNC_CARRIERS, CarrierTable
from ivr.routing.layout import BUCKET, PORTED, PORTED_ARRAYS
from ivr.routing.registry import RowError

Kind = Literal["full", "port", "return"]


@dataclass(frozen=True)
class PortedReport:
    file: str
    kind: Kind
    rows: int                    # good rows read from the file
    total: int                   # ported numbers stored after the import
    errors: tuple[RowError, ...]


def kind_for(name: str) -> Kind:
    """What a file is, by the operators' naming: Port_All_* (full dump), Port_Increment_*,
    Return_Increment_* (numbers gone back to their original operator)."""
    low = Path(name).name.lower()
    if "return" in low:
        return "return"
    if "increment" in low:
        return "port"
    return "full"


@contextmanager
def _texts(path: Path) -> Iterator[list[tuple[str, TextIO]]]:
    """The CSV texts of a file, or of every .csv in a zip."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/")]
            csvs = [m for m in members if m.lower().endswith(".csv")] or members
            handles = [(f"{path}!{m}", io.TextIOWrapper(zf.open(m), encoding="utf-8-sig", newline=""))
                       for m in csvs]
            try:
                yield handles
            finally:
                for _, fh in handles:
                    fh.close()
    else:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            yield [(str(path), fh)]


def _read(name: str, fh: TextIO, table: CarrierTable, carriers: dict[str, int],
          numbers: array, indexes: array, errors: list[RowError]) -> int:
    """Append a dump's rows to numbers/indexes; returns the number of good rows."""
    owners: dict[tuple[str, str], int] = {}     # (OwnerId, MNC) -> carrier index
    good = 0
    for lineno, line in enumerate(fh, 1):
        parts = line.rstrip("\r\n").split(",", 3)
        number = parts[0].strip('" ')
        if lineno == 1 and number.lower() == "number":
            continue
        if len(parts) < 3:
            if line.strip():
                errors.append(RowError(lineno, "row", f"expected Number,OwnerId,MNC,..., found "
                                                      f"{len(parts)} field(s)", name))
            continue
        if len(number) != 10 or not number.isdigit() or not number.isascii():
            errors.append(RowError(lineno, "Number", f"{number[:20]!r} is not a 10-digit number", name))
            continue
        key = (parts[1], parts[2])
        index = owners.get(key)
        if index is None:
            owner, mnc = parts[1].strip('" '), parts[2].strip('" ')
            carrier = MNC_CARRIERS.get(mnc.zfill(2) if mnc.isdigit() else mnc) or table.for_owner_id(owner)
            if carrier is None:
                errors.append(RowError(lineno, "MNC", f"neither MNC {mnc!r} nor OwnerId {owner!r} "
                                                      "names a carrier", name))
                continue
            index = carriers.setdefault(carrier, len(carriers))
            if index > 255:
                raise InvalidInput(f"{name}: more than 256 carriers in the ported numbers")
            owners[key] = index
        numbers.append(int(number))
        indexes.append(index)
        good += 1
    return good


def _last_wins(numbers: np.ndarray, carriers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique numbers; for a number listed more than once the later row counts."""
    order = np.argsort(numbers, kind="stable")
    numbers, carriers = numbers[order], carriers[order]
    last = np.ones(len(numbers), dtype=bool)
    last[:-1] = numbers[1:] != numbers[:-1]
    return numbers[last], carriers[last]


def load(data_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The stored ported numbers (memory-mapped), their carrier indexes and the carrier table."""
    directory = store.current(data_dir, PORTED)
    if directory is None:
        return np.empty(0, np.int64), np.empty(0, np.uint8), []
    arrays, meta = store.load_arrays(directory, PORTED_ARRAYS)
    return arrays["number"], arrays["carrier"], list(meta["carriers"])


def bucket_index(numbers: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """base, bounds and low of sorted numbers (ivr.routing.layout.PORTED_INDEX)."""
    if not len(numbers):
        return 0, np.zeros(1, np.int64), np.empty(0, np.uint16)
    buckets = numbers // BUCKET
    base = int(buckets[0])
    bounds = np.searchsorted(buckets, np.arange(base, int(buckets[-1]) + 2, dtype=np.int64)).astype(np.int64)
    return base, bounds, (numbers % BUCKET).astype(np.uint16)


def import_file(path: Path, data_dir: Path, table: CarrierTable, kind: Kind | None = None) -> PortedReport:
    """Load a full dump (replaces the store), a port increment (applied on top) or a return
    increment (its numbers are no longer ported), and publish the result atomically."""
    kind = kind or kind_for(path.name)
    carriers: dict[str, int] = {}
    numbers, indexes = array("q"), array("B")
    errors: list[RowError] = []
    good = 0
    with _texts(path) as texts:
        for name, fh in texts:
            good += _read(name, fh, table, carriers, numbers, indexes, errors)
    new_numbers = np.frombuffer(numbers, dtype=np.int64) if numbers else np.empty(0, np.int64)
    new_carriers = np.frombuffer(indexes, dtype=np.uint8) if indexes else np.empty(0, np.uint8)
    with store.locked(data_dir):
        old_numbers, old_carriers, old_table = load(data_dir)
        if kind == "full":
            if not good:
                return PortedReport(str(path), kind, 0, len(old_numbers), tuple(errors))
            result = _last_wins(new_numbers, new_carriers)
            names = list(carriers)
        elif kind == "return":
            keep = ~np.isin(old_numbers, new_numbers)
            result, names = (old_numbers[keep], old_carriers[keep]), old_table
        else:
            names = list(old_table)
            for carrier in carriers:
                if carrier not in names:
                    names.append(carrier)
            if len(names) > 256:
                raise InvalidInput(f"{path}: more than 256 carriers in the ported numbers")
            remap = np.array([names.index(c) for c in carriers], dtype=np.uint8)
            result = _last_wins(np.concatenate([old_numbers, new_numbers]),
                                np.concatenate([old_carriers, remap[new_carriers]]))
        base, bounds, low = bucket_index(result[0])
        meta = {"carriers": names, "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "last_file": str(path), "last_kind": kind, "numbers": int(len(result[0])),
                "bucket_base": base}
        store.publish(data_dir, PORTED, {"number": result[0], "carrier": result[1],
                                        "bounds": bounds, "low": low}, meta)
    return PortedReport(str(path), kind, good, len(result[0]), tuple(errors))
