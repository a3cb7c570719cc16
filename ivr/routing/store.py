"""Atomic publication of the numbering stores under the data directory.

A store is a directory of .npy arrays and a meta.json. `name` (e.g. "registry") is a symlink to
the current version; a new version is written beside it and the link is swapped with one rename,
so a reader sees the old store or the new one, never a half-written one. Readers that still map
the old files keep them until they let go (Linux keeps unlinked files while mapped).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Serialises writers (CLI imports, overrides from the API) on one data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current(data_dir: Path, name: str) -> Path | None:
    """The directory of the published version of a store, or None if never published."""
    link = data_dir / name
    return link.resolve() if link.exists() else None


def publish(data_dir: Path, name: str, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write a new version of store `name` and make it current in one atomic step."""
    data_dir.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=data_dir))
    published = False
    try:
        for key, array in arrays.items():
            np.save(new / f"{key}.npy", np.ascontiguousarray(array))
        (new / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        for child in new.iterdir():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())
        new.chmod(0o755)
        old = current(data_dir, name)
        tmp_link = data_dir / f".{name}.link-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        tmp_link.symlink_to(new.name)
        os.replace(tmp_link, data_dir / name)
        published = True
    finally:
        if not published:
            shutil.rmtree(new, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                (data_dir / f".{name}.link-{os.getpid()}").unlink()
    if old is not None and old != new:
        shutil.rmtree(old, ignore_errors=True)
    return new


def load_arrays(directory: Path, keys: tuple[str, ...]) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays memory-mapped read-only (plain ndarray views: the memmap subclass is slower to call),
    and the meta."""
    arrays = {k: np.load(directory / f"{k}.npy", mmap_mode="r").view(np.ndarray) for k in keys}
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    return arrays, meta


def write_json_atomic(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    done = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def read_json(path: Path, default: Callable[[], object]) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default()
