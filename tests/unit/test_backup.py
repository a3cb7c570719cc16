"""`ivr backup` of a running install and `ivr restore` into a fresh one: the calls, missed items
(with their voicemail), plan versions, campaigns and configuration are all there afterwards; on
SQLite and PostgreSQL, and a restore never overwrites a database that holds data."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from ivr.cli import main
from ivr.campaigns.store import CampaignStore
from ivr.missed.store import MissedCall, MissedStore
from ivr.store import open_database
from ivr.store.calls import CallStore
from ivr.store.plans import PlanStore
from ivr.testing.postgres import create_database

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

def install(root: Path, url: str, monkeypatch) -> dict[str, str]:
    """An install's settings as environment variables (the CLI reads them)."""
    (root / "config").mkdir(parents=True)
    env = {"IVR_SETTINGS": str(root / "config" / "settings.yaml"), "IVR_DATABASE_URL": url,
           "IVR_PLAN_FILE": str(root / "config" / "plan.yaml"), "IVR_SECRETS_FILE": str(root / "config" / "secrets.yaml"),
           "IVR_VAR_DIR": str(root / "var"), "IVR_ASTERISK_CONFIG_DIR": str(root / "asterisk" / "etc")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env

async def fresh_url(database_url: str, request, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    return await create_database(request.getfixturevalue("postgres_url"))

async def test_backup_then_restore_into_a_fresh_install(database_url, request, tmp_path, monkeypatch):
    old = install(tmp_path / "old", database_url, monkeypatch)
    (tmp_path / "old/config/plan.yaml").write_text("company: Old Co\n", encoding="utf-8")
    (tmp_path / "old/config/secrets.yaml").write_text("staff: {}\n", encoding="utf-8")
    (tmp_path / "old/config/notifications.yaml").write_text("alerts: []\n", encoding="utf-8")
    (tmp_path / "old/config/settings.yaml").write_text("log_level: INFO\n", encoding="utf-8")
    voicemail = tmp_path / "old/var/voicemail/7.wav"
    voicemail.parent.mkdir(parents=True)
    voicemail.write_bytes(b"RIFF-voicemail")
    recording = tmp_path / "old/asterisk/spool/recording/vm-1.wav"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"RIFF-recording")
    message = tmp_path / "old/asterisk/spool/recording/voicemail/box-102/msg-1.wav"   # a personal box
    message.parent.mkdir(parents=True)
    message.write_bytes(b"RIFF-message")
    call_recording = tmp_path / "old/var/recordings/2026/11/24/call-1.ogg"
    call_recording.parent.mkdir(parents=True)
    call_recording.write_bytes(b"OggS")

    db = await open_database(database_url)
    try:
        call = await CallStore(db).start("ch-1", "+79161234567", "+74951112233", "ads", 1, NOW)
        await CallStore(db).finish(call, NOW, "no_answer")
        plans = PlanStore(db)
        await plans.activate(await plans.save("company: Old Co\n", "plan.yaml", "abc", "admin"))

        async def quiet(*_):
            pass
        await MissedStore(db).add_missed(MissedCall(call, "+79161234567", "+74951112233", "ads", "", NOW,
                                                    "no_answer", "hunt", False, str(voicemail)), NOW, quiet)
        await CampaignStore(db).create("December reminders", "reminder", "default", NOW)
        backup_file = tmp_path / "pbx.tar.gz"
        assert await asyncio.to_thread(main, ["backup", str(backup_file)]) == 0        # online: the database stays open
    finally:
        await db.close()

    new_url = await fresh_url(database_url, request, tmp_path)
    new = install(tmp_path / "new", new_url, monkeypatch)
    assert await asyncio.to_thread(main, ["restore", str(backup_file)]) == 0

    db = await open_database(new_url)
    try:
        [restored] = await CallStore(db).list(limit=10)
        assert (restored.caller, restored.outcome) == ("+79161234567", "no_answer")
        [item] = await MissedStore(db).list()
        assert item.customer == "+79161234567" and item.voicemail == new["IVR_VAR_DIR"] + "/voicemail/7.wav"
        assert Path(item.voicemail).read_bytes() == b"RIFF-voicemail"
        [version] = await PlanStore(db).list()
        assert version.active and version.text == "company: Old Co\n"
        assert [c.name for c in await CampaignStore(db).list()] == ["December reminders"]
        # new rows go on after the restored ones (PostgreSQL's sequences were moved on)
        assert await CallStore(db).start("ch-2", "+79161234568", "+74951112233", "ads", 1, NOW) > call
    finally:
        await db.close()
    assert (tmp_path / "new/config/plan.yaml").read_text() == "company: Old Co\n"
    assert (tmp_path / "new/config/notifications.yaml").read_text() == "alerts: []\n"
    assert (tmp_path / "new/var/settings.yaml.from-backup").read_text() == "log_level: INFO\n"
    assert '"vm-1.wav"' in (tmp_path / "new/var/recordings.json").read_text()
    assert '"calls/2026/11/24/call-1.ogg"' in (tmp_path / "new/var/recordings.json").read_text()
    assert (tmp_path / "new/asterisk/spool/recording/voicemail/box-102/msg-1.wav").read_bytes() == b"RIFF-message"
    assert old["IVR_VAR_DIR"] != new["IVR_VAR_DIR"]

    # A second restore would overwrite what is there now: refused, naming the table.
    assert await asyncio.to_thread(main, ["restore", str(backup_file)]) == 1

def test_restore_of_something_else_says_so(tmp_path, monkeypatch, capsys):
    install(tmp_path / "x", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", monkeypatch)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar")
    assert main(["restore", str(junk)]) == 1
    assert "not a backup made by `ivr backup`" in capsys.readouterr().err
