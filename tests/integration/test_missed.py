"""The missed-call list on real SIP: items with their reasons, one mail each at a real SMTP server
(aiosmtpd), signed webhooks, call-back through the world's phones and carrier, and notifications that
survive an SMTP outage and a killed service.

The service here runs on its own database and var/ with the test plan and a notifications.yaml
beside it (tests/integration/missed_service.py mounts the missed-call API until create_app does).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import wave
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from conftest import OPEN, SESSION_START, ServiceProcess, plan_text
from waits import wait_bridged, wait_until
from ivr.cli import missed as missed_cli
from ivr.config import load_settings
from ivr.notify.mailbox import Mailbox
from ivr.notify.webhook import KEY_HEADER, SIGNATURE_HEADER, verify
from ivr.testing.audio import silences
from ivr.testing.world import Behaviour, Leg, World

MAIN = "+74951110000"
VOICEMAIL = "+74951110009"     # added to the test plan here: straight to a voicemail box
MANAGED = "+74951110008"       # added here too: a hunt that rings a contact's manager first
MENU_STARTED = 4.5          # seconds from the answer to the menu prompt (ru/welcome is 3.2 s)
AFTER_HOURS = "2026-11-25T20:00:00+03:00"
SECRET = "hook-secret"
SHIM = Path(__file__).parent / "missed_service.py"


class MissedServiceProcess(ServiceProcess):
    """The service process, started through the shim; `clock` restarts it on another time."""

    def start(self, **overrides: str) -> None:
        env = {**os.environ, **self.env, **overrides}
        if "IVR_CLOCK" not in overrides:
            env["IVR_CLOCK"] = (datetime.fromisoformat(OPEN)
                                + timedelta(seconds=time.monotonic() - SESSION_START)).isoformat()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, str(SHIM)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=Path(__file__).resolve().parents[2])
        self.current = overrides

    async def restart(self, sig: int = signal.SIGTERM, **overrides: str) -> None:
        self.stop(sig)
        self.start(**overrides)
        await self.wait_ready()



class Hooks:
    """A webhook receiver on 127.0.0.1 that keeps every request."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            self.received.append((await request.read(), dict(request.headers)))
            return web.Response(text="ok")
        app = web.Application()
        app.router.add_post("/hook", hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def events(self, kind: str) -> list[dict]:
        return [json.loads(body) for body, _ in self.received if json.loads(body)["event"] == kind]


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
async def hooks():
    receiver = Hooks()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture(scope="module")
async def missed_service(service_process, base_env, stack_dir, mailbox, hooks, world):
    # One service per ARI app and web port: the suite's default one steps aside (the `service`
    # fixture of later tests starts it again).
    service_process.stop()
    home = stack_dir / "missed"
    home.mkdir(exist_ok=True)
    plan = plan_text()
    line = '  "+74951110001": {entry: main, source: ads-test}\n'
    assert line in plan
    plan = plan.replace(line, line + f'  "{VOICEMAIL}": {{entry: voicemail_box, source: voicemail-line}}\n'
                        f'  "{MANAGED}": {{entry: managed, source: managed-line}}\n')
    plan += "  voicemail_box: {type: voicemail, prompts: [leave-message], max_seconds: 20, then: goodbye}\n"
    plan += ('  managed: {type: hunt, manager_first: yes, members: ["101", "102", "103"], rings: 2,'
             ' then: all_busy}\n')
    (home / "ivr.yaml").write_text(plan, encoding="utf-8")
    (home / "notifications.yaml").write_text(f"""
missed: {{close_after_seconds: 10}}
retry_max_seconds: 2
mail: {{host: 127.0.0.1, port: {mailbox.port}, from: ivr@test.example, timeout: 3}}
webhooks: [{{url: "{hooks.url}", secret: {SECRET}}}]
staff_mail: {{"101": hostess@test.example}}
rules:
  - {{recipients: [boss@test.example], language: en}}
  - {{only_called: yes, extensions: ["101"], language: ru}}
""", encoding="utf-8")
    env = {**base_env, "IVR_PLAN_FILE": str(home / "ivr.yaml"),
           "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{home}/missed.db", "IVR_VAR_DIR": str(home / "var")}
    service = MissedServiceProcess(env, home / "service.log")
    service.start()
    await service.wait_ready()
    yield service
    service.stop()


async def items_of(service: MissedServiceProcess, customer: str) -> list[dict]:
    return await service.missed_items(customer, timeout=0)          # as they are now


async def item_of(service: MissedServiceProcess, customer: str, **expect) -> dict:
    async def check():
        items = await items_of(service, customer)
        return items[0] if items and all(items[0][k] == v for k, v in expect.items()) else None
    item = await wait_until(check, what=f"item of {customer} with {expect}")
    return await service.get(f"/api/missed/{item['id']}")


def mails_for(mailbox: Mailbox, customer: str) -> list:
    return [m for m in mailbox.snapshot() if customer in m["Subject"]]


async def call_and_hang_up(world: World, caller: str, after: float, press: str = "", press_at: float = 0) -> Leg:
    leg = await world.call(MAIN, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    if press:
        await asyncio.sleep(press_at)
        await world.press(leg, press)
    await asyncio.sleep(after)          # after the answer, or after the digit
    await world.hangup(leg)
    await asyncio.wait_for(leg.ended.wait(), 5)
    return leg


async def test_menu_after_hours_and_hunt_misses_are_listed_mailed_and_posted(missed_service, world, mailbox, hooks):
    world.reset()
    for phone in ("101", "102", "103"):
        world.behaviours[phone] = Behaviour("ignore")
    menu, night, hunt = "+79162000001", "+79162000002", "+79162000003"
    # A known contact: the list and the mail carry the name.
    status, report = await missed_service.post("/api/contacts/import",
                                               data=f"name,numbers\nАнна Menu,{menu}\n,bad\n".encode())
    assert status == 207 and report["created"] == 1
    assert [(p["row"], p["field"]) for p in report["problems"]] == [(3, "name"), (3, "numbers")]

    await call_and_hang_up(world, menu, MENU_STARTED + 1.5)
    await call_and_hang_up(world, hunt, 2.0, press="1", press_at=MENU_STARTED)
    a = await item_of(missed_service, menu, reason="abandoned_in_menu")
    c = await item_of(missed_service, hunt, reason="abandoned_while_ringing")
    await missed_service.restart(IVR_CLOCK=AFTER_HOURS)
    leg = await world.call(MAIN, night)
    await asyncio.wait_for(leg.ended.wait(), 20)        # "we are closed", goodbye, the PBX hangs up
    b = await item_of(missed_service, night, reason="closed_hours")
    assert (a["node"], b["node"], c["node"]) == ("main_menu", "goodbye", "booking")
    assert a["contact_name"] == "Анна Menu" and a["source"] == "main-line"
    assert all(i["status"] == "open" and i["count"] == 1 and not i["short"] for i in (a, b, c))

    mails = await mailbox.wait_for(4, timeout=20)
    for item, reason in ((a, "hung up in the menu"), (b, "called outside office hours"),
                         (c, "hung up while staff phones rang")):
        (mail,) = [m for m in mails_for(mailbox, item["customer"]) if m["To"] == "boss@test.example"]
        body = mail.get_body().get_content()
        assert reason in body and MAIN in body and "main-line" in body
        assert f"/missed/{item['id']}" in body
    assert "Анна Menu" in mails_for(mailbox, menu)[0].get_body().get_content()
    # "Only the person who was called": the hunt rang 101, so its owner gets the Russian mail too.
    (hostess,) = [m for m in mailbox.snapshot() if m["To"] == "hostess@test.example"]
    assert hunt in hostess["Subject"] and "не дождался ответа" in hostess.get_body().get_content()
    assert len(mailbox.snapshot()) == 4

    await wait_until(lambda: len(hooks.events("missed")) >= 3, what="three webhooks")
    for body, headers in hooks.received:
        assert verify(SECRET, body, headers[SIGNATURE_HEADER])
        assert headers[KEY_HEADER] == json.loads(body)["idempotency_key"]
    assert {e["item"]["customer"] for e in hooks.events("missed")} >= {menu, night, hunt}
    await missed_service.restart()                      # back to office hours


async def run_cli(missed_service: MissedServiceProcess, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    missed_cli.register(parser.add_subparsers())
    args = parser.parse_args(["missed", *argv])
    settings = load_settings(env=missed_service.env)
    return await asyncio.to_thread(args.handler, args, settings)


async def test_three_calls_one_item_then_busy_and_answered_call_backs(missed_service, world):
    world.reset()
    customer = "+79162000011"
    for _ in range(3):
        await call_and_hang_up(world, customer, MENU_STARTED + 1.0)
    item = await item_of(missed_service, customer, count=3)
    assert item["status"] == "open" and len(item["calls"]) == 3

    # A busy customer: logged, the item stays open.
    world.behaviours["101"] = Behaviour("answer", after=0.5)
    world.behaviours[customer] = Behaviour("busy", after=0.3)
    assert await run_cli(missed_service, "callback", str(item["id"]), "--staff", "101") == 0

    async def attempt_logged():
        events = (await missed_service.get(f"/api/missed/{item['id']}"))["events"]
        return [e for e in events if e["kind"] == "callback"]
    (attempt,) = await wait_until(attempt_logged, 30, "the busy call-back on the item")
    assert attempt["data"]["result"] == "busy" and attempt["by"] == "101"
    assert (await missed_service.get(f"/api/missed/{item['id']}"))["status"] == "open"

    # The staff phone answers, the customer answers and talks 12 s: closed as called back.
    world.reset()
    world.behaviours["101"] = Behaviour("answer", after=0.5)
    world.behaviours[customer] = Behaviour("answer", after=1.0, hangup_after=12.0)
    assert await run_cli(missed_service, "callback", str(item["id"]), "--staff", "101") == 0
    closed = await item_of(missed_service, customer, status="closed")
    assert (closed["close_reason"], closed["closed_by"]) == ("called_back", "101")
    assert closed["callback_seconds"] > 0
    legs = {leg.target: leg for leg in world.incoming}
    assert legs["101"].answered_at and legs[customer].answered_at
    assert legs["101"].answered_at < legs[customer].invited_at          # the staff phone first
    talk = legs[customer].ended_at - legs[customer].answered_at
    assert 11.0 < talk < 14.0, talk


async def test_smtp_down_then_up_every_mail_exactly_once(missed_service, world, mailbox):
    world.reset()
    before = len(mailbox.snapshot())
    mailbox.stop()
    callers = ["+79162000021", "+79162000022"]
    try:
        for caller in callers:
            await call_and_hang_up(world, caller, MENU_STARTED + 1.0)
        for caller in callers:
            await item_of(missed_service, caller)

        async def failed_tries():
            pending = (await missed_service.get("/api/notifications/outbox?pending=1"))["messages"]
            mine = [m for m in pending if m["channel"] == "mail"]
            return mine if len(mine) == 2 and all(m["attempts"] >= 1 for m in mine) else None
        await wait_until(failed_tries, what="failed mail attempts while SMTP is down")
    finally:
        mailbox.start()
    await mailbox.wait_for(before + 2, timeout=20)
    await asyncio.sleep(4)                     # two more retry periods: nothing may arrive twice
    keys = Counter(m["X-IVR-Key"] for m in mailbox.snapshot())
    assert all(n == 1 for n in keys.values()), keys
    for caller in callers:
        assert len(mails_for(mailbox, caller)) == 1


async def test_service_killed_before_the_notification_loses_nothing(missed_service, world, mailbox):
    world.reset()
    caller = "+79162000031"
    mailbox.stop()                             # the notification cannot leave before the kill
    try:
        await call_and_hang_up(world, caller, MENU_STARTED + 1.0)
        item = await item_of(missed_service, caller)
        missed_service.stop(signal.SIGKILL)
    finally:
        mailbox.start()
    assert not mails_for(mailbox, caller)
    await missed_service.restart()
    await wait_until(lambda: mails_for(mailbox, caller), 20, "the mail after the restart")
    await asyncio.sleep(3)                     # nothing more may come: a second mail would be here by now
    assert len(mails_for(mailbox, caller)) == 1
    again = await item_of(missed_service, caller)
    assert (again["id"], again["count"]) == (item["id"], 1)


async def test_voicemail_left_then_hung_up_is_kept_and_mailed_as_mp3(missed_service, world, mailbox):
    world.reset()
    caller = "+79162000041"
    leg = await world.call(VOICEMAIL, caller)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.sleep(4.5)                   # "leave a message after the tone", the beep
    await world.ari.play(leg.channel_id, ["sound:hello-world"], world.new_id("voice"))
    await asyncio.sleep(3.0)                   # the message: the words, then a little silence
    await world.hangup(leg)                    # mid-way: the message is kept
    item = await item_of(missed_service, caller, reason="voicemail")
    assert item["voicemail"].endswith(".wav") and item["source"] == "voicemail-line"
    wav = Path(item["voicemail"])
    with wave.open(str(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32768
        seconds = w.getnframes() / w.getframerate()
    # The caller's words are in it (hello-world is about 1 s), not only silence.
    assert seconds > 0.8 and np.sqrt(np.mean(samples ** 2)) > 0.02, (seconds, samples[:10])
    await wait_until(lambda: mails_for(mailbox, caller), 20, "the voicemail mail")
    (mail,) = [m for m in mails_for(mailbox, caller) if m["To"] == "boss@test.example"]
    assert "The voicemail is attached" in mail.get_body().get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "audio/mpeg" and len(attachment.get_content()) > 1000
    async with aiohttp.ClientSession(headers=missed_service.headers) as http:
        async with http.get(f"{missed_service.url}/api/missed/{item['id']}/voicemail") as r:
            assert r.status == 200 and await r.read() == wav.read_bytes()


async def test_staff_phone_dialling_the_customer_closes_the_item_busy_does_not(missed_service, world):
    """Staff phone 101 dials out through [from-staff]; the AGI's after step (or the h extension when
    the staff phone hangs up first) reports the result, and the list closes or logs it."""
    from test_routing import dial_from_phone   # the world's way of placing a staff call

    world.reset()
    first, second = "+79162000041", "+79162000042"
    for customer in (first, second):
        await call_and_hang_up(world, customer, MENU_STARTED + 1.0)
    item = await item_of(missed_service, first, status="open")
    other = await item_of(missed_service, second, status="open")

    # Busy: the attempt lands on the item, which stays open.
    world.behaviours[first] = Behaviour("busy", after=0.3)
    phone = await dial_from_phone(world, "101", "8" + first[2:])
    await asyncio.wait_for(phone.ended.wait(), 15)

    async def attempts():
        events = (await missed_service.get(f"/api/missed/{item['id']}"))["events"]
        return [e for e in events if e["kind"] == "callback"]
    (attempt,) = await wait_until(attempts, 15, "the busy staff call on the item")
    assert (attempt["data"]["result"], attempt["by"]) == ("busy", "101")
    assert (await missed_service.get(f"/api/missed/{item['id']}"))["status"] == "open"

    # The customer answers, talks 12 s and hangs up: closed as called back by 101.
    world.reset()
    world.behaviours[first] = Behaviour("answer", after=0.5, hangup_after=12.0)
    phone = await dial_from_phone(world, "101", "8" + first[2:])
    await asyncio.wait_for(phone.ended.wait(), 30)
    closed = await item_of(missed_service, first, status="closed")
    assert (closed["close_reason"], closed["closed_by"]) == ("called_back", "101")
    (leg,) = [leg for leg in world.incoming if leg.target == first]
    assert 11.0 < leg.ended_at - leg.answered_at < 14.0

    # The staff phone hangs up first after 12 s of talk: reported from the h extension, closed too.
    world.reset()
    world.behaviours[second] = Behaviour("answer", after=0.5)
    phone = await dial_from_phone(world, "101", "8" + second[2:])
    (leg,) = await wait_until(lambda: [x for x in world.incoming if x.answered_at], 15,
                              "the customer's answer")
    await asyncio.sleep(12.0)                  # the 12 s of talk
    await world.hangup(phone)
    await asyncio.wait_for(leg.ended.wait(), 10)
    closed = await item_of(missed_service, second, status="closed")
    assert (closed["id"], closed["close_reason"], closed["closed_by"]) == (other["id"], "called_back", "101")


async def test_a_known_contact_rings_the_responsible_manager_first(missed_service, world):
    world.reset()
    known, stranger = "+79162000051", "+79162000052"
    status, _ = await missed_service.post("/api/contacts", {"name": "Managed Client", "numbers": [known],
                                                            "manager": "103", "company": "Managed Co"})
    assert status == 201
    for phone in ("101", "102", "103"):
        world.behaviours[phone] = Behaviour("ignore")
    # rings 1 s (of the hunt's 2): time to read the card while it rings
    world.behaviours["103"] = Behaviour("answer", after=1.0, hangup_after=1.0)
    leg = await world.call(MANAGED, known)

    async def manager_rings() -> Leg | None:
        return next((p for p in world.incoming if p.target == "103"), None)
    manager = await wait_until(manager_rings, 10, "the manager's phone ringing")
    # the screen pop: the contact's card on the ringing extension's console, the name on the phone
    [card] = (await missed_service.get("/api/cards?extension=103"))["cards"]
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert (card["title"], card["number"], card["kind"], fields["Company"], fields["Manager"]) == (
        "Managed Client", known, "contact", "Managed Co", "103"), card
    assert (manager.caller_name, manager.caller_number) == ("Managed Client", known)
    await asyncio.wait_for(leg.ended.wait(), 20)
    assert [p.target for p in world.incoming] == ["103"]
    assert world.incoming[0].answered_at is not None

    async def card_gone() -> bool:
        return (await missed_service.get("/api/cards?extension=103"))["cards"] == []
    await wait_until(card_gone, 5, "the card gone after the call")

    # A caller who is not a contact: the members' own order, 101 first.
    world.reset()
    for phone in ("101", "102", "103"):
        world.behaviours[phone] = Behaviour("answer", after=0.5, hangup_after=1.0)
    leg = await world.call(MANAGED, stranger)
    await asyncio.wait_for(leg.ended.wait(), 20)
    assert [p.target for p in world.incoming] == ["101"]


async def test_a_call_back_keeps_the_customer_through_a_transfer(missed_service, world, pbx):
    """101 calls the customer back, then passes them to 102 with its Transfer key (REFER): the
    customer hears 102, and the call-back's record says so."""
    world.reset()
    customer = "+79162000051"
    await call_and_hang_up(world, customer, MENU_STARTED + 1.0)
    item = await item_of(missed_service, customer, status="open")
    world.behaviours["101"] = Behaviour("answer", after=0.3)
    world.behaviours[customer] = Behaviour("answer", after=0.5)
    world.behaviours["102"] = Behaviour("answer", after=1.0, play=("sound:hello-world",), play_after=0.3,
                                        hangup_after=3.0)
    assert await run_cli(missed_service, "callback", str(item["id"]), "--staff", "101") == 0
    staff = await wait_until(lambda: next((x for x in world.incoming if x.target == "101"), None),
                             15, "the staff phone rung")
    leg = await wait_until(lambda: next((x for x in world.incoming if x.target == customer and x.answered_at), None),
                           20, "the customer's answer")
    await wait_bridged(pbx)                        # staff and customer talk
    await world.transfer(staff, "102")
    target = await wait_until(lambda: next((x for x in world.incoming if x.target == "102" and x.answered_at), None),
                              20, "102's answer")
    await asyncio.wait_for(leg.ended.wait(), 20)

    # The customer was never dropped: the call ended with 102's hang-up, and 102 was heard.
    assert leg.ended_at >= target.answered_at + 2.5 and target.caller_number == customer
    heard = await world.wait_recording(leg)
    spoke = target.answered_at - leg.invited_at + 0.3
    quiet = sum(max(0.0, min(b, spoke + 0.8) - max(a, spoke + 0.2))
                for a, b in silences(heard, min_seconds=0.1))
    assert quiet < 0.3, quiet

    async def record():
        calls = (await missed_service.get("/api/calls?limit=200"))["calls"]
        done = [c for c in calls if c["caller"] == customer and c["direction"] == "outbound" and c["ended_at"]]
        return await missed_service.get(f"/api/calls/{done[0]['id']}") if done else None
    call = await wait_until(record, 15, "the call-back's record")
    assert call["answered_by"] == "102", call
    assert [(s["kind"], s["data"]) for s in call["steps"] if s["kind"] == "transfer"] == [
        ("transfer", {"by": "101", "to": "102", "mode": "blind"})]
