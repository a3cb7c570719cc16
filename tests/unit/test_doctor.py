"""`ivr doctor` on an installation with nothing running: each problem in plain words, exit status 1."""
from __future__ import annotations

from pathlib import Path

from ivr.cli import main

PLANS = Path(__file__).resolve().parents[1] / "integration" / "plans"


def test_doctor_names_what_is_wrong(tmp_path, monkeypatch, capsys):
    (tmp_path / "config").mkdir()
    plan = tmp_path / "config" / "plan.yaml"
    plan.write_text((PLANS / "carriers.yaml").read_text(), encoding="utf-8")
    (tmp_path / "config" / "notifications.yaml").write_text(
        "mail: {host: 127.0.0.1, port: 9, from: pbx@test.example}\n", encoding="utf-8")
    for name, value in {"IVR_SETTINGS": str(tmp_path / "none.yaml"), "IVR_PLAN_FILE": str(plan),
                        "IVR_SECRETS_FILE": str(PLANS / "carriers-secrets.yaml"),
                        "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}",
                        "IVR_VAR_DIR": str(tmp_path / "var"), "IVR_ASTERISK_CONFIG_DIR": str(tmp_path / "ast/etc"),
                        "IVR_SIP_ADDRESS": "127.0.0.1", "IVR_WEB_PORT": "9", "IVR_CLOCK": "2026-12-06T09:00:00+03:00",
                        "IVR_PUBLIC_ADDRESS": "203.0.113.7"}.items():
        monkeypatch.setenv(name, value)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "ok      plan: " in out and "ok      database: " in out and "ok      disk: " in out
    expected = [
        "PROBLEM address: sip_address 127.0.0.1 is a loopback address",
        "PROBLEM NAT: public_address is set but local_networks is empty",
        "PROBLEM asterisk: Asterisk is not running",
        "PROBLEM service: nothing answers at http://127.0.0.1:9/status",
        "PROBLEM mail: the mail server 127.0.0.1:9 does not answer",
        "PROBLEM clock: the clock is fixed at 2026-12-06T09:00:00+03:00",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, out)
    assert lines[-1] == f"{sum(1 for line in lines if line.startswith('PROBLEM'))} problems"
