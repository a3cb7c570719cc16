"""Contacts: store rules and the CSV import whose report names every refused row."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.contacts.csvio import export_csv, import_csv, parse_rows
from ivr.contacts.store import ContactData, ContactStore, NumberTaken

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

CSV = """name,numbers,company,manager,vip,notes
Анна Иванова,8 916 100-00-01; +7 (916) 100-00-02,ООО Ромашка,101,да,постоянный клиент
,+79161000003,,,,
Борис,not-a-number,,,,
Вера,+79161000004,,999,,
Глеб,+79161000005,,,maybe,
Дина,+79161000001,,,,
"Евгений, водитель","+79161000006, +79161000007",Автобаза,,no,"две строки
заметок"
Жанна,+79161000008,,,,,extra
"""


async def test_import_reports_each_broken_row_and_keeps_the_good(db):
    store = ContactStore(db)
    report = await import_csv(store, CSV, "RU", T0, staff={"101", "102"})
    assert report.rows == 8
    assert (report.created, report.updated) == (2, 0)
    problems = [(p.row, p.field) for p in report.problems]
    assert problems == [(3, "name"), (4, "numbers"), (5, "manager"), (6, "vip"), (7, "numbers"), (10, "-")]
    assert "already in row 2" in report.problems[4].reason
    assert report.refused_rows == [3, 4, 5, 6, 7, 10]
    # Every data row is either imported or named: nothing dropped silently.
    assert report.rows == report.created + len(report.refused_rows)
    anna = await store.by_number("+79161000002")
    assert anna is not None and (anna.name, anna.company, anna.manager, anna.vip) == \
        ("Анна Иванова", "ООО Ромашка", "101", True)
    assert anna.numbers == ("+79161000001", "+79161000002")
    eugene = await store.by_number("+79161000007")
    assert eugene.name == "Евгений, водитель" and eugene.notes == "две строки\nзаметок" and not eugene.vip


async def test_numbers_of_stored_contacts_are_refused_and_ids_update(db):
    store = ContactStore(db)
    anna = await store.add(ContactData("Анна", ("+79161000001", "+79161000002")), T0)
    report = await import_csv(store, f"id;name;numbers\n;Other;+79161000002\n{anna.id};Anna I.;+79161000001,+79161000003\n"
                                     "99;Ghost;+79161000009\n", "RU", T0)
    assert [(p.row, p.field) for p in report.problems] == [(2, "numbers"), (4, "id")]
    assert (report.created, report.updated) == (0, 1)
    assert (await store.get(anna.id)).name == "Anna I."
    assert (await store.get(anna.id)).numbers == ("+79161000001", "+79161000003")
    with pytest.raises(NumberTaken):
        await store.add(ContactData("Copy", ("+79161000001",)), T0)


async def test_header_problems_refuse_the_file():
    count, good, problems = parse_rows("fullname,phone\nA,1\n", "RU")
    assert (count, good) == (0, [])
    assert [(p.row, p.field) for p in problems] == [(1, "name,numbers"), (1, "fullname"), (1, "phone")]


async def test_export_then_import_round_trips(db):
    store = ContactStore(db)
    await store.add(ContactData("Анна", ("+79161000001", "+79161000002"), company="X", manager="101", vip=True,
                                notes="a, b"), T0)
    text = export_csv(await store.list())
    assert text.splitlines()[0] == "id,name,numbers,company,manager,vip,notes"
    report = await import_csv(store, text, "RU", T0, dry_run=True)
    assert report.problems == () and report.rows == 1
    count, good, _ = parse_rows(text, "RU")
    assert good[0][2] == ContactData("Анна", ("+79161000001", "+79161000002"), "X", "101", True, "a, b")
