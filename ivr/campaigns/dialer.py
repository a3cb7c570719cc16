"""The dialer: claims due rows, paces originates, watches each attempt to its end, and after a
restart reconciles the attempts that were in flight.

A round (the loop) claims what free slots need plus a few rows ahead (ready.py); the watcher
whose call ends dials the oldest ready one at once, so a freed slot does not wait for a round.

Never twice: an attempt (with the channel id we chose) is committed before the originate; after a
restart an open attempt whose channel still exists is carried on, and one whose channel is gone is
ended from what was stored (answer kept; answered without an answer: "interrupted"; never
answered: "lost"; both retried under their own rules, and they count as attempts). The log says
which it was for each: kept, to be called again at a time, or given up.

Failover within an attempt: a leg the trunk failed (503, 408, no circuit: the routing package's
rule) before anyone answered is dialled again on the router's next candidate, under a new channel id
stored on the attempt before the dial; only when every candidate failed is the outcome "congestion".
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, AriConflict, AriError, ChannelGone
from ivr.ari.events import ChannelDestroyed, ChannelStateChange, Dial, StasisStart
from ivr.calls.journal import CallJournal
from ivr.calls.legs import quietly
from ivr.calls.outcome import of_cause
from ivr.calls.session import CallEnded, CallSession
from ivr.calls.supervisor import CallSupervisor
from ivr.campaigns import scheduler
from ivr.campaigns.channel_ids import attempt_channel_id, attempt_owner, failover_channel_id
from ivr.campaigns.config import campaigns_file, load_profiles
from ivr.campaigns.flow import run_flow
from ivr.campaigns.leg_end import LegEnd, attempt_outcome
from ivr.campaigns.limits import DailyLimit
from ivr.campaigns.missed_calls import tell_missed
from ivr.campaigns.model import ANSWERS, Attempt, Campaign, Profile, Row
from ivr.campaigns.ready import ClaimedCall, ReadyLine, callable_now
from ivr.campaigns.store import CampaignStore
from ivr.campaigns.trunks import Budget, has_room, next_trunk, take_room, trunk_budget, trunk_for
from ivr.config import Settings
from ivr.errors import IvrError
from ivr.flows.context import Services
from ivr.plan.live import PlanHolder
from ivr.plan.model import Plan
from ivr.routing.numbers import for_trunk
from ivr.routing.router import trunk_endpoint, trunk_of_channel
from ivr.say import TextSpeaker
from ivr.sounds.catalog import PromptCatalog

log = logging.getLogger(__name__)

# Without an event this long, a watcher asks Asterisk whether the channel still exists.
POLL_SECONDS = 5.0
# How often the running dialer looks for open attempts nobody watches (besides every reconnect).
RECONCILE_SECONDS = 30.0
# A round with no slot free takes a fresh count of the trunks' channels and the day's use this often.
REFRESH_SECONDS = 1.0
AMD_CONTEXT = "campaign-amd"
T = TypeVar("T")


async def _after(delay: float, work: Awaitable[T]) -> T:
    await asyncio.sleep(delay)
    return await work


class CampaignDialer:
    """Dials the running campaigns' rows and watches each attempt to its end (built by IvrService,
    which hands it what it uses)."""

    def __init__(self, store: CampaignStore, *, settings: Settings, ari: AriClient, bus: EventBus,
                 plans: PlanHolder, catalog: PromptCatalog, now: Callable[[], datetime],
                 supervisor: CallSupervisor, services: Services, tick: float = 0.5):
        self.store = store
        self.settings, self.ari, self.bus, self.plans, self.catalog = settings, ari, bus, plans, catalog
        self.supervisor, self.services = supervisor, services
        self._clock = now
        self.tick = tick
        self.limit = DailyLimit(store)                       # the plan's `limits:` (toll fraud)
        self.instance = attempt_owner(settings.node_name, settings.web_port)
        self.watchers: dict[int, asyncio.Task] = {}          # attempt id -> its watcher
        self.ringing: dict[int, Attempt] = {}                # watched attempts not answered (yet)
        # Attempts this process dials or watches, from their claim on: reconcile leaves them alone.
        self.owned: set[int] = set()
        self.conversations: dict[int, CallJournal] = {}     # attempt id -> its talk with a dispatcher
        self.ready = ReadyLine()                             # claimed ahead, dialled when a slot frees
        self.dialled: dict[int, ClaimedCall] = {}            # attempt id -> as dialled, to its end
        self._claiming = asyncio.Lock()                      # a claim and its `owned` vs. reconcile
        self.in_flight: dict[int, int] = {}                  # campaign id -> attempts being watched
        self._profiles: tuple[tuple, dict[str, Profile]] = ((), {})
        self._last_originate = 0.0
        self._refreshed = 0.0                                # monotonic time of the last router refresh
        self._stopping = False
        self._reconciled = asyncio.Event()
        # Set when a campaign channel ends: the loop claims the next row at once instead of at its
        # next tick (the tick alone made "slot free -> INVITE" about 300 ms, bench_campaign).
        self.slot_freed = asyncio.Event()
        self.speaker = TextSpeaker(settings)          # route names: recording, else speech

    # ----- wiring -----

    def handlers(self) -> dict[str, Callable]:
        return {"campaign": self.handle_call, "campaign-amd": self.handle_amd}

    def profiles(self) -> dict[str, Profile]:
        plan = self.plans.current.plan
        path: Path = campaigns_file(self.settings)
        stamp = (plan.checksum, path.stat().st_mtime_ns if path.exists() else 0)
        if stamp != self._profiles[0]:
            self._profiles = (stamp, load_profiles(path, plan, self.catalog.exists))
        return self._profiles[1]

    def now(self) -> datetime:
        return self._clock()

    # ----- the loop -----

    async def stop(self) -> None:
        """Cancel and await the attempts' watchers; their attempts stay open for `reconcile`."""
        self._stopping = True                # a watcher cancelled now frees its slot: nothing is dialled
        watchers = list(self.watchers.values())
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        try:
            await self._release(self.ready.drop())
        except Exception:          # left open: reconcile ends them "lost" after the restart
            log.exception("campaign ready calls not handed back")

    async def run(self) -> None:
        last_reconcile = time.monotonic()
        while True:
            await self._reconciled.wait()
            try:
                if self.ari.connected:
                    await self._dial_running()
                    await self._drop_cancelled()
                    # An attempt left undialled by an unexpected error is open and unwatched: settle
                    # it now and then instead of only after the next ARI reconnect.
                    if time.monotonic() - last_reconcile > RECONCILE_SECONDS:
                        last_reconcile = time.monotonic()
                        await self.reconcile()
            except IvrError as e:
                log.error("campaign dialer error=%s", e.message)
            except Exception:
                log.exception("campaign dialer failed")
            try:
                await asyncio.wait_for(self.slot_freed.wait(), self.tick)
            except asyncio.TimeoutError:
                pass
            self.slot_freed.clear()

    async def _dial_running(self) -> None:
        """One round over the running campaigns, within what the plan's daily limit leaves."""
        running = await self.store.list("running")
        stopped = self.ready.campaigns() - {c.id for c in running}
        await self._release([call for cid in stopped for call in self.ready.drop(cid)])
        if not running:
            return
        left = await self.limit.calls_left(self.plans.current.plan, self.now())
        # Ready calls were counted when claimed: they are dialled before the limit pauses anything.
        if left == 0 and not self.ready.campaigns():
            for campaign in running:
                await self.store.change(campaign.id, "pause", self.now())
                log.warning("campaign paused by the daily limit id=%s", campaign.id)
            return
        for campaign in running:
            left = await self._dial_due(campaign, left)

    async def _drop_cancelled(self) -> None:
        """A cancelled campaign's calls still ringing are hung up: nobody is asked about a trip that
        was called off. Answered ones finish their conversation."""
        if not self.ringing:
            return
        cancelled = {c.id for c in await self.store.list("cancelled")}
        for attempt in [a for a in self.ringing.values() if a.campaign_id in cancelled]:
            log.info("campaign cancelled: ringing call hung up attempt=%s number=%s", attempt.id, attempt.number)
            self.ringing.pop(attempt.id, None)
            await quietly(self.ari.hangup(attempt.channel_id), "cancelled campaign call")

    async def _dial_due(self, campaign: Campaign, left: int | None = None) -> int | None:
        """Dials the campaign's due rows, at most `left` (None: no daily limit); returns what is left."""
        profile = self.profiles().get(campaign.profile)
        if profile is None:
            log.error("campaign %s: no profile '%s'", campaign.id, campaign.profile)
            return left
        plan = self.plans.current.plan
        slots, budget = await self.free_slots(campaign, profile, plan)
        slots = await self._dial_ready_calls(campaign.id, profile, slots, budget)
        # Claimed beyond the free slots: ready for the next slots to free (ready.py).
        want = slots + (max(0, self.ready.target(campaign.id, profile) - self.ready.count(campaign.id))
                        if self._dials_ahead(profile) else 0)
        if left is not None:
            want = min(want, left)
        # Ready calls only on trunks without a capacity limit: a freed slot dials them from memory.
        ahead_budget: Budget = {name: None if room is None else 0 for name, room in budget.items()}
        taken = 0

        def choose(row: Row) -> str | None:
            nonlocal taken
            trunk = trunk_for(self.services.router, row.passenger.phone, plan,
                              budget if taken < slots else ahead_budget)
            taken += trunk is not None
            return trunk

        async with self._claiming:
            claimed = await self.store.claim(
                campaign.id, self.instance, self.now(), want,
                channel_id_for=lambda row: attempt_channel_id(self.settings.node_name, campaign.id, row.id,
                                                              row.attempts),
                trunk_for=choose, expired=lambda row: self._expired(row, profile)) if want > 0 else []
            self.owned.update(attempt.id for _, attempt in claimed)
        since = time.monotonic()
        calls = [ClaimedCall(campaign, profile, plan, row, attempt, since) for row, attempt in claimed]
        for call in calls[slots:]:
            self.ready.add(call)
        try:
            for call in calls[:slots]:
                await self._pace(profile)
                self._dial(call)
        finally:
            # Attempts left undialled by an unexpected error: the next reconcile ends them.
            self.owned.difference_update(c.attempt.id for c in calls[:slots] if c.attempt.id not in self.watchers)
        if not claimed and not self.in_flight.get(campaign.id) and not self.ready.count(campaign.id):
            if await self.store.finish_if_complete(campaign.id):
                log.info("campaign done id=%s", campaign.id)
        return None if left is None else left - len(claimed)

    def _dials_ahead(self, profile: Profile) -> bool:
        """Calls are claimed ahead only where a freed slot alone decides the next dial: not in a
        cluster (other nodes' attempts count) nor with dispatcher-aware pacing (the dispatchers do)."""
        return not self.settings.node_name and profile.pacing.per_free_dispatcher <= 0

    async def _dial_ready_calls(self, campaign_id: int, profile: Profile, slots: int, budget: Budget) -> int:
        """The round dials the campaign's ready calls first, within `slots` and the trunks' `budget`
        (taken from it), and hands back those that waited too long or whose hours passed; returns
        the slots left."""
        back = self.ready.stale(campaign_id)
        now = self.now()
        while slots > 0:
            call = self.ready.take(campaign_id, lambda c: has_room(budget, c.attempt.trunk))
            if call is None:
                break
            if not callable_now(call, now):
                back.append(call)
                continue
            take_room(budget, call.attempt.trunk)
            slots -= 1
            await self._pace(profile)
            self._dial(call)
        await self._release(back)
        return slots

    def _dial_freed_slot(self, campaign_id: int) -> ClaimedCall | None:
        """A slot of the campaign just freed: dial its oldest ready call at once, not at the next
        round, where memory alone decides: a trunk without a capacity limit (a capped one needs
        the round's fresh count of its channels), the profile's ceiling, the callee's hours; its
        pace delays the originate. The call dialled, or None (the round decides)."""
        live = self.plans.current
        if self._stopping or not self.ari.connected or not self._reconciled.is_set() or live is None:
            return None
        now, clock = self.now(), time.monotonic()

        def fits(call: ClaimedCall) -> bool:
            trunk = live.plan.trunks.get(call.attempt.trunk)
            return (trunk is not None and trunk.capacity <= 0
                    and self.in_flight.get(campaign_id, 0) < call.profile.pacing.max_concurrent
                    and callable_now(call, now))

        call = self.ready.take(campaign_id, fits)
        if call is not None:
            start = max(clock, self._last_originate + 1.0 / call.profile.pacing.calls_per_second)
            self._last_originate = start
            self._dial(call, start - clock)
        return call

    def _dial(self, call: ClaimedCall, delay: float = 0.0) -> None:
        """Dialled inside its watcher (after `delay` s): the next row does not wait for Asterisk's answer."""
        self.dialled[call.attempt.id] = call
        dialling = self._originate(call.campaign, call.profile, call.plan, call.row, call.attempt)
        self._watch(call.attempt, dialling=_after(delay, dialling) if delay > 0 else dialling)

    async def _release(self, calls: list[ClaimedCall]) -> None:
        """Ready calls not dialled go back to their rows: as they were, or re-planned when their
        hours or deadline passed meanwhile."""
        if not calls:
            return
        now = self.now()
        await self.store.release([(c.attempt, None if callable_now(c, now) else scheduler.plan_first(
            c.row.passenger, c.row.timezone, c.profile, scheduler.holidays_of(c.plan, c.profile), now))
            for c in calls], now)
        self.owned.difference_update(c.attempt.id for c in calls)

    def _expired(self, row: Row, profile: Profile) -> bool:
        limit = scheduler.deadline(row.passenger, profile)
        return limit is not None and self.now() > limit

    async def free_slots(self, campaign: Campaign, profile: Profile, plan: Plan) -> tuple[int, Budget]:
        """Calls this campaign may start now, and per trunk the channels it may take: capacity
        minus live channels (inbound, staff, other campaigns) minus those kept for inbound calls;
        with dispatcher-aware pacing, no more in flight than the option-3 dispatchers can take."""
        from ivr.campaigns.pacing import dispatcher_room
        flying = self.in_flight.get(campaign.id, 0)
        if self.settings.node_name:
            # A cluster: attempts watched on other nodes (taken over from a dead instance) count too.
            flying = max(flying, await self.store.open_count(campaign.id))
        own = profile.pacing.max_concurrent - flying
        room = await dispatcher_room(profile, plan, self.services, self.ari, flying)
        if room is not None:
            own = min(own, room)
        if own <= 0 and time.monotonic() - self._refreshed < REFRESH_SECONDS:
            # Nothing to dial now, and calls claimed ahead take only trunks without a capacity
            # limit: no fresh count of the channels (Asterisk lists them all, 150 here) every round.
            return 0, trunk_budget(plan, {}, profile.pacing.reserve_inbound)
        router = self.services.router
        self._refreshed = time.monotonic()
        if router is not None:
            await router.refresh()
            counts = router.channels.counts()
        else:
            counts = dict(Counter(t for c in await self.ari.list_channels()
                                  if (t := trunk_of_channel(c.name)) is not None))
        budget = trunk_budget(plan, counts, profile.pacing.reserve_inbound)
        own = max(0, own)
        if not budget or any(v is None for v in budget.values()):
            return own, budget
        return min(own, sum(v or 0 for v in budget.values())), budget

    async def _pace(self, profile: Profile) -> None:
        gap = 1.0 / profile.pacing.calls_per_second
        wait = self._last_originate + gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_originate = time.monotonic()

    async def _originate(self, campaign: Campaign, profile: Profile, plan: Plan, row: Row,
                         attempt: Attempt) -> Subscription | None:
        """Dial the attempt's current leg; its subscription, or None if Asterisk refused the dial."""
        sub = self.bus.subscribe(attempt.channel_id)     # subscribe, then dial
        app_args = f"{'campaign-amd' if profile.amd.enabled else 'campaign'},{attempt.id}"
        trunk = plan.trunks.get(attempt.trunk)
        # numbers in the format the trunk wants (+7, 8 or ten digits)
        number_format = trunk.sip.number_format if trunk else "e164"
        caller_id = for_trunk(profile.caller_id or (trunk.caller_id if trunk else ""), number_format)
        # The trunk report finds the attempt by the number in its CDR userfield (refused ones too).
        # CAMPAIGN_APP: after app_amd the dialplan returns the call to the service that dialled it
        # (two services on one Asterisk have two ARI apps).
        variables = {"CDR(userfield)": attempt.number, "CAMPAIGN_APP": self.settings.ari_app}
        if profile.amd.enabled:
            variables["CAMPAIGN_AMD"] = profile.amd.arguments()
        log.info("campaign dial id=%s row=%s attempt=%s number=%s trunk=%s", campaign.id, row.id, attempt.id,
                 attempt.number, attempt.trunk)
        try:
            await self.ari.originate(trunk_endpoint(for_trunk(attempt.number, number_format), attempt.trunk),
                                             attempt.channel_id,
                                             app_args, caller_id=caller_id, timeout=profile.ring_seconds,
                                             variables=variables)
        except AriConflict:
            pass                                  # the channel exists: this dial got through before
        except AriError as e:
            log.warning("campaign originate refused attempt=%s error=%s", attempt.id, e.message)
            sub.cancel()
            return None
        except IvrError as e:
            # Unreachable mid-request: the channel may exist all the same; following it tells
            # (gone: "lost"), a second dial could call twice.
            log.warning("campaign originate unanswered attempt=%s error=%s", attempt.id, e.message)
        return sub

    # ----- watching one attempt -----

    def _watch(self, attempt: Attempt, sub: Subscription | None = None,
               dialling: Coroutine[Any, Any, Subscription | None] | None = None) -> None:
        """Follow `attempt` in a task of its own: its leg's subscription `sub`, or the one
        `dialling` (its originate) gives."""
        self.owned.add(attempt.id)
        self.in_flight[attempt.campaign_id] = self.in_flight.get(attempt.campaign_id, 0) + 1
        task = asyncio.create_task(self._watcher(attempt, sub, dialling), name=f"campaign-{attempt.channel_id}")
        self.watchers[attempt.id] = task

    async def _watcher(self, attempt: Attempt, sub: Subscription | None,
                       dialling: Coroutine[Any, Any, Subscription | None] | None = None) -> None:
        """Follow the attempt to its end, leg after leg while trunks fail it; then finish it."""
        freed = False
        try:
            if dialling is not None:
                try:
                    sub = await dialling
                except Exception:    # left open and unowned: the next reconcile settles it
                    log.exception("campaign dial failed attempt=%s", attempt.id)
                    return
            while True:
                if attempt.answered_at is None:
                    self.ringing[attempt.id] = attempt
                if sub is None:                       # Asterisk refused the dial: the trunk's trouble
                    outcome, trunk_failed = "congestion", True
                else:
                    end = await self._follow(attempt, sub)
                    sub.cancel()
                    outcome = "lost" if end.cause is None else attempt_outcome(of_cause(end.cause))
                    trunk_failed = end.trunk_failed
                if not trunk_failed:
                    break
                moved = await self._fail_over(attempt)
                if moved is None:
                    outcome = "congestion"            # every candidate failed, or none has a channel
                    break
                attempt, sub = moved
            # The channel is gone: its slot takes the next row now, not after the bookkeeping below
            # (storing the attempt and the call, the missed-call review), which needs no channel.
            self._free_slot(attempt)
            freed = True
            # The flow may still be storing its last words.
            flow = self.supervisor.tasks.get(attempt.channel_id)
            if flow is not None:
                await asyncio.wait([flow], timeout=10)
            await self._finish(attempt, outcome)
        finally:
            if sub is not None:
                sub.cancel()
            self.watchers.pop(attempt.id, None)
            self.dialled.pop(attempt.id, None)
            self.ringing.pop(attempt.id, None)
            self.owned.discard(attempt.id)
            if not freed:
                self._free_slot(attempt)

    def _free_slot(self, attempt: Attempt) -> None:
        campaign_id = attempt.campaign_id
        self.in_flight[campaign_id] = max(0, self.in_flight.get(campaign_id, 1) - 1)
        self.ready.freed(campaign_id)
        call = self._dial_freed_slot(campaign_id)
        if call is not None and self.ready.count(campaign_id) * 2 >= self.ready.target(campaign_id, call.profile):
            return                  # the line is still half full: the round refills it at its tick
        self.slot_freed.set()

    async def _follow(self, attempt: Attempt, sub: Subscription) -> LegEnd:
        """Wait for the end of the attempt's current leg; without an event for a while, ask
        Asterisk whether the channel still exists."""
        status, answered = "", attempt.answered_at is not None
        while True:
            try:
                event = await sub.get(POLL_SECONDS)
            except asyncio.TimeoutError:
                try:
                    await self.ari.get_channel(attempt.channel_id)
                    continue
                except ChannelGone:
                    return LegEnd(None, status, answered)
                except IvrError:
                    continue                          # Asterisk unreachable: keep waiting
            if isinstance(event, Dial) and event.peer_id == attempt.channel_id and event.dialstatus:
                status = event.dialstatus
                answered |= status == "ANSWER"
            elif isinstance(event, ChannelStateChange) and event.channel.id == attempt.channel_id:
                answered |= event.channel.state == "Up"
            if answered:
                self.ringing.pop(attempt.id, None)
            if isinstance(event, ChannelDestroyed) and event.channel.id == attempt.channel_id:
                return LegEnd(event.cause, status, answered or event.channel.state == "Up")

    async def _fail_over(self, attempt: Attempt) -> tuple[Attempt, Subscription | None] | None:
        """The attempt's next leg on the router's next candidate with a campaign channel free,
        its channel id stored before the dial (a crash now leaves an attempt whose channel is gone:
        "lost", never a second call). None when no candidate is left, or the attempt moved on
        meanwhile (ended, answered): nothing is dialled then."""
        known = self.dialled.get(attempt.id)
        campaign = known.campaign if known else await self.store.get(attempt.campaign_id)
        profile = self.profiles().get(campaign.profile)
        plan = self.plans.current.plan
        trunk = await next_trunk(self.services.router, attempt, plan, profile) if profile is not None else None
        if trunk is None:
            return None
        moved = await self.store.fail_over(attempt.id, attempt.channel_id,
                                           failover_channel_id(self.settings.node_name, attempt), trunk)
        if moved is None:
            return None
        log.warning("campaign fail over attempt=%s number=%s from=%s to=%s", attempt.id, attempt.number,
                    attempt.trunk, trunk)
        row = known.row if known else await self.store.row(moved.row_id)
        if known:
            self.dialled[attempt.id] = replace(known, attempt=moved)
        return moved, await self._originate(campaign, profile, plan, row, moved)

    async def _finish(self, attempt: Attempt, outcome: str) -> str | None:
        """End the attempt and decide its row; the outcome stored (None: it had ended already)."""
        plan = self.plans.current.plan
        known = self.dialled.get(attempt.id)
        campaign = known.campaign if known else await self.store.get(attempt.campaign_id)
        profile = self.profiles().get(campaign.profile)
        if profile is None:
            return None
        holidays = scheduler.holidays_of(plan, profile)

        def decide(result: str, counts: dict[str, int], attempts: int, row: Row) -> scheduler.Decision:
            return scheduler.after_attempt(result, counts, attempts, row.passenger, row.timezone, profile,
                                           holidays, self.now())

        stored = await asyncio.shield(self.store.finish(attempt.id, outcome, self.now(), decide))
        log.info("campaign attempt ended attempt=%s number=%s outcome=%s", attempt.id, attempt.number, stored)
        put_through = self.conversations.pop(attempt.id, None) or CallJournal(self.now)   # option 3's talk
        await asyncio.shield(tell_missed(self.services, self.plans.current, self.store, attempt.id, put_through))
        return stored

    async def _log_restart_end(self, attempt: Attempt, stored: str | None) -> None:
        """What a restart made of an attempt whose call was gone: its answer kept, or the passenger
        to be called again (and when), or given up (and why)."""
        if stored is None:
            return
        row = await self.store.row(attempt.row_id)
        if stored in ANSWERS:
            log.warning("campaign attempt ended in a restart, answer kept attempt=%s row=%s number=%s answer=%s",
                        attempt.id, row.id, attempt.number, stored)
        elif row.status == "ready" and row.next_at is not None:
            log.warning("campaign attempt %s in a restart, will be called again attempt=%s row=%s number=%s "
                        "next_at=%s", stored, attempt.id, row.id, attempt.number, row.next_at.isoformat())
        else:
            log.warning("campaign attempt %s in a restart, not called again attempt=%s row=%s number=%s "
                        "result=%s", stored, attempt.id, row.id, attempt.number, row.result)

    # ----- after (re)connecting -----

    @contextlib.asynccontextmanager
    async def inbound_attempt(self, row: Row, channel_id: str, now: datetime) -> AsyncIterator[Attempt]:
        """The attempt of a passenger calling back, owned while their call runs: a reconcile in
        the meantime must not take it for one left by a restart and watch it too."""
        async with self._claiming:
            attempt = await self.store.inbound_attempt(row, channel_id, self.instance, now)
            self.owned.add(attempt.id)
        try:
            yield attempt
        finally:
            self.owned.discard(attempt.id)

    async def reconcile(self) -> None:
        """Attempts of this instance left open: carry on those whose channel exists, end the rest."""
        try:
            # Under the claim lock: an attempt claimed by this process is in `owned` before its
            # dial, so one claimed but not dialled yet is never taken for lost (and dialled again).
            async with self._claiming:
                for attempt in await self.store.open_attempts(self.instance):
                    if attempt.id in self.owned:
                        continue
                    sub = self.bus.subscribe(attempt.channel_id)
                    try:
                        await self.ari.get_channel(attempt.channel_id)
                    except ChannelGone:
                        sub.cancel()
                        await self._log_restart_end(attempt, await self._finish(attempt, "lost"))
                        continue
                    log.warning("campaign attempt carried on after a restart attempt=%s call=%s", attempt.id,
                                attempt.channel_id)
                    self._watch(attempt, sub)
        except IvrError as e:
            log.error("campaign reconcile failed error=%s", e.message)
            return
        self._reconciled.set()

    # ----- the answered call (supervisor handlers) -----

    async def handle_amd(self, event: StasisStart, sub: Subscription) -> None:
        """Answered: leave Stasis for app_amd in the dialplan, which comes back as `campaign`."""
        await self.ari.continue_in_dialplan(event.channel.id, AMD_CONTEXT, event.args[1])

    async def handle_call(self, event: StasisStart, sub: Subscription) -> None:
        known = self.dialled.get(int(event.args[1]))
        if known is not None and known.attempt.channel_id == event.channel.id:
            attempt, row, campaign = known.attempt, known.row, known.campaign   # dialled by this process
        else:                                     # carried on after a restart: as stored
            attempt = await self.store.attempt(int(event.args[1]))
            row = await self.store.row(attempt.row_id)
            campaign = await self.store.get(attempt.campaign_id)
        profile = self.profiles()[campaign.profile]
        plan = self.plans.current.plan
        amd_status = event.args[2] if len(event.args) > 2 else ""
        session = CallSession(self.ari, self.bus, sub, event.channel.id,
                              row.passenger.language or plan.language, self.catalog.resolve, self.now)
        conversation = self.conversations[attempt.id] = CallJournal(self.now)
        try:
            await run_flow(session, self.store, attempt, row, profile, amd_status, plan, self.services,
                           self.now, self.speaker.speak_text, conversation)
        except (CallEnded, ChannelGone):
            pass                                  # the passenger hung up, or Asterisk lost the call
        finally:
            await asyncio.shield(session.hangup())
