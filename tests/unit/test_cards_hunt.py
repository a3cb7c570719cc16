"""Call cards: the registry, the hunt and the queue putting a caller's card on the extensions they
ring and taking it off when the leg ends (cancellation too), the campaign's card for option 3.

The hunt's fake ARI and phones come from test_hunt_flow.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from ivr.calls.cards import Card, Cards
from ivr.campaigns.flow import campaign_card
from ivr.campaigns.model import Passenger, Row
from ivr.flows import hunt
from ivr.flows.context import FlowContext, Services
from ivr.flows.queue import QueueCall
from ivr.plan.model import QueueNode
from ivr.queues.manager import Waiter
from test_hunt_flow import CALLER, MOBILE, FakeAri, Phone, group, make_ctx

PASSENGER = "+79161000501"
CARD = Card(title="Olga Ivanova", number=PASSENGER, label="Olga Ivanova T1 26.11 09:30",
            fields=(("Trip", "T1"), ("Seat", "12")), kind="campaign")
T0 = datetime(2025, 11, 25, 12, 0, tzinfo=UTC)


async def until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def carded_ctx(phones: dict[str, Phone], card: Card | None = CARD,
               services: Services | None = None) -> tuple[FlowContext, FakeAri]:
    """make_ctx with a card, and a fake ARI that keeps the variables set and who a leg was dialled for."""
    ctx, ari = make_ctx(phones, services)
    ctx.card = card
    ari.vars, ari.dialled_for = {}, {}
    plain_dial = ari.dial

    async def set_var(channel_id: str, variable: str, value: str) -> None:
        ari.vars[(channel_id, variable)] = value

    async def dial(channel_id: str, caller_channel: str | None = None, timeout: int = 0) -> None:
        ari.dialled_for[channel_id] = caller_channel
        await plain_dial(channel_id, caller_channel, timeout)

    ari.set_var, ari.dial = set_var, dial
    return ctx, ari


def states(cards: Cards, *extensions: str) -> dict[str, list[str]]:
    return {ext: [s.state for s in cards.for_extension(ext)] for ext in extensions}


# ----- the registry -----

def test_registry_shows_per_extension_and_clears_per_leg():
    cards = Cards()
    cards.show("101", "leg1", "call1", CARD, T0)
    cards.show("102", "leg2", "call1", CARD, T0)
    other = Card(title="Ivan", number="+79160000000")
    cards.show("101", "leg3", "call2", other, T0.replace(minute=1))
    assert [s.card.title for s in cards.for_extension("101")] == ["Olga Ivanova", "Ivan"]
    cards.talking("leg1")
    assert states(cards, "101", "102") == {"101": ["talking", "ringing"], "102": ["ringing"]}
    cards.clear("leg1")
    cards.clear("leg1")                                   # twice is harmless
    cards.talking("gone")                                 # so is a leg never shown
    assert [s.leg_id for s in cards.for_extension("101")] == ["leg3"]
    cards.clear("leg2")
    cards.clear("leg3")
    assert len(cards) == 0 and cards.for_extension("101") == []


def test_card_as_json_and_on_the_phone():
    shown = Cards()
    shown.show("101", "leg1", "call1", Card(title='Olga "O" Ivanova', number=PASSENGER), T0)
    [s] = shown.for_extension("101")
    assert s.card.phone_name() == "Olga O Ivanova"         # no quote may break the SIP display name
    assert s.to_dict() | {"fields": []} == {
        "title": 'Olga "O" Ivanova', "number": PASSENGER, "label": "Olga O Ivanova", "kind": "",
        "fields": [], "extension": "101", "leg_id": "leg1", "call_id": "call1", "state": "ringing",
        "since": "2025-11-25T12:00:00+00:00"}
    assert CARD.to_dict()["fields"] == [{"name": "Trip", "value": "T1"}, {"name": "Seat", "value": "12"}]


def test_campaign_card_shows_trip_time_then_surname_within_the_phones_limit():
    passenger = Passenger(name="Кузнецова Мария Викторовна", phone=PASSENGER, trip_id="МТ-0730",
                          departure=datetime(2026, 12, 8, 6, 15, tzinfo=UTC))
    row = Row(7, 3, passenger, "Asia/Novosibirsk", "calling", "", 1, None)
    card = campaign_card(row, "c", "3", "dispatcher", "Europe/Moscow")
    assert card.phone_name() == "МТ-0730 08.12 09:15 Кузнецова М.В."
    reordered = Passenger(name="Мария Викторовна Кузнецова", phone=PASSENGER, trip_id="МТ-0730")
    assert campaign_card(Row(8, 3, reordered, "UTC", "calling", "", 1, None), "c", "3", "dispatcher",
                         "UTC").phone_name() == "МТ-0730 Кузнецова М.В."


def test_campaign_card_has_the_trip_in_the_plans_time_zone():
    passenger = Passenger(name="Olga Ivanova", phone=PASSENGER, trip_id="T1", route="Moscow - Tver",
                          departure=datetime(2025, 11, 26, 6, 30, tzinfo=UTC), seat="12", bus="A 123",
                          platform="4")
    row = Row(7, 3, passenger, "Asia/Novosibirsk", "calling", "", 1, None)
    card = campaign_card(row, "Tomorrow's trips", "3", "dispatcher", "Europe/Moscow")
    assert (card.title, card.number, card.phone_name()) == ("Olga Ivanova", PASSENGER, "T1 26.11 09:30 Olga Ivanova")
    assert dict(card.fields) == {"Phone": PASSENGER, "Trip": "T1", "Route": "Moscow - Tver",
                                 "Departure": "26.11.2025 09:30", "Seat": "12", "Bus": "A 123",
                                 "Platform": "4", "Campaign": "Tomorrow's trips", "Pressed": "3 (dispatcher)"}
    bare = campaign_card(Row(8, 3, Passenger(name="", phone=PASSENGER, trip_id="T2"), "UTC", "calling", "", 1,
                             None), "c", "3", "dispatcher", "UTC")
    assert (bare.title, bare.phone_name()) == (PASSENGER, "T2")
    assert [name for name, _ in bare.fields] == ["Phone", "Trip", "Campaign", "Pressed"]


# ----- the hunt -----

async def test_hunt_shows_the_card_while_ringing_and_talking_then_clears_it():
    ctx, ari = carded_ctx({"102": Phone("answer", after=0.3, hangup_after=0.4)})
    cards = ctx.services.cards
    task = asyncio.create_task(hunt.run(group("101", "102", "103", ring=2.0, strategy="ringall"), ctx))
    await until(lambda: len(cards) == 3)
    assert states(cards, "101", "102", "103") == {"101": ["ringing"], "102": ["ringing"], "103": ["ringing"]}
    assert {s.call_id for ext in ("101", "102", "103") for s in cards.for_extension(ext)} == {CALLER}
    await until(lambda: states(cards, "102")["102"] == ["talking"])
    assert states(cards, "101", "103") == {"101": [], "103": []}     # answered elsewhere: gone
    assert await task is None
    assert len(cards) == 0
    # the phones showed the passenger: name and number set on each leg, dialled on its own
    for leg in ari.targets:
        assert ari.vars[(leg, "CONNECTEDLINE(name,i)")] == "Olga Ivanova T1 26.11 09:30"
        assert ari.vars[(leg, "CONNECTEDLINE(num,i)")] == PASSENGER
        assert ari.dialled_for[leg] is None


async def test_hunt_without_a_card_dials_for_the_caller_and_shows_nothing():
    ctx, ari = carded_ctx({"101": Phone("answer", after=0.05)}, card=None)
    await hunt.run(group("101"), ctx)
    # no connected line on the leg, only its transfer handling
    assert {name for _, name in ari.vars} == {"PJSIP_TRANSFER_HANDLING()"}
    assert list(ari.dialled_for.values()) == [CALLER]
    assert len(ctx.services.cards) == 0


async def test_a_leg_that_stops_ringing_takes_its_card_along():
    ctx, _ = carded_ctx({"101": Phone("busy"), "102": Phone("answer", after=0.3)})
    cards = ctx.services.cards
    task = asyncio.create_task(hunt.run(group("101", "102", ring=1.0), ctx))
    await until(lambda: states(cards, "102")["102"] == ["ringing"])
    assert states(cards, "101")["101"] == []
    await task
    assert len(cards) == 0


async def test_cancelling_the_hunt_clears_every_card():
    ctx, ari = carded_ctx({})
    cards = ctx.services.cards
    task = asyncio.create_task(hunt.run(group("101", "102", ring=5.0, strategy="ringall"), ctx))
    await until(lambda: len(cards) == 2 and len(ari.rang) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(cards) == 0
    assert sorted(ari.hung_up) == sorted(ari.targets)


async def test_cancelled_while_the_leg_is_being_created_clears_its_card():
    ctx, ari = carded_ctx({})
    cards = ctx.services.cards
    created = asyncio.Event()

    async def stuck_create(endpoint: str, channel_id: str, app_args: str) -> None:
        created.set()
        await asyncio.Event().wait()                      # Asterisk never answers

    ari.create_channel = stuck_create
    task = asyncio.create_task(hunt.run(group("101", ring=5.0), ctx))
    await asyncio.wait_for(created.wait(), 3)
    assert states(cards, "101")["101"] == ["ringing"]     # shown before the phone can ring
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(cards) == 0


async def test_an_outside_number_gets_the_name_in_its_caller_id():
    class Router:
        def endpoint_for(self, number: str, exclude: tuple[str, ...] = ()) -> str:
            return f"PJSIP/{number}@trunk-mts"

        def caller_id_on(self, trunk: str, caller_id: str = "") -> str:
            return caller_id                # an e164 trunk: unchanged

    ctx, ari = carded_ctx({}, services=Services(router=Router()))
    originated: list[str] = []

    async def originate(endpoint: str, channel_id: str, app_args: str, caller_id: str = "", timeout: int = 30,
                        variables: dict[str, str] | None = None) -> None:
        originated.append(caller_id)
        ari.targets[channel_id] = MOBILE

    ari.originate = originate
    cards = ctx.services.cards
    task = asyncio.create_task(hunt.run(group(MOBILE, ring=0.5), ctx))
    await until(lambda: bool(originated))
    assert originated == [f'"Olga Ivanova T1 26.11 09:30" <{PASSENGER}>']
    assert states(cards, MOBILE)[MOBILE] == ["ringing"]
    assert await task == "after"
    assert len(cards) == 0


# ----- the queue -----

async def test_queue_offer_shows_the_card_on_the_agents_and_clears_it():
    ctx, _ = carded_ctx({"101": Phone("answer", after=0.3, hangup_after=0.4)})
    cards = ctx.services.cards
    ended: list[tuple] = []
    manager = SimpleNamespace(offer_ended=lambda waiter, ext, **kw: ended.append(("offer", ext)),
                              talk_ended=lambda waiter, ext: ended.append(("talk", ext)))
    node = QueueNode(id="q", agents=("101", "102"), agent_ring_seconds=2.0)
    waiter = Waiter(queue="q", caller=PASSENGER, vip=False, joined=0.0, joined_at=T0, channel_id=CALLER,
                    offer=("101", "102"))
    task = asyncio.create_task(QueueCall(node, ctx, manager)._ring(waiter))
    await until(lambda: len(cards) == 2)
    assert states(cards, "101", "102") == {"101": ["ringing"], "102": ["ringing"]}
    await until(lambda: states(cards, "101")["101"] == ["talking"])
    assert states(cards, "102")["102"] == []
    assert await task is True
    assert ended == [("offer", "101"), ("talk", "101")]
    assert len(cards) == 0


async def test_queue_caller_leaving_while_agents_ring_clears_the_cards():
    ctx, _ = carded_ctx({})
    cards = ctx.services.cards
    manager = SimpleNamespace(offer_ended=lambda *a, **kw: None, talk_ended=lambda *a: None)
    node = QueueNode(id="q", agents=("101",), agent_ring_seconds=5.0)
    waiter = Waiter(queue="q", caller=PASSENGER, vip=False, joined=0.0, joined_at=T0, channel_id=CALLER,
                    offer=("101",))
    task = asyncio.create_task(QueueCall(node, ctx, manager)._ring(waiter))
    await until(lambda: len(cards) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(cards) == 0

