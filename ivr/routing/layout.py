"""The numbering stores under the data directory, named once: the importers (`registry.py`,
`ported.py`, with numpy) write them, the lookup (`lookup.py`, standard library only) reads them."""
from __future__ import annotations

REGISTRY = "registry"
REGISTRY_ARRAYS = ("start", "end", "operator", "region")   # one row per range, sorted by start

PORTED = "ported"
PORTED_ARRAYS = ("number", "carrier")   # sorted 10-digit national numbers, carrier index (uint8)
# The ported lookup's bucket index: numbers sharing all but their last four digits form a bucket;
# `bounds` says where each bucket starts, `low` holds the last four digits (uint16).
PORTED_INDEX = ("bounds", "low")
BUCKET = 10_000

OVERRIDES = "overrides.json"            # manual overrides (ivr.routing.overrides)
