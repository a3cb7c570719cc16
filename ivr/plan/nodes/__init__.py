"""Every node kind a plan may use, declared once: one module per kind (or family of kinds) here, each
listing its `NodeKind`s; its executor is registered under the same name in `ivr/flows/__init__.py`."""
from __future__ import annotations

from ivr.plan.nodes.kind import NodeKind
from ivr.plan.nodes import basic, callback, hunt, menu, queue, schedule, voicemail

KINDS: dict[str, NodeKind] = {kind.name: kind for module in (basic, menu, schedule, hunt, queue, voicemail, callback)
                              for kind in module.KINDS}

__all__ = ["KINDS", "NodeKind"]
