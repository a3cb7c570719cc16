"""`make install` into a staging root (DESTDIR): units, paths and configuration, checked without
systemd as PID 1; `make uninstall` keeps configuration and data. And the notify protocol the unit's
Type=notify and WatchdogSec rely on, against a real datagram socket."""
from __future__ import annotations

import asyncio
import configparser
import os
import socket
import subprocess
from pathlib import Path

from ivr import sd_notify
from ivr.config import ROOT, load_settings
from ivr.install import main as install_main


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_install_into_a_staging_root_and_uninstall(tmp_path):
    root = tmp_path / "root"
    assert install_main(["install", "--destdir", str(root), "--no-venv"]) == 0
    service = unit(root / "lib/systemd/system/ivr-pbx.service")
    assert service["Service"]["Type"] == "notify" and service["Service"]["WatchdogSec"] == "30"
    assert service["Service"]["Restart"] == "on-failure"
    assert service["Service"]["ExecStart"] == "/opt/ivr-pbx/.venv/bin/python /opt/ivr-pbx/ari_app.py"
    assert service["Service"]["Environment"] == "IVR_SETTINGS=/etc/ivr-pbx/settings.yaml"
    assert "network-online.target" in service["Unit"]["After"] and "postgresql.service" in service["Unit"]["After"]
    assert "ivr-pbx-asterisk.service" in service["Unit"]["After"]
    assert service["Install"]["WantedBy"] == "multi-user.target"
    asterisk = unit(root / "lib/systemd/system/ivr-pbx-asterisk.service")
    assert asterisk["Service"]["Restart"] == "on-failure"
    assert asterisk["Service"]["ExecStart"].endswith(
        "/usr/sbin/asterisk -C /var/lib/ivr-pbx/asterisk/etc/asterisk.conf -f -n")
    assert asterisk["Service"]["ExecStartPre"] == "/usr/local/bin/ivr asterisk render"
    assert "network-online.target" in asterisk["Unit"]["After"]
    # code, configuration (secrets readable by root only), data, the command
    assert (root / "opt/ivr-pbx/ivr/config.py").is_file() and (root / "opt/ivr-pbx/dialplan/pbx").is_dir()
    assert (root / "etc/ivr-pbx/secrets.yaml").stat().st_mode & 0o777 == 0o600
    assert (root / "var/lib/ivr-pbx/voicemail").is_dir()
    assert os.access(root / "usr/local/bin/ivr", os.X_OK)
    settings = load_settings(root / "etc/ivr-pbx/settings.yaml", env={})
    assert (settings.plan_file, settings.var_dir) == ("/etc/ivr-pbx/plan.yaml", "/var/lib/ivr-pbx")
    assert settings.database_url == "sqlite+aiosqlite:////var/lib/ivr-pbx/ivr.db"
    assert settings.asterisk_config_dir == "/var/lib/ivr-pbx/asterisk/etc"

    # A reinstall keeps the admin's configuration.
    (root / "etc/ivr-pbx/plan.yaml").write_text("company: Mine\n", encoding="utf-8")
    assert install_main(["install", "--destdir", str(root), "--no-venv"]) == 0
    assert (root / "etc/ivr-pbx/plan.yaml").read_text() == "company: Mine\n"

    assert install_main(["uninstall", "--destdir", str(root)]) == 0
    assert not (root / "opt/ivr-pbx").exists() and not (root / "lib/systemd/system/ivr-pbx.service").exists()
    assert not (root / "usr/local/bin/ivr").exists()
    assert (root / "etc/ivr-pbx/plan.yaml").exists() and (root / "var/lib/ivr-pbx").is_dir()


def test_make_install_passes_destdir():
    dry = subprocess.run(["make", "-n", "install", "uninstall", "DESTDIR=/tmp/stage", "INSTALL_VENV=no"],
                         cwd=ROOT, capture_output=True, text=True)
    assert '-m ivr.install install --destdir "/tmp/stage" --no-venv' in dry.stdout, dry.stdout
    assert '-m ivr.install uninstall --destdir "/tmp/stage"' in dry.stdout


async def test_ready_and_watchdog_reach_systemd(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        monkeypatch.setenv("WATCHDOG_USEC", "100000")             # WatchdogSec=0.1: pings every 0.05 s
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
        assert sd_notify.notify("READY=1")
        assert server.recv(64) == b"READY=1"
        task = asyncio.create_task(sd_notify.watchdog())
        await asyncio.sleep(0.12)
        task.cancel()
        assert [server.recv(64) for _ in range(2)] == [b"WATCHDOG=1", b"WATCHDOG=1"]


def test_without_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not sd_notify.notify("READY=1")
