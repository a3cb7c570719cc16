"""`ivr campaign` import/show/export on a real database, and profile validation with positions."""
from __future__ import annotations

import csv
import io

import pytest

from ivr.campaigns.config import load_profiles_text
from ivr.cli import campaigns as cli
from ivr.config import load_settings
from ivr.plan.errors import PlanError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
PLANS = ROOT / "tests" / "integration" / "plans"


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "plan.yaml").write_text((PLANS / "ivr.yaml").read_text())
    (tmp_path / "campaigns.yaml").write_text((PLANS / "campaign.yaml").read_text())
    return load_settings(env={"IVR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ivr.db",
                              "IVR_PLAN_FILE": str(tmp_path / "plan.yaml"),
                              "IVR_SECRETS_FILE": str(PLANS / "secrets.yaml"), "IVR_VAR_DIR": str(tmp_path),
                              "IVR_CLOCK": "2026-11-25T11:00:00+03:00"})


def run(argv, settings):
    parser = __import__("argparse").ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args, settings)


def test_import_show_export(settings, tmp_path, capsys):
    source = tmp_path / "trip.csv"
    source.write_text("name,phone,trip,departure,seat\nIvan,8 916 123-45-67,T1,2026-11-26 09:30,12\n"
                      "Bad,123,T1,2026-11-26 09:30,13\nIvan,+79161234567,T1,2026-11-26 09:30,14\n")
    assert run(["campaign", "import", str(source), "--name", "tomorrow", "--kind", "confirm"], settings) == 0
    out, err = capsys.readouterr()
    assert "1 passengers, 1 merged, 1 rows refused of 3" in out
    assert "row 3: phone: bad phone number '123'" in err and "row 4: phone" in err
    assert run(["campaign", "start", "1"], settings) == 0
    assert run(["campaign", "show", "1"], settings) == 0
    out, _ = capsys.readouterr()
    assert "running" in out and "0/1" in out
    export = tmp_path / "out.csv"
    assert run(["campaign", "export", "1", "--output", str(export), "--lang", "en"], settings) == 0
    assert export.read_bytes().startswith(b"\xef\xbb\xbfname;phone;")
    rows = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [(r["phone"], r["seat"], r["status"], r["departure"]) for r in rows] == [
        ("+79161234567", "12, 14", "to call", "2026-11-26 09:30")]
    assert rows[0]["next call"] == "2026-11-25 11:00"          # local (the plan's zone), to the minute
    # read back by the importer: the export's passenger columns are the template's
    assert run(["campaign", "import", str(export), "--name", "again"], settings) == 0
    assert "1 passengers" in capsys.readouterr().out


def test_russian_export_xlsx_and_templates(settings, tmp_path, capsys):
    from openpyxl import load_workbook
    source = tmp_path / "trip.csv"
    source.write_bytes("ФИО;Телефон;Рейс;Дата отправления;Время отправления\n"
                       "Кузнецова Мария Викторовна;8 916 100-07-30;МТ-0730;26.11.2026;09:15\n".encode("cp1251"))
    assert run(["campaign", "import", str(source), "--name", "ru"], settings) == 0
    assert "from CSV cp1251 ;: 1 passengers" in capsys.readouterr().out
    out = tmp_path / "out.xlsx"
    assert run(["campaign", "export", "1", "--output", str(out), "--lang", "ru"], settings) == 0
    sheet = load_workbook(out).active
    header, row = [[c.value for c in r] for r in sheet.iter_rows(max_row=2)]
    record = dict(zip(header, row))
    assert (record["ФИО"], record["Отправление"], record["статус"]) == (
        "Кузнецова Мария Викторовна", "26.11.2026 09:15", "ждёт звонка")
    for fmt in ("csv", "xlsx"):
        template = tmp_path / f"template.{fmt}"
        assert run(["campaign", "template", "--output", str(template), "--lang", "ru"], settings) == 0
        assert run(["campaign", "import", str(template), "--name", fmt], settings) == 0
        assert "1 passengers, 0 merged, 0 rows refused of 1" in capsys.readouterr().out


def test_import_gives_each_callee_the_time_zone_of_its_region(settings, tmp_path, capsys):
    # Local calling hours depend on it: a Novosibirsk passenger must not get the plan's Moscow zone.
    from ivr.cli import numbering
    parser = __import__("argparse").ArgumentParser()
    numbering.register(parser.add_subparsers())
    args = parser.parse_args(["numbering", "import", str(ROOT / "config" / "numbering" / "sample-DEF-9xx.csv")])
    assert args.handler(args, settings) == 0
    source = tmp_path / "trip.csv"
    source.write_text("name,phone,trip,departure\nOlga,+79130001234,T1,2026-11-26 09:30\n"
                      "Ivan,+79161234567,T1,2026-11-26 09:30\n")
    assert run(["campaign", "import", str(source), "--name", "t", "--kind", "confirm"], settings) == 0
    assert "call in Europe/Moscow hours" not in capsys.readouterr().out     # both numbers in the registry
    export = tmp_path / "out.csv"
    assert run(["campaign", "export", "1", "--output", str(export), "--lang", "en"], settings) == 0
    zones = {r["phone"]: r["passenger's time zone"]
             for r in csv.DictReader(io.StringIO(export.read_text(encoding="utf-8-sig")), delimiter=";")}
    assert zones["+79130001234"] == "Asia/Novosibirsk"


def test_import_without_the_registry_says_how_many_rows_take_the_plans_hours(settings, tmp_path, capsys):
    source = tmp_path / "trip.csv"
    source.write_text("name,phone,trip,departure\nOlga,+79130001234,T1,2026-11-26 09:30\n")
    assert run(["campaign", "import", str(source), "--name", "t"], settings) == 0
    out = capsys.readouterr().out
    assert "1 row(s) call in Europe/Moscow hours: the numbering registry is not imported" in out


def test_call_a_row_again_and_see_every_rows_next_call(settings, tmp_path, capsys):
    source = tmp_path / "trip.csv"
    source.write_text("name,phone,trip,departure\nOlga,+79161234567,T1,2026-11-26 09:30\n")
    assert run(["campaign", "import", str(source), "--name", "t"], settings) == 0
    assert run(["campaign", "show", "1", "--rows"], settings) == 0
    out = capsys.readouterr().out
    assert "next call (Europe/Moscow)" in out and "25.11 11:00:00" in out
    assert run(["campaign", "call", "1", "1"], settings) == 0
    assert "called again now" in capsys.readouterr().out


def test_profile_problems_point_to_line_and_column():
    text = ("profiles:\n  confirm:\n    flow: confirm\n    retry: {busy: {after: soon}}\n"
            "    digits: {\"1\": confrim}\n    amd: {initial_silence: -5}\n")
    with pytest.raises(PlanError) as e:
        load_profiles_text(text, "campaigns.yaml")
    found = [(p.line, p.message.split(":")[0]) for p in e.value.problems]
    assert (4, "profile 'confirm' retry busy after") in found
    assert any(line == 5 and "digit 1" in msg for line, msg in found)
    assert any(line == 6 for line, _ in found)


def test_show_reports_calls_minutes_and_saving_per_trunk(tmp_path, capsys):
    import asyncio
    from datetime import datetime, timedelta, timezone

    from ivr.campaigns.model import Passenger
    from ivr.campaigns.scheduler import Decision
    from ivr.campaigns.store import CampaignStore
    from ivr.store import open_database

    (tmp_path / "plan.yaml").write_text((PLANS / "routing.yaml").read_text())
    settings = load_settings(env={"IVR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ivr.db",
                                  "IVR_PLAN_FILE": str(tmp_path / "plan.yaml"), "IVR_VAR_DIR": str(tmp_path),
                                  "IVR_SECRETS_FILE": str(PLANS / "secrets.yaml")})
    now = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    trunks = {"+79261234567": "megafon", "+79261234568": "megafon", "+74957654321": "default"}

    async def seed():
        db = await open_database(settings.database_url, settings)
        store = CampaignStore(db)
        campaign = await store.create("c", "confirm", "confirm", now)
        await store.add_rows(campaign.id, [(Passenger(name=n, phone=n, trip_id="T"), "Europe/Moscow",
                                            Decision(False, "", now)) for n in trunks], now)
        claimed = await store.claim(campaign.id, "a", now, 3, channel_id_for=lambda r: f"c{r.id}",
                                    trunk_for=lambda r: trunks[r.passenger.phone], expired=lambda r: False)
        done = lambda outcome, counts, attempts, row: Decision(True, outcome)     # noqa: E731
        for (row, attempt), talk in zip(claimed, (90, 0, 30)):
            if talk:
                await store.answered(attempt.id, now)
            await store.finish(attempt.id, "busy", now + timedelta(seconds=talk), done)
        await db.close()
    asyncio.run(seed())
    assert run(["campaign", "show", "1"], settings) == 0
    out, _ = capsys.readouterr()
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["megafon"][:3] == ["2", "1", "1.50"]        # calls, answered, minutes
    assert lines["default"][:3] == ["1", "1", "0.50"]
    saving = float(out.rsplit("saving ", 1)[1])
    assert saving > 0                                          # megafon is cheaper than default


def test_a_routes_zone_from_campaigns_yaml_serves_rows_without_their_own(settings, tmp_path, capsys):
    path = tmp_path / "campaigns.yaml"
    path.write_text(path.read_text() + '\nroute_timezones:\n  "Новосибирск — Томск": МСК+4\n')
    source = tmp_path / "trip.csv"
    source.write_text("ФИО;Телефон;Рейс;Маршрут;Отправление\n"
                      "Олег;+79161234567;НС-1;Новосибирск  —  Томск;26.11.2026 09:30\n"
                      "Анна;+79161234568;МТ-1;Москва — Тверь;26.11.2026 09:30\n")
    assert run(["campaign", "import", str(source), "--name", "t"], settings) == 0
    export = tmp_path / "out.csv"
    assert run(["campaign", "export", "1", "--output", str(export), "--lang", "en"], settings) == 0
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(export.read_text(encoding="utf-8-sig")), delimiter=";")}
    assert (rows["Олег"]["timezone"], rows["Олег"]["departure"]) == ("Asia/Novosibirsk", "2026-11-26 09:30")
    assert rows["Анна"]["timezone"] == "Europe/Moscow"
    path.write_text(path.read_text().replace("МСК+4", "Марс"))
    with pytest.raises(PlanError, match="route_timezones"):
        run(["campaign", "import", str(source), "--name", "t"], settings)
