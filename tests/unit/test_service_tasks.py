"""The service owns every loop it runs: cancelling `IvrService.run` cancels and awaits all of them,
and `shutdown` (which stops the once-per-site jobs) leaves no task of the service behind."""
from __future__ import annotations

import asyncio
import dataclasses

from ivr.config import load_settings
from ivr.service import IvrService
from ivr.store.db import open_database


async def test_run_and_shutdown_leave_no_task_behind(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path / "var"),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db",
                                   asterisk_config_dir=str(tmp_path / "etc"), ari_url="http://127.0.0.1:9")
    (tmp_path / "etc").mkdir()
    db = await open_database(settings.database_url, settings)
    before = asyncio.all_tasks()
    try:
        service = IvrService(settings, db)
        await service.start()
        service.start_jobs()                     # one node: this process runs the site's jobs too
        run = asyncio.create_task(service.run())
        loops = {"ari", "campaign-dialer", "sip-guard", "trunk-watch", "recording-purge"}

        async def loops_up() -> None:
            while not loops <= {t.get_name() for t in asyncio.all_tasks()}:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(loops_up(), 10)
        assert not run.done()                    # ARI refuses (port 9): the loops keep retrying
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await service.shutdown()
        assert asyncio.all_tasks() - before == set(), asyncio.all_tasks() - before
    finally:
        await db.close()
