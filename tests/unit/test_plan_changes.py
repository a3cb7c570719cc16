"""The plan page's changes (ivr/plan_changes.py): applying stores a version and makes it live; a
rollback to a version that no longer loads leaves the running one active, in the database too."""
from __future__ import annotations

from types import SimpleNamespace

from ivr.plan_changes import Applied, PlanChanges
from ivr.store import Database, PlanStore


async def _saved(store: PlanStore, n: int) -> int:
    return await store.save(f"# plan {n}\n", "config/plan.yaml", f"sha256:{n:064x}", "admin")


def _changes(store: PlanStore, running: int, loads: bool) -> tuple[PlanChanges, list[str]]:
    reloads: list[str] = []

    async def reload() -> bool:
        reloads.append("reload")
        return loads
    holder = SimpleNamespace(current=SimpleNamespace(version=running), store=store)
    return PlanChanges(holder, reload, settings=None, rosters=None), reloads     # type: ignore[arg-type]


async def test_a_rollback_that_no_longer_loads_keeps_the_running_version(db: Database) -> None:
    store = PlanStore(db)
    await _saved(store, 1)
    running = await _saved(store, 2)
    changes, reloads = _changes(store, running, loads=False)
    applied = await changes.roll_back()
    assert (applied.version, applied.live, applied.running) == (1, False, 2)
    assert reloads == ["reload"]
    assert (await store.active()).version == 2


async def test_a_rollback_that_loads_is_live(db: Database) -> None:
    store = PlanStore(db)
    await _saved(store, 1)
    changes, _ = _changes(store, await _saved(store, 2), loads=True)
    assert await changes.roll_back() == Applied(1, True)
    assert (await store.active()).version == 1


async def test_apply_stores_the_text_as_the_active_version_and_reloads(db: Database) -> None:
    store = PlanStore(db)
    changes, reloads = _changes(store, await _saved(store, 1), loads=True)
    applied = await changes.apply("# plan 2\n", SimpleNamespace(checksum=f"sha256:{2:064x}"), "olga")
    assert applied == Applied(2, True) and reloads == ["reload"]
    active = await store.active()
    assert (active.version, active.text, active.applied_by) == (2, "# plan 2\n", "olga")
