"""The numbering stores read without numpy: .npy files mapped as memoryviews."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ivr.errors import InvalidInput
from ivr.routing import store


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32, np.uint32, np.uint16, np.uint8])
def test_map_arrays_reads_what_numpy_wrote(tmp_path: Path, dtype: type) -> None:
    values = np.array([0, 1, 7, 250, np.iinfo(dtype).max], dtype=dtype)
    published = store.publish(tmp_path, "s", {"a": values, "empty": np.empty(0, dtype)}, {"n": 5})
    views, meta = store.map_arrays(published, ("a", "empty"))
    assert views["a"].tolist() == values.tolist() and len(views["empty"]) == 0
    assert meta == {"n": 5} and type(views["a"][4]) is int


def test_map_arrays_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    np.save(tmp_path / "floats.npy", np.zeros(3))
    np.save(tmp_path / "matrix.npy", np.zeros((2, 2), np.int64))
    np.save(tmp_path / "short.npy", np.arange(100, dtype=np.int64))
    (tmp_path / "short.npy").write_bytes((tmp_path / "short.npy").read_bytes()[:-8])
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "meta.json").write_text("{}")
    for name in ("floats", "matrix", "short", "junk", "empty"):
        with pytest.raises(InvalidInput, match=f"{tmp_path / name}.npy: not a one-dimensional .npy array"):
            store.map_arrays(tmp_path, (name,))
    with pytest.raises(FileNotFoundError):
        store.map_arrays(tmp_path, ("absent",))
