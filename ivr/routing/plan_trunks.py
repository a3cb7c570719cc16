"""The plan's country and trunks as a route decision needs them, for commands that run without the
service (`ivr route`), kept in var/cache/plan-trunks.json between runs.

Reading and validating the whole plan costs more than the rest of `ivr route` together, and a
decision needs only these few values. They are taken from the cache only when the plan file,
the secrets file and the code that reads them (size and time of every source of ivr/plan and the
YAML reader, like Python's own .pyc) are the ones they were taken from; anything else loads and
validates the plan in full, so a broken plan still fails with its problems at FILE:LINE:COL and
is never cached. A cache that cannot be written (another user's var/) is simply not kept.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from ivr.config import Settings
from ivr.routing import store
from ivr.routing.choose import Trunk, route_trunk

CACHE_FILE = "cache/plan-trunks.json"
_IVR = Path(__file__).resolve().parent.parent
# What decides the plan's verdict besides its files: the plan package and the YAML reader.
_READER_CODE = (_IVR / "plan", _IVR / "yaml_reader.py", Path(__file__).resolve(),
                _IVR / "routing" / "choose.py")


def plan_trunks(settings: Settings) -> tuple[str, tuple[Trunk, ...]]:
    """(country, trunks) of the plan in settings, from the cache when it is still that plan's."""
    plan_path, secrets_path = settings.path(settings.plan_file), settings.path(settings.secrets_file)
    cache = settings.var / CACHE_FILE
    try:
        key = _key(plan_path, secrets_path)
    except OSError:                       # unreadable: the full load says so at FILE
        key = None
    if key is not None and (cached := _read(cache, key)) is not None:
        return cached
    from ivr.plan.loader import load_plan     # only on a miss: the reader is most of the cost
    plan = load_plan(plan_path, secrets_path=secrets_path)
    country, trunks = plan.country, tuple(route_trunk(t) for t in plan.trunks.values())
    if key is not None:
        try:
            store.write_json_atomic(cache, {"key": key, "country": country,
                                            "trunks": [dataclasses.asdict(t) for t in trunks]})
        except OSError:
            pass                          # not ours to write: the next run validates again
    return country, trunks


def _key(plan_path: Path, secrets_path: Path) -> str:
    digest = hashlib.sha256()
    for path in (plan_path, secrets_path):
        digest.update(f"{path}\0".encode())
        try:
            digest.update(path.read_bytes())
        except FileNotFoundError:
            digest.update(b"\0absent")
        digest.update(b"\0")
    for source in _code_stamp():
        digest.update(source.encode())
    return digest.hexdigest()


def _code_stamp() -> list[str]:
    """Path, size and modification time of every source the plan's verdict depends on."""
    stamps = []
    for root in _READER_CODE:
        if root.is_dir():
            for directory, _dirs, files in os.walk(root):
                for name in files:
                    if name.endswith(".py"):
                        stamps.append(_stamp(os.path.join(directory, name)))
        else:
            stamps.append(_stamp(str(root)))
    return sorted(stamps)


def _stamp(path: str) -> str:
    st = os.stat(path)
    return f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0"


def _read(cache: Path, key: str) -> tuple[str, tuple[Trunk, ...]] | None:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data["key"] != key:
            return None
        return str(data["country"]), tuple(Trunk(**{**t, "carriers": tuple(t["carriers"])})
                                           for t in data["trunks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None                       # absent, torn or from another version: load the plan
