"""Call recording without Asterisk: the plan's settings (and their problems at LINE:COL), file names,
the retention purge on a given day, the disk-space guard, and who took part in a call."""
from __future__ import annotations

import asyncio
from pathlib import Path
from datetime import date, datetime, timezone

import pytest

from ivr.asterisk.process import Instance
from ivr.calls.recording import CLI_LINE_MAX, Recorder, Skipped, Started, finish_command, mixmonitor_arguments, \
    mixmonitor_cli, name_for, purge
from ivr.campaigns.config import load_profiles_text
from ivr.errors import ConfigError
from ivr.plan.loader import PlanError, load_plan_text
from ivr.plan.model import RecordingPolicy
from ivr.store.calls import CallRecord, CallStep

PLAN = """\
company: X
timezone: Europe/Moscow
country: RU
language: ru
recording: {recording}
numbers:
  "+74951112233": {{entry: desk, record: yes}}
  "+74951112244": {{entry: desk}}
nodes:
  desk: {{type: forward, number: "+79161234567", record: {node_record}}}
"""


def test_recording_settings_and_record_flags():
    plan = load_plan_text(PLAN.format(recording="{stereo: yes, retention_days: 30}", node_record="yes"), "p.yaml")
    assert plan.recording == RecordingPolicy(consent=True, stereo=True, retention_days=30)
    assert plan.numbers["+74951112233"].record and not plan.numbers["+74951112244"].record
    assert plan.nodes["desk"].record is True
    assert load_plan_text(PLAN.format(recording="{}", node_record="no"), "p.yaml").recording == RecordingPolicy()


def test_recording_problems_name_line_and_column():
    text = PLAN.format(recording="{stereo: maybe, retention_days: -1, keep: 3}", node_record="2")
    with pytest.raises(PlanError) as info:
        load_plan_text(text, "p.yaml")
    assert [str(p) for p in info.value.problems] == [
        "p.yaml:5:21: recording.stereo: expected yes or no, got 'maybe'",
        "p.yaml:5:44: recording.retention_days: must be at least 0",
        "p.yaml:5:48: recording: unknown key 'keep'",
        "p.yaml:10:57: forward node 'desk': record: expected yes or no, got '2'",
    ]


def test_consent_prompt_must_exist_in_every_language():
    text = PLAN.format(recording="{consent: yes}", node_record="no")
    with pytest.raises(PlanError) as info:
        load_plan_text(text, "p.yaml", prompt_exists=lambda name, lang: name != "call-recorded")
    assert [p.message for p in info.value.problems] == ["missing prompt 'call-recorded' for language 'ru'"]
    load_plan_text(text.replace("consent: yes", "consent: no"), "p.yaml",
                   prompt_exists=lambda name, lang: name != "call-recorded")


def test_files_are_named_by_the_local_day_and_kept_inside_the_directory(tmp_path):
    started = datetime(2026, 11, 25, 9, 5, 7, tzinfo=timezone.utc)
    assert name_for("1796542766.0", started) == "2026/11/25/090507-1796542766.0.ogg"
    recorder = Recorder(Instance("pbx", tmp_path, None), tmp_path / "rec", 0, _no_alert, lambda: started)
    assert recorder.path("2026/11/25/090507-1796542766.0.ogg") == tmp_path / "rec/2026/11/25/090507-1796542766.0.ogg"
    assert recorder.path("../../etc/passwd") is None and recorder.path("2026/11/25/../x.ogg") is None
    with pytest.raises(ConfigError, match="blanks, commas"):
        Recorder(Instance("pbx", tmp_path, None), tmp_path / "my recordings", 0, _no_alert, lambda: started)


def test_the_cli_line_records_both_directions_and_compresses_at_the_end(tmp_path):
    raw, final = tmp_path / "a.raw", tmp_path / "a.ogg"
    stereo, mono = finish_command(raw, final, True), finish_command(raw, final, False)
    assert stereo.startswith(f"cd {tmp_path} && f=a && ")
    assert "-ac 2 -i $f.raw -ac 2 -c:a libopus" in stereo and "-i $f.raw -ac 1 " in mono
    assert stereo.endswith("$f.ogg && rm -f $f.raw")
    line = mixmonitor_cli("1796542766.0", mixmonitor_arguments(raw, stereo))
    assert line == f'mixmonitor start 1796542766.0 "{raw},D,{stereo}"' and line.count(",") == 2


def test_a_cli_line_asterisk_would_cut_is_refused_not_sent(tmp_path):
    # Asterisk's remote console reads 511 bytes of a command: a longer `mixmonitor start` started
    # nothing and said nothing (seen with the test stacks' longer paths).
    started = datetime(2026, 11, 25, 11, 0, tzinfo=timezone.utc)
    deep = tmp_path / ("d" * 200) / "recordings"
    pbx = FakePbx(attaches=True)
    recorder = Recorder(Instance("pbx", tmp_path, None), deep, 0, _no_alert, lambda: started)
    recorder.instance = pbx
    result = asyncio.run(recorder.start("1796557900.5", started, True, "PJSIP/trunk-default-00000005"))
    assert isinstance(result, Skipped) and "too long" in result.detail and pbx.lines == []
    # the test stacks' own directory, and a sample install's, fit with room to spare
    for directory in (Path("/tmp/ivr-tests/run-31885/popen-gw0/stack0/var/recordings"),
                      Path("/var/lib/ivr-pbx/recordings")):
        raw = directory / name_for("camp-1234-56789-3", started)
        line = mixmonitor_cli("PJSIP/trunk-a-carrier-0000000a", mixmonitor_arguments(
            raw.with_suffix(".raw"), finish_command(raw.with_suffix(".raw"), raw, True, "/usr/bin/ffmpeg")))
        assert len(line) < CLI_LINE_MAX - 100, len(line)


async def _no_alert(key: str, subject: str, body: str) -> None:
    raise AssertionError("no alert expected")


def test_disk_guard_skips_and_alerts_once_an_hour(tmp_path):
    alerts: list[tuple[str, str]] = []
    now = [datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)]

    async def alert(key: str, subject: str, body: str) -> None:
        alerts.append((key, subject))
    recorder = Recorder(Instance("pbx", tmp_path, None), tmp_path / "rec", 2**62, alert, lambda: now[0])

    async def twice() -> list[Started | Skipped]:
        first = await recorder.start("c1", now[0], True)
        second = await recorder.start("c2", now[0], True)
        return [first, second]
    results = asyncio.run(twice())
    assert [r.reason for r in results] == ["disk_low", "disk_low"]
    assert alerts == [("recording-disk:2026112509", "Call recording stopped: the disk is nearly full")]


def test_purge_deletes_days_older_than_the_retention(tmp_path):
    for day in ("2026/09/30", "2026/10/25", "2026/10/26", "2026/11/25"):
        (tmp_path / day).mkdir(parents=True)
        (tmp_path / day / "110000-x.ogg").write_bytes(b"OggS")
    (tmp_path / "notes").mkdir()
    assert purge(tmp_path, date(2026, 11, 25), 30) == ["2026/09/30", "2026/10/25"]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.ogg")) == [
        "2026/10/26/110000-x.ogg", "2026/11/25/110000-x.ogg"]
    assert not (tmp_path / "2026/09").exists() and (tmp_path / "notes").is_dir()
    assert purge(tmp_path, date(2030, 1, 1), 0) == []                # 0: keep for ever


def _call(answered_by: str | None, *steps: tuple[str, dict]) -> CallRecord:
    at = datetime(2026, 11, 25, tzinfo=timezone.utc)
    return CallRecord(1, "c", "inbound", "+79160000000", "+74951112233", "", "", 1, "ru", at, at, at,
                      "answered", answered_by, 1.0,
                      tuple(CallStep(i, at, "", kind, data) for i, (kind, data) in enumerate(steps, 1)))


def test_who_took_part_in_a_call_and_its_recording():
    call = _call("101", ("answered", {"member": "102"}), ("transfer", {"by": "102", "to": "101"}),
                 ("answered", {"member": "101"}), ("recording", {"file": "2026/11/25/x.ogg"}))
    assert [call.took_part(e) for e in ("101", "102", "103", "")] == [True, True, False, False]
    assert call.recording == "2026/11/25/x.ogg" and call.to_dict()["recording"] == "2026/11/25/x.ogg"
    assert _call(None).recording == "" and _call(None).to_dict()["recording"] is None
    picked = _call("104", ("answered", {"member": "101", "picked_up_by": "104"}))
    assert picked.took_part("104") and picked.took_part("101")


def test_a_campaign_profile_may_record_its_calls():
    text = 'profiles:\n  recorded:\n    flow: notice\n    digits: {"1": understood}\n    record: {value}\n'
    assert load_profiles_text(text.replace("{value}", "yes"), "campaigns.yaml")["recorded"].record is True
    assert load_profiles_text(text.replace("{value}", "no"), "campaigns.yaml")["recorded"].record is False
    with pytest.raises(PlanError) as info:
        load_profiles_text(text.replace("{value}", "sometimes"), "campaigns.yaml")
    assert [str(p) for p in info.value.problems] == [
        "campaigns.yaml:5:13: profile 'recorded' record: expected yes or no, got 'sometimes'"]


class FakePbx:
    """Asterisk's CLI as MixMonitor answers it: `start` prints nothing; `list` shows what runs."""

    def __init__(self, attaches: bool):
        self.attaches, self.lines, self.running = attaches, [], ""

    def cli(self, command: str) -> str:
        self.lines.append(command)
        if command.startswith("mixmonitor start") and self.attaches:
            self.running = command.split('"')[1].split(",")[0].removesuffix(".raw")
        return f"MixMonitor ID\tFile\n===\n0x1\t{self.running}\n" if command.startswith("mixmonitor list") else ""


def test_recording_is_started_on_the_channel_by_name_and_checked_running(tmp_path):
    started = datetime(2026, 11, 25, 11, 0, tzinfo=timezone.utc)
    for attaches, kind in ((True, Started), (False, Skipped)):
        pbx = FakePbx(attaches)
        recorder = Recorder(Instance("pbx", tmp_path, None), tmp_path / "rec", 0, _no_alert, lambda: started)
        recorder.instance = pbx
        result = asyncio.run(recorder.start("1796557900.5", started, True, "PJSIP/trunk-default-00000005"))
        assert isinstance(result, kind), result
        # the name, not the id: the CLI would take "1796557900.5" as a prefix of "1796557900.5-leg3" too
        assert [line.split()[:3] for line in pbx.lines] == [
            ["mixmonitor", "start", "PJSIP/trunk-default-00000005"], ["mixmonitor", "list", "PJSIP/trunk-default-00000005"]]
    assert result.reason == "failed" and "not running" in result.detail


def test_the_outbound_agi_lets_the_staff_recording_command_through(tmp_path):
    """A phone's recorded outside call: the AGI checks MixMonitor's arguments from the service before
    the dialplan gets them; the real command passes, a quote does not."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("outbound_agi", Path(__file__).parents[2] / "agi_scripts" / "outbound.py")
    agi = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agi)
    raw = Path("/var/lib/ivr-pbx/recordings") / name_for("1796557900.5", datetime(2026, 11, 25, 11, 0))
    arguments = mixmonitor_arguments(raw.with_suffix(".raw"), finish_command(raw.with_suffix(".raw"), raw, True,
                                                                           "/usr/bin/ffmpeg"))
    record = {"name": "2026/11/25/110000-1796557900.5.ogg", "arguments": arguments}
    assert agi.checked_record({"record": record}) == record
    with pytest.raises(agi.RouteError):
        agi.checked_record({"record": {**record, "arguments": arguments + '"; reboot'}})
