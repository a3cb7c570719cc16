"""Stored plan versions on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from ivr.store import Database, NoPreviousPlan, PlanStore, PlanVersionNotFound
from ivr.store.models import PlanVersionRow


class Clock:
    """A clock that moves one minute per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


async def _save(plans: PlanStore, n: int) -> int:
    return await plans.save(f"# plan {n}\nnumbers: {{}}\n", "config/plan.yaml", f"sha256:{n:064x}", f"admin{n}")


async def test_fresh_database_has_no_plan(db: Database) -> None:
    plans = PlanStore(db)
    assert await plans.active() is None
    assert await plans.list() == []
    with pytest.raises(NoPreviousPlan, match="apply a plan first"):
        await plans.rollback()
    with pytest.raises(PlanVersionNotFound):
        await plans.get(1)


async def test_save_makes_the_new_version_active(db: Database) -> None:
    clock = Clock()
    plans = PlanStore(db, clock=clock)
    v1 = await _save(plans, 1)
    v2 = await _save(plans, 2)
    assert v2 > v1

    active = await plans.active()
    assert active is not None
    assert (active.version, active.active, active.applied_by) == (v2, True, "admin2")
    assert active.text == "# plan 2\nnumbers: {}\n"
    assert active.checksum == f"sha256:{2:064x}" and active.source_file == "config/plan.yaml"
    assert active.created_at == datetime(2026, 11, 23, 8, 2, tzinfo=UTC)
    assert active.created_at.tzinfo is not None

    listed = await plans.list()
    assert [(p.version, p.active) for p in listed] == [(v2, True), (v1, False)]
    assert (await plans.get(v1)).text == "# plan 1\nnumbers: {}\n"


async def test_saving_the_active_plan_again_stores_nothing(db: Database) -> None:
    plans = PlanStore(db)
    v1 = await _save(plans, 1)
    assert await _save(plans, 1) == v1
    assert [p.version for p in await plans.list()] == [v1]
    # The same text as an older, inactive version is a new version: it is a new apply.
    v2 = await _save(plans, 2)
    v3 = await _save(plans, 1)
    assert v3 > v2 and (await plans.active()).version == v3  # type: ignore[union-attr]


async def test_rollback_walks_back_one_version_at_a_time(db: Database) -> None:
    plans = PlanStore(db)
    v1, v2, v3 = [await _save(plans, n) for n in (1, 2, 3)]

    back = await plans.rollback()
    assert back.version == v2 and back.active
    assert (await plans.active()).version == v2  # type: ignore[union-attr]
    assert (await plans.rollback()).version == v1
    with pytest.raises(NoPreviousPlan, match=f"version {v1} is the oldest"):
        await plans.rollback()
    assert (await plans.active()).version == v1  # type: ignore[union-attr]
    assert [(p.version, p.active) for p in await plans.list()] == [(v3, False), (v2, False), (v1, True)]

    # A new apply after a rollback becomes the newest version and the active one.
    v4 = await _save(plans, 4)
    assert v4 > v3 and (await plans.active()).version == v4  # type: ignore[union-attr]
    assert (await plans.rollback()).version == v3


async def test_activate_a_chosen_version(db: Database) -> None:
    plans = PlanStore(db)
    v1, v2, v3 = [await _save(plans, n) for n in (1, 2, 3)]
    assert (await plans.activate(v1)).version == v1
    assert [p.version for p in await plans.list() if p.active] == [v1]
    assert (await plans.activate(v1)).active  # activating the active one changes nothing
    assert [p.version for p in await plans.list() if p.active] == [v1]
    with pytest.raises(PlanVersionNotFound):
        await plans.activate(v3 + 10)
    assert (await plans.active()).version == v1  # type: ignore[union-attr]


async def test_the_database_allows_only_one_active_version(db: Database) -> None:
    await _save(PlanStore(db), 1)
    with pytest.raises(IntegrityError):
        async with db.session() as session, session.begin():
            session.add(PlanVersionRow(created_at=datetime.now(UTC), source_file="x", checksum="y", text="",
                                       applied_by="intruder", active=True))
    assert len(await PlanStore(db).list()) == 1
