"""Atomic publication of the numbering stores under the data directory.

A store is a directory of .npy arrays and a meta.json. `name` (e.g. "registry") is a symlink to
the current version; a new version is written beside it and the link is swapped with one rename,
so a reader sees the old store or the new one, never a half-written one. Readers that still map
the old files keep them until they let go (Linux keeps unlinked files while mapped).

Writers (the importers) use numpy; readers map the arrays with the standard library only
(`map_arrays`), so a lookup, `ivr route` among them, never loads numpy (a tenth of a second).
"""
from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import mmap
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

# .npy element types the stores use -> memoryview formats (native byte order, as np.save wrote them)
_FORMATS = {"i8": "q", "u8": "Q", "i4": "i", "u4": "I", "u2": "H", "u1": "B"}
_NATIVE = "<" if sys.byteorder == "little" else ">"


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
    import numpy as np
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
    import numpy as np
    arrays = {k: np.load(directory / f"{k}.npy", mmap_mode="r").view(np.ndarray) for k in keys}
    return arrays, read_meta(directory)


def map_arrays(directory: Path, keys: tuple[str, ...]) -> tuple[dict[str, memoryview], dict]:
    """Arrays memory-mapped read-only as flat memoryviews (indexing gives plain ints), and the meta;
    numpy is not imported. FileNotFoundError when an array is not in the store."""
    return {k: _map_npy(directory / f"{k}.npy") for k in keys}, read_meta(directory)


def read_meta(directory: Path) -> dict:
    return json.loads((directory / "meta.json").read_text(encoding="utf-8"))


def _map_npy(path: Path) -> memoryview:
    """A one-dimensional .npy file (format 1.0 to 3.0) of native integers as a memoryview."""
    with open(path, "rb") as fh:
        try:
            view = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
        except ValueError:                   # an empty file
            view = memoryview(b"")
    try:
        if view[:6] != b"\x93NUMPY" or view[6] not in (1, 2, 3):
            raise ValueError("no .npy magic")
        size_format, start = ("<H", 10) if view[6] == 1 else ("<I", 12)
        end = start + struct.unpack_from(size_format, view, 8)[0]
        header = ast.literal_eval(bytes(view[start:end]).decode("latin-1"))
        descr, (count,) = header["descr"], header["shape"]
        if descr[0] not in (_NATIVE, "|") or header["fortran_order"]:
            raise ValueError(f"byte order or layout of {descr!r}")
        form = _FORMATS[descr[1:]]
        size = count * struct.calcsize(form)
        if len(view) < end + size:
            raise ValueError("the file is shorter than its header says")
    except (ValueError, SyntaxError, TypeError, KeyError, IndexError, struct.error) as e:
        raise InvalidInput(f"{path}: not a one-dimensional .npy array of native integers ({e})") from None
    return view[end:end + size].cast(form)


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
