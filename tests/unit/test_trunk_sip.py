"""A trunk's `sip:` settings: what a good one becomes in the plan and in pjsip.conf/extensions.conf,
and every mistake reported at its FILE:LINE:COL."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.asterisk.process import Instance
from ivr.asterisk.render import render_pbx
from ivr.config import load_settings
from ivr.plan.loader import PlanError, load_plan_text
from ivr.plan.model import TrunkSip
from ivr.routing.numbers import for_trunk

PLAN = """\
company: X
timezone: Europe/Moscow
country: RU
language: ru
numbers:
  "+74951112233": {{entry: bye}}
nodes:
  bye: {{type: hangup}}
trunks:
  carrier:
    host: sip.carrier.example
    caller_id: "+74951112233"
    sip: {sip}
"""
SECRETS = "trunks:\n  carrier: {username: office7001, password: carrier-secret-1}\n"


def plan_with(tmp_path: Path, sip: str, secrets: str = SECRETS):
    path = tmp_path / "secrets.yaml"
    path.write_text(secrets, encoding="utf-8")
    return load_plan_text(PLAN.format(sip=sip), "plan.yaml", secrets_path=path)


def problems(tmp_path: Path, sip: str, secrets: str = SECRETS) -> list[str]:
    with pytest.raises(PlanError) as info:
        plan_with(tmp_path, sip, secrets)
    return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]


def test_a_trunk_without_sip_is_known_by_its_address(tmp_path):
    trunk = plan_with(tmp_path, "{}").trunks["carrier"]
    assert trunk.sip == TrunkSip()
    assert trunk.sip.codecs == ("alaw", "ulaw") and trunk.sip.identify == "address"


def test_a_registration_trunk(tmp_path):
    sip = plan_with(tmp_path, "{register: yes, expiry: 300, retry_seconds: 30, codecs: [alaw], "
                              "dtmf: info, did_from: to, number_format: national}").trunks["carrier"].sip
    assert (sip.register, sip.expiry, sip.retry_seconds, sip.identify) == (True, 300, 30, "registration")
    assert (sip.codecs, sip.dtmf, sip.did_from, sip.number_format) == (("alaw",), "info", "to", "national")


@pytest.mark.parametrize("sip,expected", [
    ("{register: yes, client: yes}",
     "13:34: trunk 'carrier': sip: register (we register to the carrier) and client"),
    ("{identify: registration}", "13:21: trunk 'carrier': sip.identify: 'registration' needs register: yes"),
    ("{identify: header}", "13:10: trunk 'carrier': sip: 'header' is missing"),
    ("{identify: header, header: nonsense}", "13:37: trunk 'carrier': sip.header: 'nonsense' must be"),
    ("{codecs: [alaw, g711]}", "13:26: trunk 'carrier': sip.codecs: 'g711' is not one of"),
    ("{dtmf: rfc2833}", "13:17: trunk 'carrier': sip.dtmf: 'rfc2833' is not one of"),
    ("{did_from: header}", "13:21: trunk 'carrier': sip: did_from: header needs did_header"),
    ("{expiry: 0}", "13:19: trunk 'carrier': sip.expiry: must be more than 0"),
    ("{registr: yes}", "13:11: trunk 'carrier': sip: unknown key 'registr'"),
])
def test_mistakes_are_reported_where_they_are(tmp_path, sip, expected):
    found = problems(tmp_path, sip)
    assert any(p.startswith(expected) for p in found), found


def test_registration_needs_a_login_in_the_secrets(tmp_path):
    found = problems(tmp_path, "{register: yes}", secrets="staff: {}\n")
    assert found == ["13:21: trunk 'carrier': sip: registration needs the trunk's username and password "
                     "under trunks: 'carrier' in the secrets file"]


def render(tmp_path: Path, sip: str, host: str = "sip.carrier.example") -> tuple[str, str]:
    plan = load_plan_text(PLAN.format(sip=sip).replace("sip.carrier.example", host), "plan.yaml",
                          secrets_path=_secrets(tmp_path))
    settings = load_settings(env={"IVR_SETTINGS": str(tmp_path / "none.yaml")})
    instance = Instance("pbx", tmp_path / "pbx", Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    return (instance.etc / "pjsip.conf").read_text(), (instance.etc / "extensions.conf").read_text()


def _secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(SECRETS, encoding="utf-8")
    return path


def section(text: str, name: str, kind: str) -> dict[str, str]:
    """The options of section [name] whose type is kind (endpoints use a template: (media))."""
    for block in text.split("\n["):
        head, _, body = block.partition("\n")
        if head.split("]")[0] != name:
            continue
        options = dict(line.split(" = ", 1) for line in body.splitlines() if " = " in line)
        if options.get("type", "endpoint") == kind:
            return options
    raise AssertionError(f"no [{name}] of type {kind}")


def test_registration_renders_digest_auth_and_line_identification(tmp_path):
    pjsip, _ = render(tmp_path, "{register: yes, expiry: 300, retry_seconds: 30, forbidden_retry_seconds: 90}")
    reg = section(pjsip, "trunk-carrier-reg", "registration")
    assert reg["server_uri"] == "sip:sip.carrier.example"
    assert reg["client_uri"] == "sip:office7001@sip.carrier.example"
    assert (reg["expiration"], reg["retry_interval"], reg["forbidden_retry_interval"]) == ("300", "30", "90")
    assert (reg["line"], reg["endpoint"], reg["outbound_auth"]) == ("yes", "trunk-carrier", "trunk-carrier-auth")
    assert section(pjsip, "trunk-carrier-auth", "auth")["username"] == "office7001"
    endpoint = section(pjsip, "trunk-carrier", "endpoint")
    assert endpoint["from_user"] == "office7001" and endpoint["outbound_auth"] == "trunk-carrier-auth"
    with pytest.raises(AssertionError):
        section(pjsip, "trunk-carrier", "identify")      # known by its registration's line, not an address


def test_codecs_dtmf_and_a_dns_name(tmp_path):
    pjsip, _ = render(tmp_path, "{codecs: [alaw], dtmf: inband}")
    endpoint = section(pjsip, "trunk-carrier", "endpoint")
    assert (endpoint["allow"], endpoint["dtmf_mode"]) == ("alaw", "inband")
    assert section(pjsip, "trunk-carrier", "aor")["contact"] == "sip:sip.carrier.example"   # SRV looked up
    assert section(pjsip, "trunk-carrier", "identify")["match"] == "sip.carrier.example"


def test_header_identification_and_the_number_called_in_a_header(tmp_path):
    pjsip, extensions = render(tmp_path, "{identify: header, header: 'X-Trunk: office', did_from: header, "
                                         "did_header: X-Called-Number}")
    assert section(pjsip, "trunk-carrier", "identify")["match_header"] == "X-Trunk: office"
    assert section(pjsip, "trunk-carrier", "endpoint")["context"] == "from-trunk-carrier"
    assert "[from-trunk-carrier]\n" in extensions
    assert "Goto(from-trunk,${PJSIP_HEADER(read,X-Called-Number)},1)" in extensions


def test_number_in_to_header(tmp_path):
    _, extensions = render(tmp_path, "{did_from: to}")
    assert "Goto(from-trunk,${CUT(CUT(PJSIP_HEADER(read,To),@,1),:,2)},1)" in extensions


def test_a_gateway_registering_to_the_pbx(tmp_path):
    pjsip, _ = render(tmp_path, "{client: yes}", host="192.168.1.50")
    endpoint = section(pjsip, "trunk-carrier", "endpoint")
    assert endpoint["auth"] == "trunk-carrier-auth" and endpoint["aors"] == "office7001"
    assert "outbound_auth" not in endpoint
    assert section(pjsip, "office7001", "aor")["max_contacts"] == "1"
    assert section(pjsip, "trunk-carrier", "identify")["match"] == "192.168.1.50"


@pytest.mark.parametrize("fmt,number,sent", [
    ("e164", "+79161234567", "+79161234567"), ("national", "+79161234567", "89161234567"),
    ("ten", "+79161234567", "9161234567"), ("national", "+493012345678", "810493012345678"),
    ("ten", "+493012345678", "810493012345678"), ("national", "", ""),
])
def test_numbers_in_the_format_a_trunk_wants(fmt, number, sent):
    assert for_trunk(number, fmt) == sent


def test_a_carrier_known_by_name_is_identified_by_its_published_addresses(tmp_path):
    pjsip, _ = render(tmp_path, "{match: [203.0.113.10, 198.51.100.0/24]}")
    assert section(pjsip, "trunk-carrier", "identify")["match"] == "203.0.113.10/32,198.51.100.0/24"
    assert problems(tmp_path, "{match: [sip.example]}") == [
        "13:19: trunk 'carrier': sip.match: 'sip.example' is not an IP address or network like 203.0.113.0/24"]
