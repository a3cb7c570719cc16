"""ari_app.py with the missed-call API mounted, for tests/integration/test_missed.py until
create_app calls ivr.web.missed.setup itself (then this adds nothing)."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

# This checkout's ivr, not the one an editable install elsewhere points at (sys.path[0] is tests/).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ivr.web.app as app_module  # noqa: E402
from ivr.config import ROOT  # noqa: E402
from ivr.web import missed  # noqa: E402

_create_app = app_module.create_app


def create_app(service):
    app = _create_app(service)
    if not any(getattr(r, "canonical", "") == "/api/missed" for r in app.router.resources()):
        missed.setup(app)
    return app


app_module.create_app = create_app
runpy.run_path(str(ROOT / "ari_app.py"), run_name="__main__")
