"""`ivr plan try`: the path a call takes through the sample plan at a moment, with key presses."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.cli import main
from ivr.config import ROOT
from ivr.plan.loader import load_plan
from ivr.plan.trace import trace

MSK = ZoneInfo("Europe/Moscow")
PLAN = load_plan(ROOT / "config" / "plan.yaml", secrets_path=ROOT / "config" / "secrets.yaml")


def lines(at: str, digits: str = "", to: str = "+74951234567") -> list[str]:
    moment = datetime.fromisoformat(at).replace(tzinfo=MSK)
    return [s.what for s in trace(PLAN, to, moment, digits, text=lambda lang, name: f"<{lang} {name}>")]


def test_open_office_menu_and_hunt():
    path = lines("2026-12-07 13:10", "1")
    assert path[1] == "schedule office is open at that moment"
    assert 'hears ru/welcome: "<ru welcome>"' in path and "presses 1 -> booking" in path
    assert "rings 101 (Dispatcher) for 10 s" in path
    assert path[-1] == "the call ends: the PBX hangs up"


def test_english_then_a_choice_and_a_holiday_and_night():
    path = lines("2026-12-07 10:00", "92")
    assert "switches to en" in path and "presses 2 -> dispatch" in path
    assert 'hears en/main-menu: "<en main-menu>"' in path
    assert any(p.startswith("hears ru/holiday") for p in lines("2027-01-01 12:00"))
    night = lines("2026-12-06 23:10", "1")
    assert "schedule office is closed at that moment" in night and "presses 1 -> booking" not in night
    # After hours: whoever is on duty that week, on their mobile (the sample's `duty` roster).
    assert "forwarded to roster duty: on duty 102 (Administrator) (rotation), on their mobile +79161234567 " \
           "for 20 s; if unanswered:" in night


def test_unknown_number_and_bad_time(capsys):
    assert lines("2026-12-07 10:00", to="+70000000000")[0].endswith("is not a company number of this plan: the call is refused")
    assert main(["plan", "try", str(ROOT / "config/plan.yaml"), "--at", "tomorrow", "--to", "84951234567"]) == 2
    assert "is not a date and time" in capsys.readouterr().err
    assert main(["plan", "try", str(ROOT / "config/plan.yaml"), "--at", "2026-12-07 13:10", "--to", "8 495 765-43-21",
                 "--digits", "3"]) == 0
    assert "waits in line for 101 (Dispatcher), 102 (Administrator)" in capsys.readouterr().out
