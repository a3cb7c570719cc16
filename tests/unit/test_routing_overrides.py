from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import InvalidInput
from ivr.routing.overrides import load_overrides, remove_override, set_override


def test_overrides_roundtrip(tmp_path: Path) -> None:
    set_override(tmp_path, "+79161234567", "beeline")
    set_override(tmp_path, "+79261234567", "mts")
    assert load_overrides(tmp_path) == {"+79161234567": "beeline", "+79261234567": "mts"}
    assert remove_override(tmp_path, "+79161234567") is True
    assert remove_override(tmp_path, "+79161234567") is False
    assert load_overrides(tmp_path) == {"+79261234567": "mts"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".overrides")] == []


@pytest.mark.parametrize("number, carrier", [("89161234567", "mts"), ("+79161234567", "Мегафон"),
                                             ("+79161234567", "mts;x"), ("+7916&", "mts")])
def test_overrides_reject_bad_input(tmp_path: Path, number: str, carrier: str) -> None:
    with pytest.raises(InvalidInput):
        set_override(tmp_path, number, carrier)
