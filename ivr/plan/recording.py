"""The plan's `recording:` section (consent prompt, stereo, retention) into RecordingPolicy.

Which calls are recorded is said where they are: `record: yes` on a company number, a hunt,
forward or queue node, or a staff phone (its outside calls). Problems at FILE:LINE:COL.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.plan.model import RecordingPolicy

if TYPE_CHECKING:                      # validate imports this module
    from ivr.yaml_reader import Fields, Reader

RECORDING_KEYS = ("consent", "stereo", "retention_days")


def read_recording(r: Reader, top: Fields) -> RecordingPolicy:
    node = top.get("recording")
    if node is None:
        return RecordingPolicy()
    f = r.mapping(node, "recording", RECORDING_KEYS)
    if f is None:
        return RecordingPolicy()
    default = RecordingPolicy()
    retention = r.optional(f, "retention_days", lambda n, k: r.number(n, f"recording.{k}", integer=True),
                           default.retention_days)

    def flag(key: str, fallback: bool) -> bool:
        return bool(r.optional(f, key, lambda n, k: r.boolean(n, f"recording.{k}"), fallback))
    return RecordingPolicy(consent=flag("consent", default.consent), stereo=flag("stereo", default.stereo),
                           retention_days=int(retention))


def record_flag(r: Reader, f: Fields, what: str) -> bool:
    """A `record:` key (yes/no) of a number, node or staff phone."""
    return bool(r.optional(f, "record", lambda n, k: r.boolean(n, f"{what}: {k}"), False))
