"""What a node executor gets: the call, the plan version the call started on, and its journal."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ivr.calls.cards import Card, Cards
from ivr.calls.handover import Handovers
from ivr.calls.talking import Conversations
from ivr.calls.journal import CallJournal
from ivr.calls.recording import Recorder
from ivr.calls.session import CallSession
from ivr.flows.hunt_memory import HuntMemories
from ivr.plan.model import Plan

if TYPE_CHECKING:        # made by the service above; the flows only call them
    from ivr.contacts.store import Contact
    from ivr.missed.service import MissedService
    from ivr.queues.manager import QueueManager
    from ivr.routing.router import Router

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Long-lived parts the flows share across calls, made once by the service (ivr/service.py).
    Each capability adds its own field; None where a test or a tool runs without it."""

    hunt_memory: HuntMemories = field(default_factory=HuntMemories)   # hunt nodes' rotation state
    queues: QueueManager | None = None      # the queue manager (queue nodes)
    router: Router | None = None            # outbound trunk choice (legs to outside numbers)
    missed: MissedService | None = None     # the missed-call service (contacts, open items)
    # async (FlowContext) -> bool: a campaign passenger calling back is taken before the plan's entry
    campaign_callback: Any = None
    cards: Cards = field(default_factory=Cards)   # call cards on the staff phones being rung
    dnd: Any = None           # do-not-disturb of the staff phones (ivr.staff.dnd)
    handovers: Handovers = field(default_factory=Handovers)   # consulted phones an attended transfer takes
    recorder: Recorder | None = None        # call recording (ivr.calls.recording)
    rosters: Any = None       # who is on duty (ivr.staff.rosters)
    voicemail: Any = None     # personal voicemail boxes (ivr.voicemail.boxes)
    conversations: Conversations | None = None   # calls in conversation now (the console's "Transfer to…")


@dataclass
class FlowContext:
    call: CallSession
    plan: Plan
    journal: CallJournal
    now: Callable[[], datetime]
    company_number: str = ""
    caller: str = ""
    caller_name: str = ""      # the display name the call came with, cleaned (ivr.flows.inbound.display_name)
    services: Services = field(default_factory=Services)
    card: Card | None = None   # who the caller is, shown on the staff phones this call rings
    recording: str = ""        # the call's recording (relative name) once it started, or why not
    _contact: Contact | None = field(default=None, repr=False)
    _contact_looked_up: bool = field(default=False, repr=False)

    @property
    def recorded(self) -> bool:
        """The call's recording runs: `recording` is its file's name (YYYY/MM/DD/...), not "pending"
        nor the reason it was skipped."""
        return "/" in self.recording

    async def caller_contact(self) -> Contact | None:
        """The caller's entry in the contacts, looked up once per call (the call record, the card,
        a hunt's manager-first, a queue's VIP all ask). None for an unknown caller, an extension or
        anonymous, or when the lookup fails: contacts are a courtesy, so that is logged and the call
        goes on without them."""
        if not self._contact_looked_up:
            self._contact_looked_up = True
            if self.contact_wanted:
                try:
                    self._contact = await self.services.missed.contacts.by_number(self.caller)
                except Exception:
                    log.exception("contact lookup failed call=%s caller=%s", self.call.channel_id, self.caller)
        return self._contact

    @property
    def contact_wanted(self) -> bool:
        """The caller is a number the contacts may know, and they are at hand."""
        return self.services.missed is not None and self.caller.startswith("+") and self.caller[1:].isdigit()

    def contact_looked_up(self, contact: Contact | None) -> None:
        """The caller's contact as a lookup elsewhere found it (the call's row and the contact in one hop)."""
        self._contact, self._contact_looked_up = contact, True
