"""Trunk health from Asterisk's CLI text, and the alert rule (two failing checks in a row, then the
recovery), on a fake Asterisk that answers with the recorded text of real commands."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from ivr.asterisk.process import Instance
from ivr.plan.loader import load_plan_text
from ivr.routing.trunk_status import TrunkWatch, parse

PLAN = """\
company: X
timezone: Europe/Moscow
country: RU
language: ru
numbers:
  "+74951112233": {entry: bye}
nodes:
  bye: {type: hangup}
trunks:
  reg: {host: sip.example, caller_id: "+74951112233", cost: {landline: 1}, sip: {register: yes}}
  gsm: {host: 192.0.2.5, caller_id: "+74951112233", cost: {mobile: 1}, sip: {client: yes}}
  peer: {host: 192.0.2.9, caller_id: "+74951112233", cost: {international: 1}}
"""
SECRETS = "trunks:\n  reg: {username: office7001, password: reg-secret-1}\n  gsm: {username: goip1, password: gsm-secret-1}\n"
REGISTRATIONS = """
 <Registration/ServerURI..............................>  <Auth....................>  <Status.......>
==========================================================================================

 trunk-reg-reg/sip:sip.example                           trunk-reg-auth              {status}        (exp. 95s)

Objects found: 1
"""
CONTACTS = """
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  101/sip:101@127.0.44.2:5060                    e82b5756e1 NonQual        -nan
{gsm}
Objects found: 2
"""
CHANNELS = ("PJSIP/trunk-reg-00000001!from-trunk!+74951112233!2!Up!Stasis!ivr!+79161234567!!!3!12!!1.1\n"
            "PJSIP/trunk-reg-00000002!from-trunk!+74951112233!2!Up!Stasis!ivr!+79161234568!!!3!12!!1.2\n"
            "PJSIP/101-00000003!from-staff!84951234567!9!Up!Dial!PJSIP/x!101!!!3!12!!1.3\n")
GSM = "  Contact:  goip1/sip:goip1@192.0.2.5:5060                 1a2b3c4d5e NonQual        -nan\n"


def plan(tmp_path: Path):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(SECRETS, encoding="utf-8")
    return load_plan_text(PLAN, "plan.yaml", secrets_path=secrets)


def test_states_from_the_cli(tmp_path):
    states = {s.name: s for s in parse(plan(tmp_path), REGISTRATIONS.format(status="Registered"),
                                       CONTACTS.format(gsm=GSM), CHANNELS)}
    assert (states["reg"].kind, states["reg"].registration, states["reg"].channels) == ("register", "Registered", 2)
    assert (states["gsm"].kind, states["gsm"].registration, states["gsm"].ok) == ("client", "Registered", True)
    assert (states["peer"].kind, states["peer"].registration, states["peer"].ok) == ("peer", "", True)
    states = {s.name: s for s in parse(plan(tmp_path), REGISTRATIONS.format(status="Rejected"),
                                       CONTACTS.format(gsm=""), "")}
    assert (states["reg"].registration, states["reg"].ok) == ("Rejected", False)
    assert (states["gsm"].registration, states["gsm"].ok) == ("Unregistered", False)


class FakeAsterisk(Instance):
    status = "Registered"

    def cli(self, command: str, timeout: float = 10.0) -> str:
        return {"pjsip show registrations": REGISTRATIONS.format(status=self.status),
                "pjsip show contacts": CONTACTS.format(gsm=GSM)}.get(command, "")


async def test_a_failure_is_alerted_at_the_second_check_once_and_its_recovery(tmp_path):
    asterisk = FakeAsterisk("pbx", tmp_path, None)
    mails = []

    async def alert(key, subject, body):
        mails.append(subject)
    clock = [datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)]
    watch = TrunkWatch(asterisk, lambda: plan(tmp_path), lambda: clock[0], tmp_path / "trunks.json", alert, 1)

    async def check(status):
        asterisk.status = status
        clock[0] += timedelta(seconds=30)
        return {s.name: s for s in await watch.check_once()}
    await check("Registered")
    await check("Rejected")
    assert mails == []                                  # one bad check is not yet an alert
    states = await check("Rejected")
    await check("Unregistered")
    assert mails == ["Транк reg: регистрация не проходит"]          # the plan speaks Russian
    assert states["reg"].last_failure == "Rejected" and states["reg"].failing_since
    states = await check("Registered")
    assert mails == ["Транк reg: регистрация не проходит", "Транк reg: регистрация восстановлена"]
    assert states["reg"].ok and states["reg"].last_failure == "Unregistered"
    # The record survives a restart of the service (and `ivr trunks` reads it).
    again = TrunkWatch(asterisk, lambda: plan(tmp_path), lambda: clock[0], tmp_path / "trunks.json", alert, 1)
    assert again.history["reg"]["last_failure"] == "Unregistered"
