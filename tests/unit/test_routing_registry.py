from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ivr.routing import registry, store
from ivr.routing.layout import REGISTRY, REGISTRY_ARRAYS
from ivr.routing.regions import normalise_region, timezone_for_region

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def errors_by_line(parsed: registry.ParsedFile) -> dict[int, str]:
    return {e.line: e.field for e in parsed.errors}


def test_2026_layout_utf8_bom() -> None:
    parsed = registry.parse_file(DATA / "registry_2026.csv")
    assert parsed.encoding == "utf-8-sig"
    assert parsed.layout == "8 columns"
    assert errors_by_line(parsed) == {4: "Емкость", 6: "АВС/ DEF", 7: "row", 9: "До"}
    assert [r.line for r in parsed.rows] == [2, 3, 5, 10]
    mts, beeline, megafon, unknown = parsed.rows
    assert (mts.start, mts.end, mts.inn) == (9160000000, 9169999999, "7740000076")
    assert mts.operator == 'ПАО "Мобильные ТелеСистемы"'
    assert mts.region == "Москва и Московская область"
    assert (beeline.start, beeline.end) == (9030000000, 9030199999)
    assert megafon.region == "Новосибирская область"
    assert unknown.operator == "ООО «Регион-Телеком»" and unknown.region == ""
    capacity_error = next(e for e in parsed.errors if e.line == 4)
    assert "1000000" in capacity_error.reason
    assert str(capacity_error) == f"{DATA / 'registry_2026.csv'}:4: Емкость: {capacity_error.reason}"


def test_7_columns_with_inn() -> None:
    parsed = registry.parse_file(DATA / "registry_7col.csv")
    assert (parsed.encoding, parsed.layout) == ("utf-8", "7 columns")
    assert errors_by_line(parsed) == {3: "ИНН", 5: "От"}
    assert [(r.line, r.inn) for r in parsed.rows] == [(2, "7740000076"), (4, "7740000076"), (6, "7812014560")]


def test_6_columns_without_inn() -> None:
    parsed = registry.parse_file(DATA / "registry_6col.csv")
    assert parsed.layout == "6 columns"
    assert errors_by_line(parsed) == {4: "Оператор"}
    assert [r.inn for r in parsed.rows] == ["", "", ""]
    assert [r.region for r in parsed.rows] == ["Омская область", "Магаданская область", "Томская область"]


def test_cp1251_tab_padded() -> None:
    parsed = registry.parse_file(DATA / "registry_cp1251_tabs.csv")
    assert parsed.encoding == "cp1251"
    assert parsed.layout == "6 columns, tab-padded"
    assert errors_by_line(parsed) == {3: "До"}
    assert [(r.line, r.start, r.operator) for r in parsed.rows] == [
        (2, 9242000000, 'ОАО "МегаФон"'), (4, 9142200000, 'ОАО "Мобильные ТелеСистемы"')]
    assert parsed.rows[1].region == "Республика Саха (Якутия)"


def test_spreadsheet_resave() -> None:
    parsed = registry.parse_file(DATA / "registry_spreadsheet.csv")
    assert parsed.layout == "8 columns, spreadsheet re-save"
    assert errors_by_line(parsed) == {5: "row", 6: "От"}
    t2, yota, megafon, adygea = parsed.rows
    assert (t2.start, t2.end, t2.operator) == (9000000000, 9000999999, 'ООО "Т2 Мобайл"')
    assert yota.region == "Москва и Московская область"
    assert megafon.operator == 'ПАО "МегаФон"' and megafon.line == 4
    assert (adygea.start, adygea.inn) == (9950100000, "0105000001")


def test_sample_registry_file_loads_without_errors() -> None:
    parsed = registry.parse_file(ROOT / "config/numbering/sample-DEF-9xx.csv")
    assert parsed.errors == ()
    assert parsed.layout == "8 columns" and parsed.encoding == "utf-8-sig"
    assert len(parsed.rows) >= 25
    codes = {r.start // 10_000_000 for r in parsed.rows}
    assert {916, 903, 926, 950, 985, 911, 913} <= codes
    assert any(r.start // 10_000_000 == 913 and r.region == "Новосибирская область" for r in parsed.rows)


def test_not_a_registry_file() -> None:
    parsed = registry.parse_text("hello;world\n1;2\n", "x.csv")
    assert parsed.rows == ()
    assert [(e.line, e.field) for e in parsed.errors] == [(1, "header")]


def test_headerless_rows_are_read_by_position() -> None:
    parsed = registry.parse_text('916;0000000;0000099;100;ПАО "МТС";-\n', "x.csv")
    assert [(r.line, r.start, r.end) for r in parsed.rows] == [(1, 9160000000, 9160000099)]


@pytest.mark.parametrize("raw, expected", [
    ("г. Москва и Московская область", "Москва и Московская область"),
    ("Москва и Московская область", "Москва и Московская область"),
    ("г. Москва * Московская область", "Москва и Московская область"),
    ("-", ""),
    ("г. Бердск|р-н Искитимский|Новосибирская обл.", "Новосибирская область"),
    ("  Самарская   обл. ", "Самарская область"),
])
def test_region_normalised(raw: str, expected: str) -> None:
    assert normalise_region(raw) == expected


@pytest.mark.parametrize("region, tz", [
    ("Москва и Московская область", "Europe/Moscow"),
    ("Санкт-Петербург и Ленинградская область", "Europe/Moscow"),
    ("Новосибирская область", "Asia/Novosibirsk"),
    ("Свердловская область", "Asia/Yekaterinburg"),
    ("Красноярский край", "Asia/Krasnoyarsk"),
    ("Приморский край", "Asia/Vladivostok"),
    ("Калининградская область", "Europe/Kaliningrad"),
    ("Самарская область", "Europe/Samara"),
    ("Омская область", "Asia/Omsk"),
    ("Томская область", "Asia/Tomsk"),
    ("Иркутская область", "Asia/Irkutsk"),
    ("Хабаровский край", "Asia/Vladivostok"),
    ("Камчатский край", "Asia/Kamchatka"),
    ("Магаданская область", "Asia/Magadan"),
    ("Республика Саха (Якутия)", "Asia/Yakutsk"),
    ("Сахалинская область", "Asia/Sakhalin"),
    ("Тверская область", "Europe/Moscow"),
    ("", "Europe/Moscow"),
])
def test_region_timezone(region: str, tz: str) -> None:
    assert timezone_for_region(region) == tz


def _stored(data_dir: Path) -> tuple[np.ndarray, dict]:
    arrays, meta = store.load_arrays(store.current(data_dir, REGISTRY), REGISTRY_ARRAYS)
    return arrays["start"], meta


def test_import_builds_sorted_arrays_and_reports_every_broken_row(tmp_path: Path) -> None:
    files = [DATA / "registry_2026.csv", DATA / "registry_7col.csv"]
    report = registry.import_files(files, tmp_path)
    assert report.rows == 4 + 3
    assert report.replaced_codes == ("9",)
    assert [(Path(e.file).name, e.line) for e in report.errors] == [
        ("registry_2026.csv", 4), ("registry_2026.csv", 6), ("registry_2026.csv", 7),
        ("registry_2026.csv", 9), ("registry_7col.csv", 3), ("registry_7col.csv", 5)]
    starts, meta = _stored(tmp_path)
    assert starts.dtype == np.int64 and list(starts) == sorted(starts)
    assert meta["rows"] == 7


def test_overlapping_ranges_are_reported(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("АВС/ DEF;От;До;Емкость;Оператор;Регион\n"
                 '916;0000000;0999999;1000000;ПАО "МТС";-\n'
                 '916;0500000;0599999;100000;ПАО "МегаФон";-\n', encoding="utf-8")
    report = registry.import_files([a], tmp_path / "store")
    assert report.rows == 1
    assert [(e.line, e.field) for e in report.errors] == [(3, "От")]
    assert f"{a}:2" in report.errors[0].reason


def test_reimport_replaces_same_leading_digit_and_keeps_others(tmp_path: Path) -> None:
    abc = tmp_path / "ABC-4xx.csv"
    abc.write_text('АВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН\n'
                   '495;0000000;9999999;10000000;ПАО "Ростелеком";г. Москва;7707049388', encoding="utf-8")
    data_dir = tmp_path / "numbering"
    registry.import_files([abc, DATA / "registry_2026.csv"], data_dir)
    report = registry.import_files([DATA / "registry_7col.csv"], data_dir)
    starts, _ = _stored(data_dir)
    assert report.replaced_codes == ("9",)
    assert 4950000000 in starts            # ABC range kept
    assert 9160000000 not in starts        # old DEF range replaced
    assert 9110000000 in starts


def test_reimport_is_atomic_swap(tmp_path: Path) -> None:
    registry.import_files([DATA / "registry_2026.csv"], tmp_path)
    first = store.current(tmp_path, REGISTRY)
    held = np.load(first / "start.npy", mmap_mode="r")     # a reader holding the old version
    before = held.tolist()
    registry.import_files([DATA / "registry_7col.csv"], tmp_path)
    second = store.current(tmp_path, REGISTRY)
    assert second != first and not first.exists()
    assert (tmp_path / REGISTRY).is_symlink()
    assert held.tolist() == before          # the old mapping stays readable
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(("registry-", ".registry"))]
    assert leftovers == [second.name]


def test_failed_publish_leaves_the_old_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.import_files([DATA / "registry_2026.csv"], tmp_path)
    first = store.current(tmp_path, REGISTRY)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        registry.import_files([DATA / "registry_7col.csv"], tmp_path)
    monkeypatch.undo()
    assert store.current(tmp_path, REGISTRY) == first
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("registry-")) == [first.name]


def test_import_with_no_good_rows_publishes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing here", encoding="utf-8")
    report = registry.import_files([bad], tmp_path / "store")
    assert report.rows == 0 and len(report.errors) == 1
    assert store.current(tmp_path / "store", REGISTRY) is None
