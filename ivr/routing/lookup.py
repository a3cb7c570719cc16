"""Which carrier owns a number, and which source decided it.

Order: a manual override, the ported-numbers database, the national numbering registry, the
prefix table (Ukrainian mobile codes), phonenumbers' carrier data (original allocation only),
else unknown. Region and time zone come from the registry's range even when another source names
the carrier (a ported number keeps its region).

Speed (target under 2 µs a lookup; bench/bench_numbering.py measures it): both searches are the
stdlib's bisect over a narrowed slice. Ported numbers: a bucket index (ivr.routing.ported.PortedIndex)
leaves about a hundred uint16 values to bisect through a memoryview of the memory-mapped array
(numpy's searchsorted on a scalar cost over 1 µs, mostly argument boxing, and cache misses over
80 MB). The registry's 317,000 range starts are a plain list; a first-level index by the first
five digits (0.8 MB) bounds the bisect to a few ranges. Memoryviews hand back plain ints without numpy scalar overhead.
"""
from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import phonenumbers

from ivr.routing import ported, registry, store
from ivr.routing.carriers import CarrierTable
from ivr.routing.numbers import InvalidNumber
from ivr.routing.regions import DEFAULT_TIMEZONE, timezone_for_region

BLOCK = 100_000                # registry index: national numbers by their first five digits
BLOCKS = 10_000_000_000 // BLOCK
Source = Literal["override", "ported", "registry", "table", "phonenumbers", "unknown"]


class CarrierInfo(NamedTuple):
    """The answer of a lookup. A NamedTuple rather than a frozen dataclass: it is built on every
    lookup, and a frozen dataclass's __init__ alone costs more than the whole search."""
    number: str               # E.164
    carrier: str | None       # our key (megafon, mts, ..., or an unknown operator's own name)
    carrier_source: Source
    operator: str             # the registry's operator name, '' when not in the registry
    region: str
    timezone: str


_new_info = tuple.__new__


class CarrierLookup:
    """Loads the stores under `data_dir` (memory-mapped) and answers lookups.

    `refresh()` reloads whatever another process (the CLI) has republished since.
    """

    def __init__(self, data_dir: Path, table: CarrierTable | None = None):
        self._data_dir = data_dir
        self._table = table or CarrierTable()
        self._stamp: tuple = ()
        self._load()

    def _current_stamp(self) -> tuple:
        try:
            overrides = os.stat(self._data_dir / ported.OVERRIDES).st_mtime_ns
        except FileNotFoundError:
            overrides = 0
        return (store.current(self._data_dir, registry.STORE),
                store.current(self._data_dir, ported.STORE), overrides)

    def _load(self) -> None:
        self._stamp = self._current_stamp()
        directory = self._stamp[0]
        if directory is None:
            starts = ends = np.empty(0, np.int64)
            op_idx = region_idx = np.empty(0, np.uint16)
            operators: list[dict] = []
            regions: list[str] = []
        else:
            arrays, meta = store.load_arrays(directory, registry.ARRAYS)
            starts, ends, op_idx, region_idx = (arrays[k] for k in registry.ARRAYS)
            operators, regions = meta["operators"], meta["regions"]
        self._starts = starts.tolist()
        # the ranges starting within block b (national // BLOCK) are _blocks[b]:_blocks[b + 1]; any
        # other start is below the block (so before the slice) or above the number
        self._blocks = memoryview(np.searchsorted(starts, np.arange(0, BLOCKS + 1, dtype=np.int64) * BLOCK))
        self._ends = memoryview(ends)
        # one prepared answer per distinct (operator, region) pair: one read per lookup, not four
        pairs, pair_idx = np.unique(op_idx.astype(np.int64) * max(1, len(regions)) + region_idx,
                                    return_inverse=True)
        self._pair_idx = memoryview(pair_idx.astype(np.uint32))
        named = [(self._table.for_operator(o["name"], o["inn"]), o["name"]) for o in operators]
        zoned = [(r, timezone_for_region(r)) for r in regions]
        self._answers = [(*named[p // max(1, len(regions))], *zoned[p % max(1, len(regions))])
                         for p in pairs.tolist()]
        index = ported.load_index(self._data_dir)
        self._ported_base = index.base
        self._ported_buckets = len(index.bounds) - 1
        self._ported_bounds = memoryview(index.bounds)
        self._ported_low = memoryview(index.low)
        self._ported_carrier = memoryview(index.carrier)
        self._ported_count = len(index.low)
        self._ported_names = index.names
        self._overrides = ported.load_overrides(self._data_dir)

    def refresh(self) -> bool:
        """Reload if a store or the overrides changed on disk; True if it did."""
        if self._current_stamp() == self._stamp:
            return False
        self._load()
        return True

    @property
    def counts(self) -> dict[str, int]:
        return {"ranges": len(self._starts), "ported": self._ported_count, "overrides": len(self._overrides)}

    def lookup(self, number: str) -> CarrierInfo:
        """Carrier, operator, region and time zone of an E.164 number (see ivr.routing.numbers
        .normalize for anything people typed)."""
        if number[:1] != "+" or not number[1:].isdigit() or not number.isascii():
            raise InvalidNumber(f"{number!r} is not an E.164 number")
        carrier: str | None = self._overrides.get(number) if self._overrides else None
        source: Source = "override"
        operator = region = timezone = ""
        if number.startswith("+7") and len(number) == 12:
            national = int(number[2:])
            if carrier is None:
                bucket, low = divmod(national, ported.BUCKET)
                bucket -= self._ported_base
                if 0 <= bucket < self._ported_buckets:
                    bounds = self._ported_bounds
                    hi = bounds[bucket + 1]
                    i = bisect_left(self._ported_low, low, bounds[bucket], hi)
                    if i < hi and self._ported_low[i] == low:
                        carrier, source = self._ported_names[self._ported_carrier[i]], "ported"
            block = national // BLOCK
            j = bisect_right(self._starts, national, self._blocks[block], self._blocks[block + 1]) - 1
            if j >= 0 and national <= self._ends[j]:
                op_carrier, operator, region, timezone = self._answers[self._pair_idx[j]]
                if carrier is None:
                    carrier, source = op_carrier, "registry"
        if carrier is None:
            carrier, source = self._table.for_prefix(number), "table"
        if carrier is None or not timezone:
            carrier, source, timezone = self._from_phonenumbers(number, carrier, source, timezone)
        # tuple.__new__ skips the NamedTuple's generated __new__, a Python call of its own
        return _new_info(CarrierInfo, (number, carrier, source, operator, region, timezone))

    def _from_phonenumbers(self, number: str, carrier: str | None, source: Source,
                           timezone: str) -> tuple[str | None, Source, str]:
        """The last resort for the carrier, and the time zone when the registry gave none."""
        # Imported here: their data take longer to load than `ivr route` may (the registry answers most).
        from phonenumbers import carrier as pn_carrier
        from phonenumbers import timezone as pn_timezone
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            raise InvalidNumber(f"{number!r} is not an E.164 number") from None
        country = phonenumbers.region_code_for_number(parsed) or ""
        if carrier is None:
            name = pn_carrier.name_for_number(parsed, "en")
            carrier = self._table.for_phonenumbers(name, country) if name else None
            source = "phonenumbers" if carrier else "unknown"
        if not timezone:
            zones = [z for z in pn_timezone.time_zones_for_number(parsed) if z != "Etc/Unknown"]
            if len(zones) == 1:
                timezone = zones[0]
            elif country == "RU":
                timezone = DEFAULT_TIMEZONE
            else:
                timezone = zones[0] if zones else ""
        return carrier, source, timezone
