"""NAT and remote-phone settings rendered into pjsip.conf, and bad settings named."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.asterisk.process import Instance
from ivr.asterisk.render import render_pbx
from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.plan.loader import load_plan
from ivr.testing.certs import make_cert

PLANS = Path(__file__).resolve().parents[1] / "integration" / "plans"


def rendered(tmp_path: Path, **env: str) -> str:
    settings = load_settings(env={"IVR_SETTINGS": str(tmp_path / "none.yaml"),
                                  **{f"IVR_{k.upper()}": v for k, v in env.items()}})
    plan = load_plan(PLANS / "ivr.yaml", secrets_path=PLANS / "secrets.yaml")
    instance = Instance("pbx", tmp_path / "pbx", Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    return (instance.etc / "pjsip.conf").read_text()


def test_no_nat_settings_no_nat_options(tmp_path):
    text = rendered(tmp_path)
    assert "external_signaling_address" not in text and "transport-tls" not in text
    assert "media_encryption" not in text and "qualify_frequency = 0" in text


def test_behind_nat(tmp_path):
    text = rendered(tmp_path, public_address="203.0.113.7", local_networks="192.168.1.0/24, 10.8.0.1/16",
                    qualify_seconds="30")
    assert "external_signaling_address = 203.0.113.7\nexternal_media_address = 203.0.113.7\n" in text
    assert "local_net = 192.168.1.0/24\n" in text and "local_net = 10.8.0.0/16\n" in text
    assert "qualify_frequency = 30" in text
    for option in ("direct_media = no", "rtp_symmetric = yes", "force_rport = yes", "rewrite_contact = yes"):
        assert option in text


def test_remote_phones_over_tls_with_srtp(tmp_path):
    cert, key = make_cert(tmp_path)
    text = rendered(tmp_path, tls_port="5061", tls_cert_file=str(cert), tls_key_file=str(key), srtp="optional")
    assert f"protocol = tls\nbind = 127.0.0.1:5061\ncert_file = {cert}\npriv_key_file = {key}\n" in text
    assert "media_encryption = sdes\nmedia_encryption_optimistic = yes" in text
    assert "[101](staff-media)" in text


@pytest.mark.parametrize("env,message", [
    ({"local_networks": "192.168.1/33"}, "setting local_networks: '192.168.1/33' is not a network"),
    ({"srtp": "always"}, "setting srtp: 'always' is not one of"),
    ({"tls_port": "5061", "tls_cert_file": "/nonexistent.crt"}, "setting tls_cert_file: '/nonexistent.crt' is not a file"),
])
def test_bad_settings_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError) as info:
        rendered(tmp_path, **env)
    assert message in info.value.message
