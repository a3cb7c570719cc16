"""Report arithmetic on hand-made call records and missed items: sources, the load heatmap and Erlang C,
missed-call times, and the XLSX/CSV files with translated headers."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from ivr import i18n
from ivr.missed.store import MissedItem
from ivr.reports import calls as reports
from ivr.reports.erlang import agents_needed, service_level
from ivr.reports.table import to_csv, to_xlsx
from ivr.store.calls import CallRecord, CallStep

MSK = ZoneInfo("Europe/Moscow")
WED = date(2026, 11, 25)
PERIOD = reports.Period(WED, WED, MSK)
ADS, MAIN = "+74951110001", "+74951110000"


def call(i: int, caller: str, at: str, outcome: str, number: str = ADS, talk: float = 0.0,
         steps: tuple[CallStep, ...] = ()) -> CallRecord:
    start = datetime.fromisoformat(f"2026-11-25T{at}:00+03:00")
    answered = start + timedelta(seconds=10) if outcome == "answered" else None
    end = (answered or start) + timedelta(seconds=talk or 5)
    return CallRecord(id=i, channel_id=f"c{i}", direction="inbound", caller=caller, company_number=number,
                      source="ads" if number == ADS else "main", contact_name="", plan_version=1, language="ru",
                      started_at=start, answered_at=answered, ended_at=end, outcome=outcome,
                      answered_by="101" if answered else None, duration=(end - start).total_seconds(), steps=steps)


def item(customer: str, status: str, first: str, closed_after: float | None = None, reason: str = "abandoned_in_menu",
         number: str = ADS) -> MissedItem:
    first_at = datetime.fromisoformat(f"2026-11-25T{first}:00+03:00")
    closed_at = first_at + timedelta(seconds=closed_after) if closed_after is not None else None
    return MissedItem(id=1, customer=customer, company_number=number, source="ads", contact_name="", status=status,
                      count=1, short=False, reason=reason, node="main_menu", first_at=first_at, last_at=first_at,
                      voicemail="", taken_by="", taken_at=None, closed_by="olga" if closed_at else "",
                      closed_at=closed_at, close_reason="called_back" if closed_at else "",
                      callback_seconds=closed_after)


def test_sources_count_callers_new_ones_lost_ones_and_cost_per_lead():
    calls = [call(1, "+79160000001", "13:10", "abandoned_in_menu"), call(2, "+79160000002", "13:12", "answered", talk=60),
             call(3, "+79160000002", "13:20", "answered", talk=30), call(4, "+79160000003", "09:05", "answered", MAIN)]
    first = {"+79160000001": PERIOD.since + timedelta(hours=13), "+79160000002": PERIOD.since - timedelta(days=3),
             "+79160000003": PERIOD.since + timedelta(hours=9)}
    table = reports.sources(calls, [item("+79160000001", "open", "13:10")], first, {"ads": Decimal("300")}, PERIOD)
    ads = next(r for r in table.rows if r["number"] == ADS)
    assert {k: ads[k] for k in ("calls", "unique", "new", "answered", "missed", "lost")} == \
        {"calls": 3, "unique": 2, "new": 1, "answered": 2, "missed": 1, "lost": 1}
    assert ads["cost_per_lead"] == Decimal("300.00")
    main = next(r for r in table.rows if r["number"] == MAIN)
    assert main["spend"] is None and main["cost_per_lead"] is None


def test_heatmap_cell_and_add_staff_mark():
    calls = [call(1, "a", "13:10", "abandoned_in_menu"), call(2, "b", "13:40", "abandoned_in_menu"),
             call(3, "c", "13:50", "answered", talk=120), call(4, "d", "11:00", "answered", talk=120)]
    cells = reports.heatmap(calls, MSK)
    assert cells[(2, 13)] == reports.Cell(3, 2) and cells[(2, 13)].add_staff
    assert not cells[(2, 11)].add_staff
    load = reports.load(calls, PERIOD)
    one = next(r for r in load.rows if r["hour"] == "13:00")
    assert one["calls"] == 3 and one["needed"] == 1 and one["add_staff"] == "+"


def test_free_to_answer_counts_the_phones_a_hunt_rang():
    at = datetime(2026, 11, 25, 10, tzinfo=MSK)
    steps = (CallStep(1, at, "booking", "ring", {"member": "101"}), CallStep(2, at, "booking", "skipped", {"member": "102"}),
             CallStep(3, at, "booking", "ring", {"member": "103"}))
    assert reports.free_to_answer(call(1, "a", "10:00", "answered", steps=steps)) == 2
    assert reports.free_to_answer(call(2, "a", "10:00", "closed_hours")) is None


def test_erlang_c():
    assert agents_needed(0, 120) == 0
    assert agents_needed(100, 180) in (8, 9)            # 5 Erlangs: 90 % within 20 s needs 8 or 9 people
    assert service_level(agents_needed(100, 180), 100, 180, 20) >= 0.9
    assert service_level(agents_needed(100, 180) - 1, 100, 180, 20) < 0.9


def test_missed_report_times_and_same_day_share():
    items = [item("a", "closed", "13:10", 600), item("b", "closed", "13:20", 1800), item("c", "open", "14:00"),
             item("d", "closed", "23:50", 3600, reason="closed_hours")]
    table = reports.missed(items, MSK)
    total = table.rows[-1]
    assert total["reason"] == "all" and total["items"] == 4 and total["open"] == 1
    assert total["median"] == 1800 and total["same_day"] == 0.5


def test_exports_have_translated_headers_and_numbers():
    table = reports.sources([call(1, "+79160000001", "13:10", "answered", talk=10)], [], {}, {}, PERIOD)
    with i18n.language("ru"):
        book = load_workbook(io.BytesIO(to_xlsx([table])))
        text = to_csv(table)
    sheet = book["sources"]
    assert sheet["A1"].value == "Номер компании" and sheet["C2"].value == 1
    assert text.splitlines()[0].startswith("Номер компании,Источник,Звонки")


def test_campaign_outcomes_per_day():
    from types import SimpleNamespace
    from ivr.reports.other import campaign_days
    at = datetime(2026, 11, 25, 20, 30, tzinfo=ZoneInfo("UTC"))          # 23:30 in Moscow
    trip = SimpleNamespace(id=1, name="Trip")
    table = campaign_days([(trip, [(at, "confirm"), (at, "busy"), (at + timedelta(hours=1), "cancel")])], MSK)
    assert table.rows == [
        {"day": "2026-11-25", "campaign": "1 · Trip", "calls": 2, "answers": 1, "not_reached": 1, "other": 0},
        {"day": "2026-11-26", "campaign": "1 · Trip", "calls": 1, "answers": 1, "not_reached": 0, "other": 0}]
