from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.routing import ported, registry
from ivr.routing.carriers import CarrierTable, load_carrier_table, normalise_name
from ivr.routing.lookup import CarrierLookup
from ivr.routing.numbers import InvalidNumber
from ivr.routing.overrides import set_override
from ivr.routing.regions import normalise_region

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def table() -> CarrierTable:
    return load_carrier_table(ROOT / "config/numbering/operators.yaml")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    registry.import_files([ROOT / "config/numbering/sample-DEF-9xx.csv"], tmp_path)
    return tmp_path


def test_registry_gives_carrier_operator_region_timezone(data_dir: Path, table: CarrierTable) -> None:
    info = CarrierLookup(data_dir, table).lookup("+79139012345")
    assert info.carrier == "mts" and info.carrier_source == "registry"
    assert info.operator == 'ПАО "Мобильные ТелеСистемы"'
    assert (info.region, info.timezone) == ("Новосибирская область", "Asia/Novosibirsk")


def test_registry_maps_by_inn_before_name(tmp_path: Path) -> None:
    f = tmp_path / "DEF.csv"
    f.write_text("АВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН\n"
                 "916;0000000;9999999;10000000;ООО \"Как-то Переименовали\";-;7740000076\n"
                 "926;0000000;9999999;10000000;ПАО \"МЕГАФОН\";-;\n"
                 "958;0000000;9999999;10000000;ООО «Новая Связь»;-;1234567890\n", encoding="utf-8")
    registry.import_files([f], tmp_path / "s")
    lookup = CarrierLookup(tmp_path / "s", load_carrier_table(ROOT / "config/numbering/operators.yaml"))
    assert lookup.lookup("+79160000001").carrier == "mts"          # by ИНН
    assert lookup.lookup("+79260000001").carrier == "megafon"      # by name table
    unknown = lookup.lookup("+79580000001")
    assert (unknown.carrier, unknown.operator) == ("новая связь", "ООО «Новая Связь»")


def test_source_precedence(data_dir: Path, table: CarrierTable) -> None:
    number = "+79161234567"                               # MTS in the registry
    assert CarrierLookup(data_dir, table).lookup(number).carrier_source == "registry"
    ported.import_file(DATA / "Port_All_test.csv", data_dir, table)       # ported to MegaFon
    info = CarrierLookup(data_dir, table).lookup(number)
    assert (info.carrier, info.carrier_source) == ("megafon", "ported")
    assert info.operator == 'ПАО "Мобильные ТелеСистемы"'                  # region still from the range
    assert info.timezone == "Europe/Moscow"
    set_override(data_dir, number, "beeline")
    info = CarrierLookup(data_dir, table).lookup(number)
    assert (info.carrier, info.carrier_source) == ("beeline", "override")


def test_table_then_phonenumbers_then_unknown(data_dir: Path, table: CarrierTable) -> None:
    lookup = CarrierLookup(data_dir, table)
    ua = lookup.lookup("+380671234567")
    assert (ua.carrier, ua.carrier_source, ua.timezone) == ("kyivstar", "table", "Europe/Kyiv")
    assert lookup.lookup("+380501234567").carrier == "vodafone_ua"
    assert lookup.lookup("+380931234567").carrier == "lifecell"
    beeline = lookup.lookup("+79031000000")               # 903 outside the sample's ranges
    assert (beeline.carrier, beeline.carrier_source) == ("beeline", "phonenumbers")
    assert beeline.timezone == "Europe/Moscow"
    landline = lookup.lookup("+74951234567")
    assert (landline.carrier, landline.carrier_source) == (None, "unknown")


def test_prefix_table_is_overridable(tmp_path: Path) -> None:
    yaml = tmp_path / "operators.yaml"
    yaml.write_text("prefixes:\n  '3806712': lifecell\n", encoding="utf-8")
    lookup = CarrierLookup(tmp_path / "empty", load_carrier_table(yaml))
    assert lookup.lookup("+380671234567").carrier == "lifecell"
    assert lookup.lookup("+380679999999").carrier == "kyivstar"


def test_fresh_data_dir_works(tmp_path: Path) -> None:
    info = CarrierLookup(tmp_path / "nothing-yet").lookup("+79161234567")
    assert info.carrier_source in ("phonenumbers", "unknown")
    assert info.timezone == "Europe/Moscow"


def test_refresh_sees_republished_store(data_dir: Path, table: CarrierTable) -> None:
    lookup = CarrierLookup(data_dir, table)
    assert lookup.refresh() is False
    set_override(data_dir, "+79161234567", "tele2")
    assert lookup.refresh() is True
    assert lookup.lookup("+79161234567").carrier == "tele2"


@pytest.mark.parametrize("bad", ["89161234567", "+7916&1234567", "+", "+7916 1234567"])
def test_lookup_wants_e164(data_dir: Path, bad: str) -> None:
    with pytest.raises(InvalidNumber):
        CarrierLookup(data_dir).lookup(bad)


def test_operator_name_normalisation() -> None:
    assert normalise_name('ПАО "МЕГАФОН"') == normalise_name("ПАО «МегаФон»") == "мегафон"
    assert normalise_name('ООО "Т2 Мобайл"') == "т2 мобайл"
    assert CarrierTable().for_owner_id("mMEGAFON") == "megafon"


def test_lookup_on_a_registry_and_ported_set(tmp_path: Path) -> None:
    # Its speed is measured by bench/bench_numbering.py, never timed here.
    rows = ["АВС/ DEF;От;До;Емкость;Оператор;Регион"]
    rows += [f"{code};{k * 100000:07d};{k * 100000 + 99999:07d};100000;ПАО \"МТС\";-"
             for code in range(900, 1000) for k in range(100)]
    f = tmp_path / "DEF.csv"
    f.write_text("\n".join(rows), encoding="utf-8")
    registry.import_files([f], tmp_path)
    dump = tmp_path / "Port_All.csv"
    dump.write_text("Number,OwnerId,MNC,Route,RegionCode,PortDate,RowCount\n" + "".join(
        f"{9000000000 + i * 9973},mMEGAFON,02,D7702,77,2016-09-07T12:00:17+03:00,\n" for i in range(100_000)))
    ported.import_file(dump, tmp_path, CarrierTable())
    lookup = CarrierLookup(tmp_path)
    numbers = [f"+7{9000000000 + i * 7919}" for i in range(50_000)]
    assert lookup.lookup(f"+7{9000000000 + 5 * 9973}").carrier_source == "ported"
    assert lookup.lookup(numbers[1]).carrier_source == "registry"
    found = [lookup.lookup(n) for n in numbers]
    assert {info.carrier_source for info in found} == {"registry", "ported"}



def test_old_layout_regional_companies_map_to_their_carrier(tmp_path: Path) -> None:
    """The old tab-padded registry has no ИНН column: a carrier's regional companies are told by name."""
    rows = [("950", 'ЗАО "Теле2-Омск"'), ("951", 'ООО "Т2 Мобайл"'), ("952", 'ОАО "МТС-Урал"'),
            ("920", 'Кавказский филиал ПАО "МегаФон"'), ("903", 'ЗАО "Билайн-Самара"'),
            ("958", 'ООО "Новая Связь"')]
    f = tmp_path / "DEF-old.csv"
    f.write_bytes(("АВС/ DEF\t;\tОт\t;\tДо\t;\tЕмкость\t;\tОператор\t;\tРегион\r\n" + "".join(
        f"{code}\t;\t0000000\t;\t9999999\t;\t10000000\t;\t{name}\t;\tОмская обл.\r\n" for code, name in rows))
        .encode("cp1251"))
    parsed = registry.parse_file(f)
    assert parsed.layout == "6 columns, tab-padded" and not parsed.errors
    registry.import_files([f], tmp_path / "s")
    lookup = CarrierLookup(tmp_path / "s", load_carrier_table(ROOT / "config/numbering/operators.yaml"))
    assert [lookup.lookup(f"+7{code}0000001").carrier for code, _ in rows] \
        == ["tele2", "tele2", "mts", "megafon", "beeline", "новая связь"]
    assert lookup.lookup("+79500000001").operator == 'ЗАО "Теле2-Омск"'


def test_lazily_filled_indexes_answer_as_a_plain_search(tmp_path: Path, table: CarrierTable) -> None:
    """The block index and the prepared answers are filled on first use; whatever order numbers come
    in, every answer is the one a linear search over the ranges gives (ranges spanning blocks, gaps,
    ranges at a block's edge)."""
    rng = random.Random(7)
    edges = sorted(rng.sample(range(9_000_000_000, 9_010_000_000), 600))
    ranges = [(a, b - 1 - rng.choice((0, 0, 5_000))) for a, b in zip(edges[::2], edges[1::2])]
    ranges += [(9_010_000_000, 9_010_099_999), (9_010_100_000, 9_010_100_000)]   # a block, one number
    names = ['ПАО "МТС"', 'ПАО "МегаФон"', 'ООО "Т2 Мобайл"']
    regions = ["Омская обл.", "г. Москва", "Приморский край"]
    f = tmp_path / "DEF.csv"
    f.write_text("АВС/ DEF;От;До;Емкость;Оператор;Регион\n" + "\n".join(
        f"{a // 10**7};{a % 10**7:07d};{b % 10**7:07d};{b - a + 1};{names[i % 3]};{regions[i % 2 * 2]}"
        for i, (a, b) in enumerate(ranges)), encoding="utf-8")
    registry.import_files([f], tmp_path)
    lookup = CarrierLookup(tmp_path, table)
    probes = [n for a, b in ranges for n in (a - 1, a, (a + b) // 2, b, b + 1)]
    rng.shuffle(probes)
    for n in probes:
        info = lookup.lookup(f"+7{n}")
        hit = next((i for i, (a, b) in enumerate(ranges) if a <= n <= b), None)
        if hit is None:
            assert info.carrier_source != "registry" and info.operator == "", n
        else:
            assert (info.carrier_source, info.operator) == ("registry", names[hit % 3]), n
            assert info.carrier == ("mts", "megafon", "tele2")[hit % 3]
            assert info.region == normalise_region(regions[hit % 2 * 2])


def test_a_lookup_loads_no_numpy(tmp_path: Path) -> None:
    registry.import_files([ROOT / "config/numbering/sample-DEF-9xx.csv"], tmp_path)
    code = ("import sys; from pathlib import Path; from ivr.routing.lookup import CarrierLookup\n"
            f"info = CarrierLookup(Path({str(tmp_path)!r})).lookup('+79139012345')\n"
            "print(info.carrier, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["mts", "False"]
