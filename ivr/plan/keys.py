"""Patterns of the names a plan gives, shared with packages that must not load the plan model
(the carrier table, read by `ivr route`)."""
from __future__ import annotations

import re

# A carrier key as trunks, the numbering registry and the ported numbers name carriers.
CARRIER_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
# A node id (the key under `nodes:`), also the name of an auto call-back rule.
NODE_ID = re.compile(r"[\w-]+")
