"""The NAT and remote-phone settings load in the real Asterisk: a PBX rendered with a public
address, local networks, keepalives, a TLS transport and SRTP starts and shows them."""
from __future__ import annotations

from pathlib import Path

from conftest import NET, PLANS
from ivr.asterisk.process import Instance
from ivr.asterisk.render import render_pbx
from ivr.config import load_settings
from ivr.plan.loader import load_plan
from ivr.testing.certs import make_cert


def test_nat_tls_and_srtp_load_in_asterisk(tmp_path):
    address = f"{NET}.60"                 # its own address: the suite's PBX keeps NET.1
    cert, key = make_cert(tmp_path)
    settings = load_settings(env={
        "IVR_SETTINGS": str(PLANS / "settings.yaml"), "IVR_SIP_ADDRESS": address,
        "IVR_ARI_URL": f"http://{address}:8088", "IVR_PUBLIC_ADDRESS": "203.0.113.7",
        "IVR_LOCAL_NETWORKS": "192.168.1.0/24,10.8.0.0/16", "IVR_QUALIFY_SECONDS": "30",
        "IVR_TLS_PORT": "5061", "IVR_TLS_CERT_FILE": str(cert), "IVR_TLS_KEY_FILE": str(key),
        "IVR_SRTP": "optional"})
    plan = load_plan(PLANS / "ivr.yaml", secrets_path=PLANS / "secrets.yaml")
    instance = Instance("nat", tmp_path / "pbx", Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    instance.start()
    try:
        udp = instance.cli("pjsip show transport transport-udp")
        assert "203.0.113.7" in udp and "192.168.1.0" in udp and "10.8.0.0" in udp, udp
        tls = instance.cli("pjsip show transport transport-tls")
        assert f"{address}:5061" in tls and str(cert) in tls, tls
        phone = instance.cli("pjsip show endpoint 101")
        assert "media_encryption" in phone and "sdes" in phone, phone
        assert "30" in instance.cli("pjsip show aor 101")
    finally:
        instance.stop()
