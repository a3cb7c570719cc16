"""The screen pop: a known contact's card (name, company, manager, VIP, notes, open missed calls), set
by the inbound call where the contact is looked up and shown by the hunt; none for unknown callers,
and a failed lookup never stops the call.

The hunt's fake ARI and phones come from test_hunt_flow, the card helpers from test_cards_hunt.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from ivr.flows.inbound import run_inbound
from ivr.contacts.card import contact_card
from ivr.contacts.store import Contact
from ivr.flows.context import Services
from ivr.missed.store import MissedItem
from ivr.plan.model import HuntMember, HuntNode, TransferCodes, Trunk
from test_cards_hunt import carded_ctx, until
from test_hunt_flow import CALLER, Phone

KNOWN = "+79161000701"
COMPANY_NUMBER = "+74951110000"
MOSCOW = "Europe/Moscow"
NOW = datetime(2025, 11, 25, 12, 0, tzinfo=UTC)          # 15:00 in Moscow
NOTES = "Wants the invoice by mail.\nAsk about the\tMay order; " + "x" * 100


def contact(number: str = KNOWN, **kw) -> Contact:
    fields = {"name": "Anna Petrova", "company": "Petrov & Sons", "manager": "102", "vip": True, "notes": NOTES}
    return Contact(id=1, numbers=(number,), created_at=NOW, updated_at=NOW, **fields | kw)


def item(last_at: datetime, count: int = 1, status: str = "open", company_number: str = COMPANY_NUMBER) -> MissedItem:
    return MissedItem(id=count, customer=KNOWN, company_number=company_number, source="", contact_name="",
                      status=status, count=count, short=False, reason="no_answer", node="g",
                      first_at=last_at, last_at=last_at, voicemail="", taken_by="", taken_at=None,
                      closed_by="", closed_at=None, close_reason="", callback_seconds=None)


# ----- the builder -----

def test_card_of_a_known_contact_with_open_missed_calls():
    items = [item(NOW - timedelta(hours=2), count=2), item(NOW - timedelta(minutes=20), company_number="+7495")]
    card = contact_card(contact(), KNOWN, items, MOSCOW, NOW)
    assert (card.title, card.number, card.phone_name(), card.kind) == ("Anna Petrova", KNOWN, "Anna Petrova",
                                                                       "contact")
    fields = dict(card.fields)
    assert list(fields) == ["Company", "Manager", "VIP", "Notes", "Open missed calls"]
    assert (fields["Company"], fields["Manager"], fields["VIP"]) == ("Petrov & Sons", "102", "yes")
    # every open call of the number counts; the latest in the plan's time zone, today: time only
    assert fields["Open missed calls"] == "3 (last at 14:40)"
    # one line, about 80 characters, cut visibly
    assert len(fields["Notes"]) == 80 and fields["Notes"].endswith("…")
    assert fields["Notes"].startswith("Wants the invoice by mail. Ask about the May order; xxx")


def test_card_leaves_out_what_the_contact_does_not_have():
    bare = contact(company="", manager="", vip=False, notes="  short\nnote ")
    card = contact_card(bare, KNOWN, [], MOSCOW, NOW)
    assert (card.title, card.fields) == ("Anna Petrova", (("Notes", "short note"),))


def test_missed_call_of_another_day_shows_its_date():
    # 20:30 UTC on the 24th is 23:30 in Moscow; 00:30 UTC on the 25th is already the 25th there
    yesterday = contact_card(contact(), KNOWN, [item(datetime(2025, 11, 24, 20, 30, tzinfo=UTC))], MOSCOW, NOW)
    assert dict(yesterday.fields)["Open missed calls"] == "1 (last at 24.11 23:30)"
    today = contact_card(contact(), KNOWN, [item(datetime(2025, 11, 24, 21, 30, tzinfo=UTC))], MOSCOW, NOW)
    assert dict(today.fields)["Open missed calls"] == "1 (last at 00:30)"


# ----- the inbound call sets it -----

class FakeCalls:
    """The CallStore methods run_inbound uses; keeps the record's contact name and outcome."""

    def __init__(self) -> None:
        self.contact_name: str | None = None
        self.outcome = ""

    async def by_channel(self, channel_id: str) -> None:
        return None

    async def start(self, channel_id: str, caller: str, company_number: str, source: str, plan_version, at,
                    language: str = "", contact_name: str = "", caller_name: str = "", named_by=None) -> int:
        # named_by: the contact looked up in the same hop as the row (a connection it does not use here)
        self.contact_name = contact_name if named_by is None else named_by(None)
        return 1

    async def close(self, call_id: int, steps, at, outcome: str, answered_by: str | None = None, *args) -> None:
        self.outcome = outcome


class FakeMissed:
    """Services.missed as the inbound call and the hunt use it: contacts by number, pending items."""

    def __init__(self, contacts: dict[str, Contact], items: list[MissedItem], fail: str = "") -> None:
        self.asked: list[tuple[str | None, str | None]] = []

        def lookup(number: str):
            def in_transaction(conn) -> Contact | None:
                if fail == "contacts":
                    raise OSError("database is gone")
                return contacts.get(number)
            return in_transaction

        async def by_number(number: str) -> Contact | None:
            return lookup(number)(None)

        async def pending(status: str | None = None, customer: str | None = None, **kw) -> list[MissedItem]:
            self.asked.append((status, customer))
            if fail == "missed":
                raise OSError("database is gone")
            return [i for i in items if i.customer == customer]

        self.contacts = SimpleNamespace(by_number=by_number, lookup=lookup)
        self.store = SimpleNamespace(list=pending)

    async def call_finished(self, call_id: int) -> None:
        pass


def inbound_ctx(caller: str, missed: FakeMissed, phones: dict[str, Phone]):
    """A context whose plan sends COMPANY_NUMBER to a hunt ringing 101 and 102 together."""
    ctx, ari = carded_ctx(phones, card=None, services=Services(missed=missed))
    ctx.caller, ctx.company_number, ctx.now = caller, COMPANY_NUMBER, lambda: NOW

    async def answer(channel_id: str) -> None:
        ari.answered = channel_id

    ari.answer = answer
    group = HuntNode(id="g", members=(HuntMember("101", 0.5), HuntMember("102", 0.5)), strategy="ringall")
    number = SimpleNamespace(entry="g", source="", record=False)
    ctx.plan = SimpleNamespace(numbers={COMPANY_NUMBER: number}, nodes={"g": group},
                               staff={"101": None, "102": None}, timezone=MOSCOW, country="RU", language="ru",
                               trunks={"default": Trunk("default", "127.0.0.11", default=True)}, default_trunk="default",
                               transfer_codes=TransferCodes())
    return ctx, ari


async def test_a_known_contact_pops_up_on_the_ringing_phones_and_goes_with_the_call():
    missed = FakeMissed({KNOWN: contact()}, [item(NOW - timedelta(minutes=30), count=2)])
    ctx, ari = inbound_ctx(KNOWN, missed, {"102": Phone("answer", after=0.3, hangup_after=0.3)})
    calls = FakeCalls()
    cards = ctx.services.cards
    task = asyncio.create_task(run_inbound(ctx, calls, 1))
    await until(lambda: len(cards) == 2)
    [shown] = cards.for_extension("101")
    assert (shown.card.title, shown.call_id, shown.state) == ("Anna Petrova", CALLER, "ringing")
    assert dict(shown.card.fields)["Open missed calls"] == "2 (last at 14:30)"
    await task
    assert len(cards) == 0                                   # gone with the call
    assert (calls.contact_name, calls.outcome) == ("Anna Petrova", "answered")
    assert missed.asked == [("pending", KNOWN)]
    # the phones show the contact's name with the caller's number
    leg = next(k for k, t in ari.targets.items() if t == "101")
    assert (ari.vars[(leg, "CONNECTEDLINE(name,i)")], ari.vars[(leg, "CONNECTEDLINE(num,i)")]) == (
        "Anna Petrova", KNOWN)


async def test_an_unknown_caller_gets_no_card():
    missed = FakeMissed({KNOWN: contact()}, [])
    ctx, ari = inbound_ctx("+79169999999", missed, {"101": Phone("answer", after=0.1, hangup_after=0.1)})
    calls = FakeCalls()
    await run_inbound(ctx, calls, 1)
    # no connected line set on the legs: only their transfer handling
    assert ctx.card is None and missed.asked == []
    assert {name for _, name in ari.vars} == {"PJSIP_TRANSFER_HANDLING()"}
    assert (calls.contact_name, calls.outcome) == ("", "answered")


async def test_a_failed_lookup_never_stops_the_call():
    missed = FakeMissed({KNOWN: contact()}, [], fail="contacts")
    ctx, _ = inbound_ctx(KNOWN, missed, {"101": Phone("answer", after=0.1, hangup_after=0.1)})
    calls = FakeCalls()
    await run_inbound(ctx, calls, 1)
    assert ctx.card is None and (calls.contact_name, calls.outcome) == ("", "answered")

    # the missed-call list failing: the card without its line on missed calls
    missed = FakeMissed({KNOWN: contact()}, [], fail="missed")
    ctx, _ = inbound_ctx(KNOWN, missed, {"101": Phone("answer", after=0.1, hangup_after=0.1)})
    calls = FakeCalls()
    await run_inbound(ctx, calls, 1)
    assert ctx.card is not None and "Open missed calls" not in dict(ctx.card.fields)
    assert (ctx.card.title, calls.contact_name, calls.outcome) == ("Anna Petrova", "Anna Petrova", "answered")
