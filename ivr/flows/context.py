"""What a node executor gets: the call, the plan version the call started on, and its journal."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ivr.calls.journal import CallJournal
from ivr.calls.session import CallSession
from ivr.plan.model import Plan


@dataclass
class FlowContext:
    call: CallSession
    plan: Plan
    journal: CallJournal
    now: Callable[[], datetime]
    company_number: str = ""
    caller: str = ""
