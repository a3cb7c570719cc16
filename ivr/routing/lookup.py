"""Which carrier owns a number, and which source decided it.

Order: a manual override, the ported-numbers database, the national numbering registry, the
prefix table (Ukrainian mobile codes), phonenumbers' carrier data (original allocation only),
else unknown. Region and time zone come from the registry's range even when another source names
the carrier (a ported number keeps its region).

Speed (target under 2 µs a lookup; bench/bench_numbering.py measures it): both searches are the
stdlib's bisect over a narrowed slice of a memory-mapped array, read as a memoryview (plain ints, no
numpy scalar overhead; numpy's searchsorted on a scalar cost over 1 µs, mostly argument boxing).
Ported numbers: a bucket index (ivr.routing.layout.PORTED_INDEX) leaves about a hundred uint16
values to bisect. The registry's 317,000 range starts: a first-level index by the first five digits
bounds the bisect to a few ranges. Loading is free of numpy and of work proportional to the store
(`ivr route` opens the lookup for one number): that index, like each range's prepared answer, is
filled the first time a number needs it.
"""
from __future__ import annotations

import os
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from ivr.routing import store
from ivr.routing.carriers import CarrierTable
from ivr.routing.layout import BUCKET, OVERRIDES, PORTED, PORTED_ARRAYS, PORTED_INDEX, REGISTRY, REGISTRY_ARRAYS
from ivr.routing.numbers import InvalidNumber
from ivr.routing.overrides import load_overrides
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


@dataclass(frozen=True)
class PortedIndex:
    """The lookup side of the ported store: the numbers of bucket `n // BUCKET - base` are at
    bounds[b]:bounds[b + 1], their last four digits in `low`, their carriers in `carrier`."""
    base: int
    bounds: memoryview           # int64, one more than the buckets spanned
    low: memoryview              # uint16
    carrier: memoryview          # uint8
    names: list[str]


def load_ported_index(data_dir: Path) -> PortedIndex:
    """The bucket index, memory-mapped; built in memory (with numpy) for a store published without one."""
    directory = store.current(data_dir, PORTED)
    if directory is None:
        return PortedIndex(0, memoryview(array("q", [0])), memoryview(array("H")), memoryview(array("B")), [])
    try:
        views, meta = store.map_arrays(directory, (*PORTED_INDEX, "carrier"))
        base = int(meta["bucket_base"])
    except (FileNotFoundError, KeyError):
        from ivr.routing.ported import bucket_index     # numpy: only for such an old store
        arrays, meta = store.load_arrays(directory, PORTED_ARRAYS)
        base, bounds, low = bucket_index(arrays["number"])
        views = {"bounds": memoryview(bounds), "low": memoryview(low), "carrier": memoryview(arrays["carrier"])}
    return PortedIndex(base, views["bounds"], views["low"], views["carrier"], list(meta["carriers"]))


class CarrierLookup:
    """Loads the stores under `data_dir` (memory-mapped) and answers lookups.

    `refresh()` reloads whatever another process (the CLI) has republished since. Lookups and
    refreshes belong to one thread (the event loop's): a lookup fills indexes a refresh replaces.
    """

    def __init__(self, data_dir: Path, table: CarrierTable | None = None):
        self._data_dir = data_dir
        self._table = table or CarrierTable()
        self._stamp: tuple = ()
        self._load()

    def _current_stamp(self) -> tuple:
        try:
            overrides = os.stat(self._data_dir / OVERRIDES).st_mtime_ns
        except FileNotFoundError:
            overrides = 0
        return (store.current(self._data_dir, REGISTRY), store.current(self._data_dir, PORTED), overrides)

    def _load(self) -> None:
        self._stamp = self._current_stamp()
        directory = self._stamp[0]
        if directory is None:
            views = {k: memoryview(array("q")) for k in REGISTRY_ARRAYS}
            meta: dict = {"operators": [], "regions": []}
        else:
            views, meta = store.map_arrays(directory, REGISTRY_ARRAYS)
        self._starts, self._ends = views["start"], views["end"]
        self._operator, self._region = views["operator"], views["region"]
        self._operators, self._regions = meta["operators"], meta["regions"]
        # the ranges starting within block b (national // BLOCK) are _blocks[b]:_blocks[b + 1] (-1: not
        # yet known); any other start is below the block (so before the slice) or above the number
        self._blocks = array("q", [-1]) * (BLOCKS + 1)
        # per range, its index in _answers (-1: not yet known): one prepared answer per distinct
        # (operator, region) pair, so a lookup makes one read, not four
        self._answer_of_range = array("i", [-1]) * len(self._starts)
        self._answers: list[tuple[str | None, str, str, str]] = []
        self._answer_of_pair: dict[tuple[int, int], int] = {}
        index = load_ported_index(self._data_dir)
        self._ported_base = index.base
        self._ported_buckets = len(index.bounds) - 1
        self._ported_bounds = index.bounds
        self._ported_low = index.low
        self._ported_carrier = index.carrier
        self._ported_count = len(index.low)
        self._ported_names = index.names
        self._overrides = load_overrides(self._data_dir)

    def _block(self, block: int) -> tuple[int, int]:
        """The slice of ranges starting within `block`, found once."""
        for b in (block, block + 1):
            if self._blocks[b] < 0:
                self._blocks[b] = bisect_left(self._starts, b * BLOCK)
        return self._blocks[block], self._blocks[block + 1]

    def _answer(self, j: int) -> int:
        """The index in _answers of range j's (carrier, operator, region, time zone), made once."""
        pair = (self._operator[j], self._region[j])
        found = self._answer_of_pair.get(pair)
        if found is None:
            operator, region = self._operators[pair[0]], self._regions[pair[1]]
            found = self._answer_of_pair[pair] = len(self._answers)
            self._answers.append((self._table.for_operator(operator["name"], operator["inn"]),
                                  operator["name"], region, timezone_for_region(region)))
        self._answer_of_range[j] = found
        return found

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
                bucket, low = divmod(national, BUCKET)
                bucket -= self._ported_base
                if 0 <= bucket < self._ported_buckets:
                    bounds = self._ported_bounds
                    hi = bounds[bucket + 1]
                    i = bisect_left(self._ported_low, low, bounds[bucket], hi)
                    if i < hi and self._ported_low[i] == low:
                        carrier, source = self._ported_names[self._ported_carrier[i]], "ported"
            block = national // BLOCK
            lo, hi = self._blocks[block], self._blocks[block + 1]
            if lo < 0 or hi < 0:
                lo, hi = self._block(block)
            j = bisect_right(self._starts, national, lo, hi) - 1
            if j >= 0 and national <= self._ends[j]:
                answer = self._answer_of_range[j]
                if answer < 0:
                    answer = self._answer(j)
                op_carrier, operator, region, timezone = self._answers[answer]
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
        # Imported here, each only when asked: their data take longer to load than `ivr route` may
        # (the registry answers most; the prefix table's numbers need only a time zone).
        import phonenumbers
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            raise InvalidNumber(f"{number!r} is not an E.164 number") from None
        country = phonenumbers.region_code_for_number(parsed) or ""
        if carrier is None:
            from phonenumbers import carrier as pn_carrier
            name = pn_carrier.name_for_number(parsed, "en")
            carrier = self._table.for_phonenumbers(name, country) if name else None
            source = "phonenumbers" if carrier else "unknown"
        if not timezone:
            from phonenumbers import timezone as pn_timezone
            zones = [z for z in pn_timezone.time_zones_for_number(parsed) if z != "Etc/Unknown"]
            if len(zones) == 1:
                timezone = zones[0]
            elif country == "RU":
                timezone = DEFAULT_TIMEZONE
            else:
                timezone = zones[0] if zones else ""
        return carrier, source, timezone
