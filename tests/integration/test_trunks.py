"""Trunks as carriers sell them, on real SIP (plan tests/integration/plans/carriers.yaml): the world
plays a carrier that takes calls only from a PBX registered to it with digest auth, one that names
the trunk and the number called in headers, an A-law-only one, and a GSM gateway registering to the
PBX. Calls come in and go out through each."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from conftest import PBX_IP, PLANS, WORLD_IP, plan_text
from ivr.asterisk.render import WorldLayout, render_world
from ivr.notify.mailbox import Mailbox
from ivr.plan.loader import load_plan
from ivr.testing.world import Behaviour, World
from test_missed import mailbox  # noqa: F401  (its SMTP server fixture)
from test_routing import dial_from_phone, ivr_cli, national, wait_incoming

MAIN = "+74951110000"
SECRETS = PLANS / "carriers-secrets.yaml"


async def wait_cli(instance, command: str, needle: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = instance.cli(command)
        if needle in out or time.monotonic() > deadline:
            assert needle in out, f"{needle!r} not in `{command}`:\n{out}"
            return out
        await asyncio.sleep(0.3)


@pytest.fixture
async def carriers(service_process, base_env, world, pbx, settings, plan, stack_dir, mailbox):
    """The service on the carriers plan, checking trunks every second and mailing alerts; the world
    plays each carrier on its address."""
    home = stack_dir / "carriers"
    home.mkdir(exist_ok=True)
    plan_path = home / "carriers.yaml"
    plan_path.write_text(plan_text("carriers.yaml"), encoding="utf-8")
    (home / "notifications.yaml").write_text(
        f"mail: {{host: 127.0.0.1, port: {mailbox.port}, from: pbx@test.example, timeout: 3}}\n"
        "retry_max_seconds: 2\nalerts: [admin@test.example]\n", encoding="utf-8")
    carriers_plan = load_plan(plan_path, secrets_path=SECRETS)
    if render_world(settings, carriers_plan, WorldLayout(WORLD_IP, 8088, PBX_IP, 5060), world.instance):
        world.instance.cli("module reload res_pjsip.so")
    world.carriers.update({t.host.split(":")[0]: name for name, t in carriers_plan.trunks.items()})
    var = stack_dir / "var-carriers"
    wanted = {"IVR_PLAN_FILE": str(plan_path), "IVR_SECRETS_FILE": str(SECRETS), "IVR_VAR_DIR": str(var),
              "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{home}/carriers.db", "IVR_TRUNK_CHECK_SECONDS": "1"}
    if service_process.proc is None or service_process.proc.poll() is not None \
            or service_process.current != wanted:
        var.mkdir(exist_ok=True)
        service_process.stop()
        service_process.start(**wanted)
        await service_process.wait_ready()
        for command in ("module reload res_pjsip.so", "dialplan reload"):
            pbx.cli(command)
    # The PBX registered to the carrier, the gateway to the PBX.
    await wait_cli(pbx, "pjsip show registrations", "Registered")
    await wait_cli(pbx, "pjsip show contacts", "goip1/sip:goip1@")
    world.reset()
    await asyncio.sleep(1.0)      # the previous test's reservations on the router run out
    service_process.env_carriers = {**base_env, **wanted}
    yield service_process
    # The modules after this one call through the default plan's carriers again.
    if render_world(settings, plan, WorldLayout(WORLD_IP, 8088, PBX_IP, 5060), world.instance):
        world.instance.cli("module reload res_pjsip.so")


async def call_in(world: World, service, caller: str, **how) -> None:
    """A caller reaches the company's greeting through one carrier; the call is recorded."""
    leg = await world.call(MAIN, caller, **how)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.wait_for(leg.ended.wait(), 20)       # greeting, goodbye, hang-up
    record = await service.call_record(caller)
    assert record["company_number"] == MAIN, record


async def call_out(world: World, dialled_e164: str, carrier: str, sent: str = "") -> None:
    """Staff phone 101 dials a number; it reaches the carrier in the format the trunk wants (`sent`)."""
    sent = sent or dialled_e164
    world.behaviours[sent] = Behaviour("answer", after=0.2, hangup_after=0.5)
    phone = await dial_from_phone(world, "101", national(dialled_e164) if dialled_e164.startswith("+7")
                                  else "810" + dialled_e164[1:])
    [leg] = await wait_incoming(world, 1)
    assert (leg.target, leg.via) == (sent, carrier)
    await asyncio.wait_for(phone.ended.wait(), 10)
    assert leg.answered_at is not None


async def test_registered_carrier_with_digest_auth(carriers, world, pbx):
    # In: the carrier sends the call to the Contact the PBX registered (identified by its line).
    await call_in(world, carriers, "+79161000501", via="reg", endpoint="office7001")
    # Out: the carrier challenges the INVITE; From carries the login, the caller ID goes in PAI,
    # both numbers as this carrier wants them (8 and ten digits).
    await call_out(world, "+74957654321", "reg", sent="84957654321")
    assert world.incoming[0].caller_number == "84951110000"


async def test_carrier_identified_by_a_header_with_the_number_in_another(carriers, world):
    await call_in(world, carriers, "+79161000502", via="hdr",
                  headers={"X-Carrier": "hdr", "X-Called-Number": MAIN})
    await call_out(world, "+493012345678", "hdr")


async def test_alaw_only_carrier(carriers, world):
    leg = await world.call(MAIN, "+79161000503", via="alaw")
    await asyncio.wait_for(leg.answered.wait(), 10)
    assert await world.ari.get_var(leg.channel_id, "CHANNEL(audionativeformat)") == "(alaw)"
    await asyncio.wait_for(leg.ended.wait(), 20)
    await call_out(world, "+79031234567", "alaw")


async def test_gsm_gateway_registered_to_the_pbx(carriers, world):
    await call_in(world, carriers, "+79261000504", via="gsm")
    await call_out(world, "+79261234567", "gsm")


def trunks(env: dict[str, str]) -> dict[str, dict]:
    shown = ivr_cli(env, "trunks", "--json")
    assert shown.returncode in (0, 1), shown.stderr
    return {t["name"]: t for t in json.loads(shown.stdout)}


async def wait_mail(mailbox: Mailbox, subject: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in mailbox.snapshot() if m["Subject"] == subject]
        if found:
            return found[0]
        await asyncio.sleep(0.3)
    raise AssertionError(f"no mail {subject!r}: {[m['Subject'] for m in mailbox.snapshot()]}")


async def test_registration_loss_and_recovery_are_shown_and_mailed(carriers, world, pbx, settings, mailbox):
    env = carriers.env_carriers
    before = trunks(env)
    assert (before["reg"]["registration"], before["gsm"]["registration"]) == ("Registered", "Registered")
    assert before["alaw"]["kind"] == "peer" and before["reg"]["channels"] == 0

    # The carrier stops taking our login (a password changed on its side): the PBX's next REGISTER fails.
    world_conf = world.instance.etc / "pjsip.conf"
    world_conf.write_text(world_conf.read_text().replace("password = reg-secret-7001", "password = changed-1234"))
    world.instance.cli("module reload res_pjsip.so")
    pbx.cli("pjsip send register trunk-reg-reg")
    failed = await wait_mail(mailbox, "Транк reg: регистрация не проходит")
    assert failed["To"] == "admin@test.example"
    shown = trunks(env)["reg"]
    assert shown["registration"] != "Registered" and shown["last_failure"] and not shown["ok"]
    assert ivr_cli(env, "trunks").returncode == 1                        # a failing trunk: exit status 1

    # The carrier takes it again: the PBX's retry registers, and that is mailed too.
    plan = load_plan(carriers.env_carriers["IVR_PLAN_FILE"], secrets_path=SECRETS)
    render_world(settings, plan, WorldLayout(WORLD_IP, 8088, PBX_IP, 5060), world.instance)
    world.instance.cli("module reload res_pjsip.so")
    await wait_mail(mailbox, "Транк reg: регистрация восстановлена")
    # The carrier's reloaded registrar may refuse one more REGISTER in flight before it takes the
    # retry: `ivr trunks` shows the state the PBX reaches, not one passing moment.
    for _ in range(40):
        shown = trunks(env)["reg"]
        if shown["registration"] == "Registered":
            break
        await asyncio.sleep(0.5)
    assert shown["registration"] == "Registered" and shown["ok"] and shown["last_failure"]


async def test_doctor_on_the_running_pbx(carriers, world):
    done = ivr_cli(carriers.env_carriers, "doctor")
    out = done.stdout
    for line in ("ok      trunk reg: registered", "ok      trunk gsm: registered",
                 "ok      trunk alaw: known by address", "ok      phone 101: registered",
                 "ok      phone 103: registered", "ok      service: answers at"):
        assert line in out, out
    assert f"ok      ports: SIP listens on {PBX_IP}:5060" in out, out
    # the test stack's own departures from a real office: loopback addresses and a fixed clock
    assert "PROBLEM clock: the clock is fixed" in out and done.returncode == 1


async def test_a_forwarded_caller_is_shown_in_the_carriers_number_format(carriers, world):
    # The company's second line forwards to a landline number, which leaves on "reg" (numbers in
    # the national format): the callee sees the caller's number as that carrier wants it.
    world.behaviours["84957654399"] = Behaviour("answer", after=0.2, hangup_after=0.5)
    caller = await world.call("+74951110009", "+79161000599", via="alaw")
    [leg] = await wait_incoming(world, 1)
    assert (leg.target, leg.via, leg.caller_number) == ("84957654399", "reg", "89161000599")
    await asyncio.wait_for(caller.ended.wait(), 20)
    assert leg.answered_at is not None
