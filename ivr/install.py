"""`make install` / `make uninstall`: the product under conventional places on a Debian 12 server.

  /opt/ivr-pbx               the code (a copy of this checkout's product files) and its venv
  /etc/ivr-pbx               settings.yaml, plan.yaml, secrets.yaml, notifications.yaml (kept on reinstall)
  /var/lib/ivr-pbx           database, voicemail, rendered Asterisk configuration and spool
  /lib/systemd/system        ivr-pbx-asterisk.service and ivr-pbx.service; logs go to journald
  /usr/local/bin/ivr         the CLI with the installed settings

`--destdir` installs into a staging root (packaging, tests) and never touches systemd; `uninstall`
removes code, units and the command and keeps /etc/ivr-pbx and /var/lib/ivr-pbx.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ivr.asterisk.process import Instance
from ivr.config import ROOT

PREFIX = Path("/opt/ivr-pbx")
ETC = Path("/etc/ivr-pbx")
DATA = Path("/var/lib/ivr-pbx")
UNITS = Path("/lib/systemd/system")
BIN = Path("/usr/local/bin/ivr")
ROOTFS = Path("/var/cache/ivr-pbx/rootfs")
PRODUCT = ("ivr", "agi_scripts", "dialplan", "sounds", "config", "docs", "ari_app.py", "pyproject.toml",
           "README.md", "Makefile", "scripts")
SERVICE_UNIT = "ivr-pbx.service"
ASTERISK_UNIT = "ivr-pbx-asterisk.service"

SETTINGS = f"""\
# Settings of this installation (ivr/config.py names every key; README's table explains them).
# Each key can be overridden by an environment variable IVR_<NAME>. `ivr doctor` checks them.
database_url: sqlite+aiosqlite:///{DATA}/ivr.db    # or postgresql+asyncpg://user:password@host/db
plan_file: {ETC}/plan.yaml
secrets_file: {ETC}/secrets.yaml
var_dir: {DATA}
asterisk_mode: bundled
asterisk_rootfs: {ROOTFS}
asterisk_config_dir: {DATA}/asterisk/etc
sip_address: 127.0.0.1        # the server's address on the office network, where phones register
sip_port: 5060
web_host: 127.0.0.1
web_port: 8080
public_url: http://127.0.0.1:8080
# Behind the office router's NAT (docs/trunks.md): public_address, local_networks, qualify_seconds: 30
log_format: json
"""

ASTERISK = """\
[Unit]
Description=IVR-PBX: the bundled Asterisk 22 (rings the fallback phones while the service is down)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
Environment=IVR_SETTINGS={etc}/settings.yaml
ExecStartPre={bin} asterisk render
ExecStart={command}
Restart=on-failure
RestartSec=2
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""

SERVICE = """\
[Unit]
Description=IVR-PBX service: calls over ARI, web console and API
After=network-online.target {asterisk_unit} postgresql.service
Wants=network-online.target {asterisk_unit}
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
# READY=1 once it serves; WATCHDOG=1 from its event loop: a hung loop is restarted
Type=notify
NotifyAccess=main
WatchdogSec=30
Environment=IVR_SETTINGS={etc}/settings.yaml
ExecStart={prefix}/.venv/bin/python {prefix}/ari_app.py
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
"""

COMMAND = """\
#!/bin/sh
# Installed by `make install`: the ivr command with this installation's settings.
IVR_SETTINGS="${{IVR_SETTINGS:-{etc}/settings.yaml}}" exec {prefix}/.venv/bin/python -m ivr.cli "$@"
"""


def _staged(destdir: Path, path: Path) -> Path:
    return destdir / path.relative_to("/")


def _write(path: Path, text: str, mode: int = 0o644, keep: bool = False) -> None:
    if keep and path.exists():
        return                      # the admin's own configuration survives a reinstall
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def install(destdir: Path, venv: bool) -> list[Path]:
    prefix = _staged(destdir, PREFIX)
    for name in PRODUCT:
        source, target = ROOT / name, prefix / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "var"))
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    etc, data = _staged(destdir, ETC), _staged(destdir, DATA)
    _write(etc / "settings.yaml", SETTINGS, keep=True)
    for name in ("plan.yaml", "notifications.yaml"):
        _write(etc / name, (ROOT / "config" / name).read_text(encoding="utf-8"), keep=True)
    _write(etc / "secrets.yaml", (ROOT / "config" / "secrets.yaml").read_text(encoding="utf-8"), 0o600, keep=True)
    for sub in ("", "voicemail", "asterisk/etc"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    asterisk = Instance("pbx", DATA / "asterisk", ROOTFS)
    context = {"etc": ETC, "prefix": PREFIX, "bin": BIN, "asterisk_unit": ASTERISK_UNIT,
               "command": " ".join(asterisk.command("-f", "-n"))}
    units = _staged(destdir, UNITS)
    written = [units / ASTERISK_UNIT, units / SERVICE_UNIT, _staged(destdir, BIN)]
    _write(written[0], ASTERISK.format(**context))
    _write(written[1], SERVICE.format(**context))
    _write(written[2], COMMAND.format(**context), 0o755)
    if venv:
        subprocess.run([sys.executable, "-m", "venv", str(prefix / ".venv")], check=True)
        # editable: the package finds its templates, scripts and sounds beside it (ivr.config.ROOT)
        subprocess.run([str(prefix / ".venv/bin/pip"), "install", "-q", "-e", str(prefix)], check=True)
    if destdir == Path("/") and _systemd_running():
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "enable", ASTERISK_UNIT, SERVICE_UNIT], check=True)
    return written


def uninstall(destdir: Path) -> None:
    if destdir == Path("/") and _systemd_running():
        subprocess.run(["systemctl", "disable", "--now", SERVICE_UNIT, ASTERISK_UNIT], check=False)
    for unit in (ASTERISK_UNIT, SERVICE_UNIT):
        _staged(destdir, UNITS / unit).unlink(missing_ok=True)
    _staged(destdir, BIN).unlink(missing_ok=True)
    shutil.rmtree(_staged(destdir, PREFIX), ignore_errors=True)
    if destdir == Path("/") and _systemd_running():
        subprocess.run(["systemctl", "daemon-reload"], check=False)


def _systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.install", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument("--destdir", type=Path, default=Path(os.environ.get("DESTDIR") or "/"))
    parser.add_argument("--no-venv", action="store_true", help="do not build the venv (staging, tests)")
    args = parser.parse_args(argv)
    if args.action == "install":
        for path in install(args.destdir.resolve(), venv=not args.no_venv):
            print(f"installed {path}")
        print(f"configuration in {_staged(args.destdir, ETC)}, data in {_staged(args.destdir, DATA)}; "
              f"`ivr doctor` checks the installation")
    else:
        uninstall(args.destdir.resolve())
        print(f"removed; {ETC} and {DATA} are kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
