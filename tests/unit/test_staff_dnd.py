"""Do-not-disturb: kept in the database across restarts; a hunt skips a DND phone without ringing it."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from ivr.flows import hunt
from ivr.flows.context import Services
from ivr.staff.dnd import DoNotDisturb, UnknownExtension
from test_hunt_flow import Phone, group, make_ctx, steps

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def plan() -> SimpleNamespace:
    return SimpleNamespace(staff={"101": None, "102": None})


async def test_dnd_survives_a_restart_and_refuses_unknown_phones(db):
    dnd = DoNotDisturb(db, lambda: NOW, plan)
    await dnd.load()
    assert not dnd.on("101")
    state = await dnd.set("101", True, "phone 101")
    assert state.dnd and dnd.on("101") and state.changed_at == NOW
    again = DoNotDisturb(db, lambda: NOW, plan)
    await again.load()
    assert again.on("101") and again.state("101").changed_by == "phone 101"
    await again.set("101", False, "olga")
    assert not again.on("101")
    with pytest.raises(UnknownExtension):
        await again.set("999", True, "olga")


async def test_a_hunt_skips_a_dnd_phone_at_once():
    services = Services(dnd=SimpleNamespace(on=lambda ext: ext == "101"))
    ctx, ari = make_ctx({"101": Phone("answer"), "102": Phone("answer", after=0.05)}, services)
    await hunt.run(group("101", "102"), ctx)
    assert [t for t, _ in ari.rang] == ["102"]
    assert steps(ctx, "skipped") == [("skipped", "101", "dnd")]
    assert ctx.journal.answered_by == "102"
