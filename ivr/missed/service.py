"""The missed-call list's logic: review each finished call (missed → an item; the customer reached →
its items close; an unanswered call-back → logged), staff actions, and the call-back report.

Durability: the call's record is stored first, then `call_finished` reviews it; the review, the item
and the item's notifications (outbox rows) are one transaction, and a `call_reviews` row marks the
call as done (an inbound call neither answered nor missed needs no review and gets no mark). On start
`catch_up` reviews every finished call without that mark, so a crash between a call's end and its
review loses nothing, and a replay adds nothing.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient
from ivr.ari.events import StasisStart
from ivr.asterisk.render import pbx_instance
from ivr.calls.handover import KeepTalking
from ivr.calls.outcome import Outcome, of_dial_status
from ivr.config import Settings
from ivr.contacts.store import ContactStore
from ivr.errors import InvalidInput, IvrError, ServiceUnavailable
from ivr.missed.callback import CallbackJob, Callbacks, new_channel_id, trunk_endpoint
from ivr.missed.errors import MissedConflict
from ivr.plan.reasons import MISSED_OUTCOMES
from ivr.missed.store import MissedCall, MissedItem, MissedStore
from ivr.notify.config import NotifyConfig, load_notify_config
from ivr.notify.mail import MailDelivery
from ivr.notify.notifier import Notifier
from ivr.notify.outbox import Outbox, OutboxWorker
from ivr.notify.webhook import WebhookDelivery
from ivr.plan.model import Plan
from ivr.store.calls import CallRecord, CallStore, NewStep
from ivr.store.errors import CallExists
from ivr.store.db import Database

log = logging.getLogger(__name__)

# How often finished calls are looked for that no one reviewed (a review that failed, a record
# finished by another process).
SWEEP_SECONDS = 30.0
# Reasons an item closes by itself.
CALLED_BACK = "called_back"
AUTO_CALLED_BACK = "auto_called_back"     # by the automatic call-back (ivr/missed/auto_callback.py)
# `by` of a call-back the service started by itself.
AUTO = "auto"
CALLED_AGAIN = "customer_called_again"


@dataclass(frozen=True)
class StaffCall:
    """What the dialplan knows after a staff phone's Dial to an outside number."""
    phone: str                  # the staff extension
    number: str                 # the callee, E.164
    status: str                 # Asterisk's DIALSTATUS: ANSWER, BUSY, NOANSWER, CONGESTION, ...
    answered_seconds: float     # ANSWEREDTIME: talk time, 0 when not answered
    dialled_seconds: float      # DIALEDTIME: from the Dial to its end
    channel_id: str             # the staff channel's unique id: a repeated report is recognised
    trunk: str = ""
    source: str = "staff"       # "campaign": a campaign's call to a passenger (no staff phone)
    recording: str = ""         # the call's recording (ivr.calls.recording name), when it was recorded
    # A campaign call put through to a dispatcher (option 3): that conversation's steps (rings,
    # answers, transfers) and who talked to the passenger last.
    steps: tuple[NewStep, ...] = ()
    answered_by: str = ""


@dataclass(frozen=True)
class Verdict:
    kind: str            # missed | reached | attempt | not_missed | withheld
    reason: str = ""     # missed: the reason; reached: how; attempt: the result
    by: str = ""
    short: bool = False
    node: str = ""


def is_e164(number: str) -> bool:
    return number.startswith("+") and number[1:].isdigit() and 7 <= len(number) - 1 <= 15


def classify(call: CallRecord, short_call_seconds: float, close_after_seconds: float) -> Verdict:
    """What a finished call means for the list (pure: tested without a database)."""
    outcome = call.outcome or "ended_by_plan"
    if call.direction == "outbound":
        if call.answered_at is not None and call.ended_at is not None:
            talk = (call.ended_at - call.answered_at).total_seconds()
            if talk >= close_after_seconds:
                auto = any(s.kind == "callback" and s.data.get("by") == AUTO for s in call.steps)
                return Verdict("reached", AUTO_CALLED_BACK if auto else CALLED_BACK, by=call.answered_by or "")
            return Verdict("attempt", f"short_{talk:.0f}s", by=call.answered_by or "")
        return Verdict("attempt", outcome, by=call.answered_by or "")
    if outcome == "answered":
        return Verdict("reached", CALLED_AGAIN, by=call.answered_by or "")
    if outcome not in MISSED_OUTCOMES:
        return Verdict("not_missed", outcome)
    if not is_e164(call.caller):
        return Verdict("withheld", outcome)
    node = next((s.node for s in reversed(call.steps) if s.kind == "enter"), "")
    return Verdict("missed", outcome, short=_short(call, short_call_seconds), node=node)


def _short(call: CallRecord, seconds: float) -> bool:
    """Hung up within `seconds` of the greeting's start (a misdial). A voicemail is never short."""
    if call.outcome == "voicemail" or call.ended_at is None:
        return False
    greeting = next((s.at for s in call.steps if s.kind == "enter" and s.data.get("node_kind") == "play"),
                    call.started_at)
    return (call.ended_at - greeting).total_seconds() < seconds


def rung_extensions(call: CallRecord, staff: set[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.data["member"] for s in call.steps
                               if s.kind == "ring" and s.data.get("member") in staff))


def voicemail_recording(call: CallRecord) -> str:
    """The recording name ("voicemail/<channel>") of a message left in the call, or ""."""
    return next((str(s.data["recording"]) for s in call.steps
                 if s.kind == "voicemail_left" and s.data.get("recording")), "")


class MissedService:
    """Made once by the service (Services.missed); the CLI and tests make their own on a database."""

    def __init__(self, settings: Settings, db: Database, now: Callable[[], datetime],
                 plan: Callable[[], Plan | None], config: NotifyConfig | None = None):
        self.settings, self.now, self._plan = settings, now, plan
        self.calls = CallStore(db)
        self.store = MissedStore(db)
        self.contacts = ContactStore(db)
        self.outbox = Outbox(db)
        self.config = config or load_notify_config(settings)
        self.notifier = Notifier(lambda: self.config, self.timezone, now)
        self.worker = self._make_worker()
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()   # one review at a time in this process: no self-inflicted races
        self.callbacks: Callbacks | None = None
        self._endpoint_for: Callable[[str], str] | None = None
        # Told of every call-back of this process when it has ended and been reviewed (the
        # automatic call-back frees its staff member then).
        self.on_callback_end: Callable[[CallbackJob], None] | None = None

    def use_telephony(self, ari: AriClient, bus: EventBus, endpoint_for: Callable[[str], str] | None = None,
                      caller_id_on: Callable[[str, str], str] | None = None,
                      keep_talking: KeepTalking | None = None) -> None:
        """Call-backs need the ARI connection: only the service has one. `endpoint_for` is the
        carrier router's dial string for an outside number (default: the plan's default trunk),
        `caller_id_on` its caller ID as each trunk wants it; `keep_talking` runs the bridged
        conversation (transfers from the staff phone)."""
        self.callbacks = Callbacks(ari, bus, self.now, endpoint_for, caller_id_on, keep_talking)
        self._endpoint_for = endpoint_for

    def _make_worker(self) -> OutboxWorker:
        deliverers = {"webhook": WebhookDelivery(self.config.webhooks)}
        if self.config.mail is not None:
            deliverers["mail"] = deliverers["digest"] = MailDelivery(self.config.mail)
        return OutboxWorker(self.outbox, deliverers, self.now, self.config.retry_max_seconds)

    def reload_config(self) -> None:
        """Read notifications.yaml again (SIGHUP); a broken file raises and the old one stays."""
        config = load_notify_config(self.settings)
        self.config = config
        fresh = self._make_worker()
        self.worker.deliverers, self.worker.retry_max_seconds = fresh.deliverers, fresh.retry_max_seconds
        log.info("notification settings reloaded rules=%d webhooks=%d", len(config.rules), len(config.webhooks))

    def _kick(self) -> None:
        self.worker.kick()

    def timezone(self) -> str:
        """The plan's time zone: days in the report and times in mails are local to it."""
        plan = self._plan()
        return plan.timezone if plan else "UTC"

    # ----- lifecycle -----

    async def start(self) -> None:
        """Review what a crash left unreviewed."""
        reviewed = await self.catch_up()
        if reviewed:
            log.info("missed-call review caught up calls=%d", reviewed)

    def start_jobs(self) -> None:
        """Deliver notifications and sweep for unreviewed calls in the background (in a cluster,
        only the instance holding the singleton jobs' lease runs them)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self.worker.run(), name="outbox"),
                           asyncio.create_task(self._sweep(), name="missed-sweep")]

    async def stop_jobs(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def stop(self) -> None:
        await self.stop_jobs()
        if self.callbacks is not None:
            await self.callbacks.stop()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.catch_up()
            except IvrError as e:
                log.error("missed-call sweep failed error=%s", e.message)

    # ----- reviewing calls -----

    async def catch_up(self, batch: int = 500) -> int:
        """Review every finished call not reviewed yet; returns how many were."""
        count = 0
        while True:
            ids = await self.store.unreviewed(batch)
            for call_id in ids:
                try:
                    await self.call_finished(call_id)
                except Exception:      # the next sweep tries again; the service must still start
                    log.exception("missed-call review failed call=%d", call_id)
                    return count
                count += 1
            if len(ids) < batch:
                return count

    async def call_finished(self, call_id: int) -> Verdict:
        """Review one finished call read back from the store (catching up after a restart)."""
        return await self.review(await self.calls.get(call_id))

    async def review(self, call: CallRecord) -> Verdict:
        """Review one finished call as its record was just written (idempotent: a call already
        reviewed changes nothing)."""
        async with self._lock:
            plan = self._plan()
            short_seconds = plan.short_call_seconds if plan else 3.0
            verdict = classify(call, short_seconds, self.config.close_after_seconds)
            now = self.now()
            if verdict.kind == "missed":
                await self._missed(call, verdict, plan, now)
            elif verdict.kind == "reached":
                closed = await self.store.customer_reached(call.id, call.caller, verdict.reason, verdict.by, now,
                                                           self.notifier)
                for item in closed:
                    log.info("missed call closed item=%d reason=%s by=%s call=%d", item.id, verdict.reason,
                             verdict.by or "-", call.id)
            elif verdict.kind == "attempt":
                ids = await self.store.attempt(call.id, call.caller, verdict.reason, verdict.by,
                                               call.ended_at or now, now)
                if ids:
                    log.info("call-back attempt logged items=%s result=%s call=%d", ids, verdict.reason, call.id)
            elif verdict.kind == "withheld":
                await self.store.mark_reviewed(call.id, verdict.kind, now)
            # not_missed: nothing to do, and `unreviewed` never lists such a call: no mark to write.
            if verdict.kind != "not_missed":
                self._kick()     # after the commit: the worker sees the new outbox rows
            return verdict

    async def _missed(self, call: CallRecord, verdict: Verdict, plan: Plan | None, now: datetime) -> None:
        contact = await self.contacts.by_number(call.caller)
        voicemail = await self._keep_voicemail(call)
        miss = MissedCall(call_id=call.id, customer=call.caller, company_number=call.company_number,
                          source=call.source, contact_name=contact.name if contact else call.name,
                          at=call.started_at, reason=verdict.reason, node=verdict.node, short=verdict.short,
                          voicemail=voicemail, rung=rung_extensions(call, set(plan.staff) if plan else set()),
                          steps=tuple(s.kind for s in call.steps))
        item = await self.store.add_missed(miss, now, self.notifier)
        if item is not None:
            log.info("missed call item=%d count=%d caller=%s number=%s reason=%s short=%s call=%d", item.id,
                     item.count, miss.customer, miss.company_number, miss.reason, miss.short, call.id)

    async def _keep_voicemail(self, call: CallRecord) -> str:
        """Copy the message out of Asterisk's spool into var/voicemail/ (kept with the item)."""
        name = voicemail_recording(call)
        if not name:
            return ""
        source = pbx_instance(self.settings).spool / "recording" / f"{name}.wav"
        target = self.settings.var / "voicemail" / f"call{call.id}.wav"
        if target.exists():
            return str(target)
        # Asterisk writes a WAV header first: a file no longer than it holds no message.
        if not source.exists() or source.stat().st_size <= 44:
            log.warning("voicemail recording missing or empty call=%d path=%s", call.id, source)
            return ""
        await asyncio.to_thread(_copy, source, target)
        return str(target)

    # ----- staff actions -----

    async def take(self, item_id: int, by: str) -> MissedItem:
        item = await self.store.take(item_id, by, self.now(), self.notifier)
        self._kick()
        return item

    async def release(self, item_id: int, by: str) -> MissedItem:
        return await self.store.release(item_id, by, self.now())

    async def close(self, item_id: int, by: str, reason: str = "done") -> MissedItem:
        item = await self.store.close(item_id, by, reason, self.now(), self.notifier)
        self._kick()
        return item

    # ----- staff calls dialled from a desk phone -----

    async def staff_call_ended(self, call: StaffCall) -> int:
        """Store a staff phone's outbound call (reported by the dialplan's AGI after its Dial), or a
        campaign's call (reported by the dialer), and review it: answered long enough closes the
        customer's items, anything else is an attempt.
        Idempotent on the channel: a repeated report returns the stored call's id."""
        if not is_e164(call.number):
            raise InvalidInput(f"number: {call.number!r} is not an E.164 number")
        if call.answered_seconds < 0 or call.dialled_seconds < call.answered_seconds:
            raise InvalidInput("answered_seconds must be between 0 and dialled_seconds")
        known = await self.calls.by_channel(call.channel_id)
        if known is not None:
            return known.id
        ended = self.now()
        started = ended - timedelta(seconds=call.dialled_seconds)
        contact = await self.contacts.by_number(call.number)
        try:
            call_id = await self.calls.start(call.channel_id, call.number, "", call.source, None, started,
                                             direction="outbound", contact_name=contact.name if contact else "")
        except CallExists:       # the same report twice at once
            known = await self.calls.by_channel(call.channel_id)
            assert known is not None
            return known.id
        answered = call.status == "ANSWER" and call.answered_seconds > 0
        ended_as = of_dial_status(call.status)
        outcome = "answered" if answered else ended_as if ended_as not in (None, Outcome.ANSWERED) else "failed"
        steps = [NewStep(started, call.source, "dial", {"phone": call.phone, "status": call.status,
                                                         "trunk": call.trunk})]
        if answered and call.recording:
            steps.append(NewStep(started, call.source, "recording", {"file": call.recording, "why": call.source}))
        steps.extend(call.steps)
        record = await self.calls.close(
            call_id, steps, ended, outcome, call.phone or call.answered_by,
            ended - timedelta(seconds=call.answered_seconds) if answered else None)
        verdict = await self.review(record)
        log.info("staff call reviewed phone=%s number=%s status=%s talk=%ss verdict=%s call=%d", call.phone,
                 call.number, call.status, call.answered_seconds, verdict.kind, call_id)
        return call_id

    # ----- call-back -----

    async def start_callback(self, item_id: int, staff: str, by: str = "", note: dict[str, object] | None = None,
                             seen_events: int | None = None) -> dict[str, object]:
        """Ring `staff`'s phone; when answered the customer is called and bridged. Returns at once
        with the outbound call's record id; its result lands on the item when it ends.

        `note` is added to the item's `callback_started` event. `seen_events`: the caller decided on
        the item with this many events (the automatic call-back); if another process or person
        added one meanwhile (an attempt, a new missed call), MissedConflict and nothing is dialled."""
        if self.callbacks is None or not self.callbacks.ari.connected:
            raise ServiceUnavailable("call-back needs the running service connected to Asterisk")
        plan = self._plan()
        if plan is None or staff not in plan.staff:
            raise InvalidInput(f"{staff!r} is not a staff extension of the plan")
        item = await self.store.get(item_id)
        if item.status == "closed":
            raise MissedConflict(f"missed call {item_id} is closed already ({item.close_reason})")
        if self.callbacks.busy(item.customer):
            raise MissedConflict(f"a call-back to {item.customer} is already running")
        endpoint = self._endpoint_for(item.customer) if self._endpoint_for else trunk_endpoint(plan, item.customer)
        channel_id, now = new_channel_id(self.settings.node_name), self.now()
        await self.store.claim_callback(item.customer, staff, now)     # other processes too
        if seen_events is not None:
            try:
                fresh = await self.store.get(item_id)
            except Exception:
                await self.store.release_callback(item.customer)
                raise
            if fresh.status != "open" or len(fresh.events) != seen_events:
                await self.store.release_callback(item.customer)
                raise MissedConflict(f"missed call {item_id} changed while its call-back was being decided")
        try:
            call_id = await self.calls.start(channel_id, item.customer, item.company_number, item.source, None,
                                             now, direction="outbound", contact_name=item.contact_name)
        except Exception:
            await self.store.release_callback(item.customer)
            raise
        await self.store.callback_call(item.customer, call_id)
        await self.calls.add_step(call_id, now, "callback", "callback", {"item": item_id, "staff": staff, "by": by})
        await self.store.log(item_id, "callback_started", by or staff, now, **(note or {}), staff=staff, call=call_id)
        job = CallbackJob(item=item, staff=staff, channel_id=channel_id, call_id=call_id, customer_endpoint=endpoint,
                          tonezone=plan.country.lower())
        try:
            await self.callbacks.ring_staff(job, self._callback_ended)
        except Exception:
            job.outcome = "error"
            await self._callback_ended(job)
            raise
        log.info("call-back started item=%d staff=%s customer=%s call=%d", item_id, staff, item.customer, call_id)
        return {"item": item_id, "call_id": call_id, "channel_id": channel_id, "staff": staff}

    async def run_callback(self, event: StasisStart, sub: Subscription) -> None:
        """The supervisor's handler for Stasis(ivr,callback,...): the staff phone answered."""
        if self.callbacks is None:
            return
        await self.callbacks.talk(event, sub, self._callback_ended)

    async def _callback_ended(self, job: CallbackJob) -> None:
        """Store the outbound call's record, then review it like every call: closes or logs."""
        try:
            await self._store_callback(job)
        finally:
            if self.on_callback_end is not None:
                self.on_callback_end(job)

    async def _store_callback(self, job: CallbackJob) -> None:
        try:
            await self.store.release_callback(job.item.customer)
        except Exception:      # the claim goes stale with the call's end: the next one takes it over
            log.exception("releasing the call-back claim failed customer=%s", job.item.customer)
        try:
            record = await self.calls.close(job.call_id, [NewStep(at, "callback", kind, data) for at, kind, data in job.steps],
                                            self.now(), job.outcome, job.answered_by or job.staff, job.answered_at)
        except Exception:
            log.exception("storing the call-back record failed call=%d", job.call_id)
            return
        log.info("call-back ended item=%d outcome=%s call=%d", job.item.id, job.outcome, job.call_id)
        await self.review(record)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
