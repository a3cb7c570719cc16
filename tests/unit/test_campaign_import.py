"""CSV import: every broken row is named, duplicates on one trip are merged and reported."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.campaigns.importer import read_csv
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
