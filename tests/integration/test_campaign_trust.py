"""Campaigns a bus carrier can trust, on real SIP, driven through the HTTP API and the CLI: the
departure as on the ticket heard by passengers in two zones (and across midnight), the company's
number at the callee, a Russian Excel file (cp1251, separate date and time columns) imported and
exported (`;` with a BOM, XLSX), a passenger cut off by a SIGKILL called again, and a passenger
calling the campaign's number back recognised."""
from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from conftest import PLANS, ROOT, heard
from ivr.campaigns.flow import trip_words
from ivr.campaigns.model import Passenger, Row
from ivr.testing.world import Behaviour

MSK = ZoneInfo("Europe/Moscow")
CALLER_ID = "+74951110000"           # the test plan's trunk caller_id (and a company number)
# Rings of 6 s, retries of a cut-off call after 3 s; the full wording (intro, trip, question).
PROFILE = """
  trust:
    flow: confirm
    hours: {daily: "00:00-24:00"}
    deadline_hours: 1
    ring_seconds: 6
    answer_timeout: 8
    max_attempts: 3
    retry:
      interrupted: {after: 3s, retries: 2}
      lost: {after: 3s, retries: 2}
      no_input: {after: 3s, retries: 0}
    pacing: {max_concurrent: 4, reserve_inbound: 0, calls_per_second: 5}
    prompts:
      intro: [campaign-intro]
      question: [campaign-confirm-question]
      thanks: {confirm: [campaign-confirmed], cancel: [campaign-cancelled], dispatcher: [all-busy]}
    dispatcher: dispatch
"""
# intro 3.9 s + trip about 7 s + question 8.4 s: a press after this has heard all of them
HEARD_ALL = 22.0


@pytest.fixture(scope="module", autouse=True)
def var_dir(stack_dir):
    (stack_dir / "var").mkdir(exist_ok=True)


@pytest.fixture
def profiles(stack_dir, base_env):
    (stack_dir / "campaigns.yaml").write_text((PLANS / "campaign.yaml").read_text(encoding="utf-8") + PROFILE,
                                              encoding="utf-8")
    # the numbering registry: each callee's own zone (Novosibirsk for +7 913)
    cli(base_env, "numbering", "import", str(ROOT / "config" / "numbering" / "sample-DEF-9xx.csv"))


def cli(env: dict[str, str], *args: str) -> str:
    """`ivr ...` as ops run it, on the service's settings; its standard output."""
    done = subprocess.run([sys.executable, "-m", "ivr.cli", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


async def wait_done(service, cid: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        shown = await service.get(f"/api/campaigns/{cid}")
        if shown["campaign"]["status"] == "done":
            return shown
        assert time.monotonic() < deadline, shown["counts"]
        await asyncio.sleep(0.5)


async def wait_leg(world, number: str, count: int = 1, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while len(legs := [leg for leg in world.incoming if leg.target == number]) < count:
        assert time.monotonic() < deadline, f"{number} was called {len(legs)} times, not {count}"
        await asyncio.sleep(0.1)
    return legs[count - 1]


def spoken_candidates(prompts, settings, names: set[str]) -> dict:
    """The plan's prompts plus the say module's words `names` ("say/tz-moscow", ...)."""
    say = settings.path(settings.sounds_dir) / "generated" / "ru"
    return {**prompts, "ru": {**prompts["ru"], **{n: say / f"{n}.wav" for n in names}}}


async def test_the_ticket_time_is_heard_in_two_zones_from_the_company_number(service, world, profiles, prompts,
                                                                            settings):
    world.reset()
    moscow, novosibirsk = "+79160007302", "+79130007301"
    for number in (moscow, novosibirsk):
        world.behaviours[number] = Behaviour("answer", after=0.3, press="1", press_after=HEARD_ALL)
    # A Moscow bus at 23:30 on the 25th: 03:30 on the 26th in Novosibirsk; the ticket says 23:30, 25th.
    text = ("ФИО;Телефон;Рейс;Дата отправления;Время отправления;Место\r\n"
            f"Кузнецова Мария Викторовна;8 {novosibirsk[2:5]} {novosibirsk[5:]};МТ-2330;25.11.2026;23:30;12\r\n"
            f"Петров Иван Ильич;{moscow};МТ-2330;25.11.2026;23:30;14\r\n")
    imported = await service.post_ok("/api/campaigns/import?name=ticket&profile=trust&filename=trip.csv",
                                  data=text.encode("cp1251"))
    assert (imported["file"], imported["added"], imported["issues"]) == ("CSV cp1251 ;", 2, [])
    assert imported["zone_fallbacks"] == []                     # both numbers are in the registry
    cid = imported["campaign"]["id"]
    await service.post_ok(f"/api/campaigns/{cid}/start")
    shown = await wait_done(service, cid)
    rows = {r["phone"]: r for r in shown["rows"]}
    assert rows[novosibirsk]["timezone"] == "Asia/Novosibirsk" and rows[moscow]["timezone"] == "Europe/Moscow"
    assert {n: r["result"] for n, r in rows.items()} == {novosibirsk: "confirm", moscow: "confirm"}

    departure = datetime(2026, 11, 25, 23, 30, tzinfo=MSK)
    right = trip_words(Row(0, 0, Passenger("", novosibirsk, "", departure=departure, seat="12"),
                           "Asia/Novosibirsk", "", "", 0, None), "confirm", "ru", "Europe/Moscow")
    wrong = trip_words(Row(0, 0, Passenger("", novosibirsk, "", departure=departure.astimezone(
        ZoneInfo("Asia/Novosibirsk")).replace(tzinfo=MSK), seat="12"), "Europe/Moscow", "", "", 0, None),
        "confirm", "ru", "Europe/Moscow")
    says = {w for w in right + wrong if w.startswith("say/")}
    assert "say/tz-moscow" in says and set(right) != set(wrong)
    candidates = spoken_candidates(prompts, settings, says)
    expected_date = [f"ru/{w}" for w in right if w.startswith("say/") and w not in ("say/tz-moscow", "say/seat")]
    for number, zone_named in ((novosibirsk, True), (moscow, False)):
        leg = await wait_leg(world, number)
        # the company's number, not "Anonymous": a passenger can see it and call back
        assert leg.caller_number.endswith(CALLER_ID[1:]), (number, leg.caller_number)
        names = heard(await world.wait_recording(leg), candidates)
        assert names == ["ru/campaign-intro", *expected_date, *(["ru/say/tz-moscow"] if zone_named else []),
                         "ru/say/seat", "ru/campaign-confirm-question", "ru/campaign-confirmed"], (number, names)

    # the export: as Russian Excel opens it, local times, one name per result; and as XLSX
    data = await service.get(f"/api/campaigns/{cid}/export?format=csv&lang=ru", raw=True)
    assert data.startswith(b"\xef\xbb\xbf")
    exported = {r["Телефон"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")}
    assert exported[novosibirsk]["Отправление"] == "25.11.2026 23:30"
    assert (exported[novosibirsk]["результат"], exported[novosibirsk]["часовой пояс пассажира"]) == (
        "подтвердил", "Asia/Novosibirsk")
    book = load_workbook(io.BytesIO(await service.get(f"/api/campaigns/{cid}/export?format=xlsx&lang=en",
                                                      raw=True)))
    header, *values = [[c.value for c in r] for r in book.active.iter_rows()]
    assert sorted(dict(zip(header, v))["result"] for v in values) == ["confirmed", "confirmed"]


async def test_a_passenger_cut_off_by_a_sigkill_is_called_again_and_answers(service, world, profiles):
    world.reset()
    number = "+79160007320"
    # listening (no key yet) when the service dies; hangs up in the silence that follows
    world.behaviours[number] = Behaviour("answer", after=0.3, hangup_after=4.0)
    text = f"name;phone;trip;departure\nOlga Ivanova;{number};T-KILL;2026-11-26 09:30\n"
    imported = await service.post_ok("/api/campaigns/import?name=kill&profile=trust&filename=kill.csv",
                                  data=text.encode("utf-8"))
    cid = imported["campaign"]["id"]
    await service.post_ok(f"/api/campaigns/{cid}/start")
    first = await wait_leg(world, number)
    await asyncio.wait_for(first.answered.wait(), 15)
    await asyncio.sleep(1.5)                                   # hearing the intro
    service.stop(signal.SIGKILL)
    await asyncio.wait_for(first.ended.wait(), 10)
    world.behaviours[number] = Behaviour("answer", after=0.3, press="1", press_after=HEARD_ALL)
    service.start()
    await service.wait_ready()
    second = await wait_leg(world, number, 2)
    assert second.invited_at - first.ended_at >= 3.0 - 0.5     # the profile's delay for a cut-off call
    shown = await wait_done(service, cid)
    [row] = shown["rows"]
    assert (row["status"], row["result"], row["attempts"]) == ("done", "confirm", 2)
    assert [a["outcome"] for a in shown["attempts"]] == ["interrupted", "confirm"]
    log = service.log_path.read_text(errors="replace")
    first_id = shown["attempts"][0]["id"]
    assert f"campaign attempt interrupted in a restart, will be called again attempt={first_id} " in log


async def test_a_passenger_calling_the_campaign_number_back_is_recognised(service, world, profiles, prompts,
                                                                         stack_dir, base_env):
    world.reset()
    number = "+79160007330"
    source = stack_dir / "callback.csv"
    source.write_bytes("ФИО;Телефон;Рейс;Дата отправления;Время отправления\n"
                       f"Сидоров Пётр Петрович;{number};МТ-0915;26.11.2026;09:15\n".encode("cp1251"))
    out = cli(base_env, "campaign", "import", str(source), "--name", "callback", "--kind", "trust")
    cid = int(out.split()[1])
    # the passenger missed the campaign's call and rings its number back (never started: no call out)
    leg = await world.call(CALLER_ID, number)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.sleep(HEARD_ALL)
    await world.press(leg, "2")
    await asyncio.wait_for(leg.ended.wait(), 20)
    shown = await service.get(f"/api/campaigns/{cid}")
    [row] = shown["rows"]
    assert (row["status"], row["result"]) == ("done", "cancel")
    [attempt] = shown["attempts"]
    assert (attempt["trunk"], attempt["digit"], attempt["answer"]) == ("inbound", "2", "cancel")
    names = heard(await world.wait_recording(leg), prompts)
    assert names[:1] == ["ru/campaign-intro"] and names[-2:] == ["ru/campaign-confirm-question",
                                                                 "ru/campaign-cancelled"], names
    record = await service.call_record(number)
    assert "campaign_callback" in [s["kind"] for s in record["steps"]]
    # shown by `ivr campaign show --rows` too
    assert "cancelled" in cli(base_env, "campaign", "show", str(cid), "--rows")
