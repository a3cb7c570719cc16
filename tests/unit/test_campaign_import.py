"""CSV import: every broken row is named, duplicates on one trip are merged and reported."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.campaigns.importer import parse_zone, read_csv, read_file, read_table, template_header, template_rows
from ivr.errors import InvalidInput

HEADER = "Name;Phone;Trip;Route;Departure;Seat;Bus;Platform;Language\n"


def test_rows_are_read_with_phones_as_people_write_them():
    text = HEADER + ("Иван Петров;8 (916) 123-45-67;T100;Москва — Тула;2026-11-26 09:30;12;А123ВС;3;ru\n"
                     "Anna Smith;+7 903 000 11 22;T100;Москва — Тула;26.11.2026 09:30;14;А123ВС;3;en\n")
    result = read_csv(text, "RU", "Europe/Moscow", ("ru", "en"))
    assert result.issues == ()
    first, second = result.passengers
    assert first.phone == "+79161234567" and first.raw_phone == "8 (916) 123-45-67"
    assert first.departure == datetime(2026, 11, 26, 9, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert (first.seat, first.bus, first.platform, first.language) == ("12", "А123ВС", "3", "ru")
    assert second.phone == "+79030001122" and second.language == "en"
    assert second.departure == first.departure


def test_broken_rows_are_reported_by_row_field_and_reason():
    text = HEADER + ("Good;+79161234567;T1;R;2026-11-26 09:30;1;B;1;ru\n"
                     "Bad phone;12-34;T1;R;2026-11-26 09:30;2;B;1;ru\n"
                     "Letters;+7916abc4567;T1;R;2026-11-26 09:30;3;B;1;ru\n"
                     ";+79161234568;T1;R;2026-11-26 09:30;4;B;1;ru\n"
                     "No date;+79161234569;T1;R;tomorrow;5;B;1;ru\n"
                     "Language;+79161234570;T1;R;2026-11-26 09:30;6;B;1;de\n")
    result = read_csv(text, "RU", "Europe/Moscow", ("ru", "en"))
    assert [p.name for p in result.passengers] == ["Good"]
    errors = [(i.row, i.field) for i in result.issues if i.level == "error"]
    assert errors == [(3, "phone"), (4, "phone"), (5, "name"), (6, "departure"), (7, "language")]
    assert "'12-34'" in result.issues[0].reason
    # nothing silently dropped: every data row is kept, merged or refused
    assert result.rows_read == len(result.passengers) + result.refused + result.merged


def test_duplicate_passenger_on_one_trip_is_merged_and_reported():
    text = HEADER + ("Ivan;+79161234567;T1;R;2026-11-26 09:30;12;B;1;ru\n"
                     "Ivan P.;8 916 123 45 67;T1;R;2026-11-26 09:30;13;B;1;ru\n"
                     "Ivan;+79161234567;T2;R;2026-11-27 09:30;12;B;1;ru\n")
    result = read_csv(text, "RU", "Europe/Moscow")
    assert len(result.passengers) == 2
    merged = result.passengers[0]
    assert merged.seat == "12, 13" and merged.source_rows == (2, 3)
    assert [(i.row, i.level) for i in result.issues] == [(3, "merged")]
    assert "row 2" in result.issues[0].reason


def test_header_without_required_columns_is_refused():
    with pytest.raises(InvalidInput, match="phone"):
        read_csv("Name,Trip,Departure\nIvan,T1,2026-11-26 09:30\n", "RU", "Europe/Moscow")


def test_unknown_columns_are_reported_not_silently_ignored():
    text = "name,phone,trip,departure,comment\nIvan,+79161234567,T1,2026-11-26 09:30,vip\n"
    result = read_csv(text, "RU", "Europe/Moscow")
    assert len(result.passengers) == 1
    assert [(i.row, i.field, i.level) for i in result.issues] == [(1, "comment", "warning")]


# ----- spreadsheets as people have them -----

DATA = __import__("pathlib").Path(__file__).parent / "data"


def test_a_russian_excel_csv_with_separate_date_and_time_columns():
    # cp1251, `;`, "Дата отправления;Время отправления", a Moscow-time column ("МСК")
    data = (DATA / "campaign_cp1251.csv").read_bytes()
    result, kind = read_file(data, "passengers.csv", "RU", "Europe/Moscow", ("ru", "en"))
    assert kind == "CSV cp1251 ;" and result.issues == ()
    maria, ivan = result.passengers
    assert (maria.name, maria.phone, maria.trip_id) == ("Кузнецова Мария Викторовна", "+79131000730", "МТ-0730")
    assert maria.departure == datetime(2026, 12, 8, 9, 15, tzinfo=ZoneInfo("Europe/Moscow"))
    assert ivan.departure == datetime(2026, 12, 8, 23, 30, tzinfo=ZoneInfo("Asia/Novosibirsk"))


def test_two_columns_and_the_trips_own_zone():
    text = ("ФИО;Телефон;Рейс;Дата отправления;Время отправления;Часовой пояс\n"
            "Кузнецова Мария Викторовна;8 913 100-07-30;МТ-0730;08.12.2026;09:15;МСК\n"
            "Петров Иван Ильич;+7 916 100-07-31;НС-0100;08.12.2026;23:30;Asia/Novosibirsk\n"
            "Сидоров;+7 916 100-07-32;НС-0100;08.12.2026;23:30;Луна\n")
    result = read_csv(text, "RU", "Europe/Moscow")
    first, second = result.passengers
    assert first.departure == datetime(2026, 12, 8, 9, 15, tzinfo=ZoneInfo("Europe/Moscow"))
    assert first.timezone == "Europe/Moscow"
    assert second.departure == datetime(2026, 12, 8, 23, 30, tzinfo=ZoneInfo("Asia/Novosibirsk"))
    assert second.timezone == "Asia/Novosibirsk"
    assert [(i.row, i.field) for i in result.issues] == [(4, "timezone")]


def test_encodings_and_separators_are_detected():
    text = "Name,Phone,Trip,Departure\nИван,+79161234567,T1,2026-11-26 09:30\n"
    for data, kind in ((text.encode("utf-8"), "CSV utf-8 ,"), (b"\xef\xbb\xbf" + text.encode("utf-8"), "CSV utf-8-sig ,"),
                       (text.replace(",", "\t").encode("cp1251"), "CSV cp1251 tab")):
        result, seen = read_file(data, "p.csv", "RU", "Europe/Moscow")
        assert (seen, [p.name for p in result.passengers]) == (kind, ["Иван"])
    with pytest.raises(InvalidInput, match="UTF-16"):
        read_file(text.encode("utf-16"), "p.csv", "RU", "Europe/Moscow")


def test_xlsx_with_date_and_time_cells():
    from datetime import date, time
    from openpyxl import Workbook
    import io
    book = Workbook()
    sheet = book.active
    sheet.append(["ФИО", "Телефон", "Рейс", "Дата отправления", "Время отправления", "Место"])
    sheet.append(["Кузнецова Мария Викторовна", 79131000730, "МТ-0730", date(2026, 12, 8), time(9, 15), 12])
    out = io.BytesIO()
    book.save(out)
    result, kind = read_file(out.getvalue(), "p.xlsx", "RU", "Europe/Moscow")
    assert kind == "XLSX" and result.issues == ()
    [p] = result.passengers
    assert (p.phone, p.seat) == ("+79131000730", "12")
    assert p.departure == datetime(2026, 12, 8, 9, 15, tzinfo=ZoneInfo("Europe/Moscow"))


def test_a_missing_departure_names_both_ways_to_give_it():
    with pytest.raises(InvalidInput, match="Время отправления"):
        read_csv("ФИО;Телефон;Рейс;Дата отправления\nИван;+79161234567;T1;08.12.2026\n", "RU", "Europe/Moscow")


def test_the_template_is_read_back_without_a_problem():
    for lang in ("ru", "en"):
        result = read_table([template_header(lang), *template_rows(lang)], "RU", "Europe/Moscow", ("ru", "en"))
        assert result.issues == () and len(result.passengers) == 1, lang


def test_moscow_time_written_as_timetables_do():
    assert parse_zone("МСК") == "Europe/Moscow" and parse_zone("МСК+4") == "Asia/Novosibirsk"
    assert parse_zone("msk-1") == "Europe/Kaliningrad" and parse_zone("Asia/Omsk") == "Asia/Omsk"
    assert parse_zone("МСК+40") is None and parse_zone("Mars") is None


def test_every_accepted_column_name_is_documented():
    from ivr.campaigns.importer import COLUMNS
    doc = (DATA.parents[2] / "docs" / "campaigns.md").read_text(encoding="utf-8")
    for name, aliases in COLUMNS.items():
        line = next(line for line in doc.splitlines() if line.startswith(f"| `{name}` |"))
        assert all(alias in line for alias in aliases), (name, line)
