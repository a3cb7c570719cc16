from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ivr.routing import ported
from ivr.routing.carriers import CarrierTable
from ivr.routing.layout import BUCKET, PORTED
from ivr.routing.lookup import load_ported_index

DATA = Path(__file__).parent / "data"


def stored(data_dir: Path) -> dict[int, str]:
    numbers, carriers, names = ported.load(data_dir)
    assert numbers.dtype == np.int64 and carriers.dtype == np.uint8
    assert list(numbers) == sorted(set(numbers.tolist()))
    return {int(n): names[c] for n, c in zip(numbers, carriers)}


def test_full_dump_by_mnc_and_owner_id(tmp_path: Path) -> None:
    report = ported.import_file(DATA / "Port_All_test.csv", tmp_path, CarrierTable())
    assert report.kind == "full" and report.rows == 4 and report.total == 4
    assert [(e.line, e.field) for e in report.errors] == [(5, "Number"), (7, "MNC")]
    assert stored(tmp_path) == {9161234567: "megafon", 9261112233: "beeline",
                                9030000001: "tele2", 9851112233: "sbermobile"}


def test_zipped_dump(tmp_path: Path) -> None:
    archive = tmp_path / "Port_All_202611.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(DATA / "Port_All_test.csv", "Port_All_202611.csv")
    report = ported.import_file(archive, tmp_path / "store", CarrierTable())
    assert report.rows == 4
    assert report.errors[0].file.endswith("!Port_All_202611.csv")
    assert stored(tmp_path / "store")[9161234567] == "megafon"


def test_increments_apply_on_top(tmp_path: Path) -> None:
    ported.import_file(DATA / "Port_All_test.csv", tmp_path, CarrierTable())
    port = ported.import_file(DATA / "Port_Increment_test.csv", tmp_path, CarrierTable())
    assert port.kind == "port" and port.total == 5
    back = ported.import_file(DATA / "Return_Increment_test.csv", tmp_path, CarrierTable())
    assert back.kind == "return" and back.total == 4
    assert stored(tmp_path) == {9161234567: "tele2", 9167654321: "mts",
                                9030000001: "tele2", 9851112233: "sbermobile"}


def test_later_row_wins_within_a_dump(tmp_path: Path) -> None:
    dump = tmp_path / "dump.csv"
    dump.write_text("Number,OwnerId,MNC,Route,RegionCode,PortDate,RowCount\n"
                    "9161234567,mMEGAFON,02,D7702,77,2016-09-07T12:00:17+03:00,2\n"
                    "9161234567,mTELE2,20,D7720,77,2017-09-07T12:00:17+03:00,\n", encoding="utf-8")
    ported.import_file(dump, tmp_path / "s", CarrierTable(), kind="full")
    assert stored(tmp_path / "s") == {9161234567: "tele2"}


def test_bucket_index_finds_every_number_and_nothing_else(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    numbers = np.unique(np.concatenate([rng.integers(9_000_000_000, 9_000_100_000, 3000),
                                        [9_000_009_999, 9_000_010_000, 9_999_999_999]]))
    base, bounds, low = ported.bucket_index(numbers)
    assert low.dtype == np.uint16 and len(bounds) == numbers[-1] // BUCKET - base + 2

    def found(n: int) -> bool:
        b = n // BUCKET - base
        if not 0 <= b < len(bounds) - 1:
            return False
        return n % BUCKET in low[bounds[b]:bounds[b + 1]].tolist()
    assert all(found(int(n)) for n in numbers)
    stored = set(numbers.tolist())
    others = [n for n in range(9_000_009_990, 9_000_010_010) if n not in stored] + [8_999_999_999]
    assert not any(found(n) for n in others)


def test_a_store_published_without_the_index_still_loads(tmp_path: Path) -> None:
    from ivr.routing import store
    numbers = np.array([9161234567, 9261112233], dtype=np.int64)
    store.publish(tmp_path, PORTED, {"number": numbers, "carrier": np.array([1, 0], dtype=np.uint8)},
                  {"carriers": ["megafon", "mts"]})
    index = load_ported_index(tmp_path)
    assert index.names == ["megafon", "mts"] and index.low.tolist() == [4567, 2233]
    assert index.bounds[-1] == 2
