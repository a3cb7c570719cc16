"""`ivr queues`: live lines, agents and statistics; `ivr queues agent ACTION EXT` logs agents in
and out and pauses them.

Both go through the running service's web API (so the service acts at once). When the service is
not running, statistics and agent states are read from (and agent changes written to) the
database; the service loads them when it starts.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, time
from typing import Any

import aiohttp

from ivr import i18n
from ivr.clock import Clock, parse_aware
from ivr.security.local import local_headers, local_url
from ivr.config import Settings
from ivr.errors import InvalidInput, IvrError
from ivr.i18n import _
from ivr.queues.manager import AGENT_ACTIONS
from ivr.queues.stats import compute
from ivr.store.db import open_database
from ivr.store.queues import QueueStore
from ivr.terms import term


class ApiRefused(IvrError):
    error_id = "api-refused"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("queues", help="queue lines, agents and statistics",
                                   description="Queues: who waits, agents' states, today's statistics.")
    parser.add_argument("--since", help="statistics from this time on (ISO 8601 with offset); default: today")
    parser.add_argument("--until", help="statistics of calls that joined before this time (ISO 8601 with offset)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=queues_command)
    sub = parser.add_subparsers(dest="queues_command", metavar="agent")
    agent = sub.add_parser("agent", help="log an agent in or out, pause or unpause",
                           description="Change an agent's state (it survives a restart).")
    agent.add_argument("action", choices=AGENT_ACTIONS)
    agent.add_argument("extension")
    agent.add_argument("--reason", default="", help="why the agent pauses (shown in `ivr queues`)")
    agent.set_defaults(handler=agent_command)


async def _api(settings: Settings, method: str, path: str, params: dict[str, str]) -> dict[str, Any] | None:
    """The API's answer; None when the service is not running."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10),
                                         headers=local_headers(settings)) as http:
            async with http.request(method, local_url(settings) + path, params=params) as r:
                body = await r.json() if r.content_type == "application/json" else None
                if r.status >= 400 or not isinstance(body, dict):
                    message = body.get("message") if isinstance(body, dict) else None
                    raise ApiRefused(message or f"the service at {local_url(settings)} answered HTTP {r.status} "
                                                f"to {method} {path}; is it a version without queues?")
                return body
    except (aiohttp.ClientConnectionError, asyncio.TimeoutError):
        return None


# ----- ivr queues agent ACTION EXT -----

def agent_command(args: argparse.Namespace, settings: Settings) -> int:
    if not args.extension.isdigit():
        raise InvalidInput(_("extension '%(ext)s' must be digits, e.g. 101", ext=args.extension))

    async def act() -> tuple[dict[str, Any], bool]:
        params = {"reason": args.reason} if args.reason else {}
        answer = await _api(settings, "POST", f"/api/queues/agents/{args.extension}/{args.action}", params)
        if answer is not None:
            return answer, True
        db = await open_database(settings.database_url, settings)
        try:
            changes: dict[str, Any] = {"login": {"logged_in": True}, "logout": {"logged_in": False},
                                       "pause": {"paused": True, "reason": args.reason},
                                       "unpause": {"paused": False, "reason": ""}}[args.action]
            now = Clock(settings.fixed_now()).now()
            r = await QueueStore(db).set_agent(args.extension, now, **changes)
        finally:
            await db.close()
        return {"extension": r.extension, "logged_in": r.logged_in, "paused": r.paused, "reason": r.reason}, False

    agent, live = asyncio.run(act())
    state = (_("paused") if agent["paused"] else _("logged in")) if agent["logged_in"] else _("logged out")
    note = "" if live else _(" (service not running: stored, it applies at the next start)")
    print(_("agent %(ext)s: %(state)s", ext=agent["extension"], state=state) + note)
    return 0


# ----- ivr queues -----

def queues_command(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_aware(args.since, "--since") if args.since else None
    until = parse_aware(args.until, "--until") if args.until else None

    async def fetch() -> tuple[dict[str, Any], bool]:
        query = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
        answer = await _api(settings, "GET", "/api/queues", query)
        if answer is not None:
            return answer, True
        return await _offline(settings, since, until), False

    snapshot, live = asyncio.run(fetch())
    if args.json:
        print(json.dumps(snapshot, ensure_ascii=False, indent=2))
        return 0
    if not live:
        print(_("service not running: statistics and agent states from the database, no live lines"))
    for q in snapshot["queues"]:
        _print_queue(q)
    if not snapshot["queues"]:
        print(_("no queues"))
    return 0


async def _offline(settings: Settings, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    db = await open_database(settings.database_url, settings)
    try:
        store = QueueStore(db)
        if since is None:
            now = Clock(settings.fixed_now()).now().astimezone()
            since = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
        entries = [e for e in await store.entries(since.astimezone(UTC)) if until is None or e.joined_at < until]
        agents = await store.agents()
    finally:
        await db.close()
    queues = []
    for name in sorted({e.queue for e in entries}):
        queues.append({"id": name, "strategy": "", "waiting": [],
                       "agents": [{"extension": a.extension, "logged_in": a.logged_in, "paused": a.paused,
                                   "reason": a.reason,
                                   "status": ("paused" if a.paused else "idle") if a.logged_in else "logged_out",
                                   "calls": 0, "talk_seconds": 0.0, "penalty": 0}
                                  for a in agents.values()],
                       "stats": compute(e for e in entries if e.queue == name).to_dict()})
    return {"since": since.isoformat(), "until": until.isoformat() if until else None, "queues": queues}


def _print_queue(q: dict[str, Any]) -> None:
    s = q["stats"]
    level = "-" if s["service_level"] is None else i18n.percent(s["service_level"] / 100)
    print(_("queue %(id)s (%(strategy)s): %(n)s waiting", id=q["id"], strategy=q["strategy"] or _("offline"),
            n=len(q["waiting"])))
    print("  " + _("offered %(offered)s  answered %(answered)s  abandoned %(abandoned)s (after %(avg)s s avg)  "
                   "timed out %(timed_out)s  call-backs %(callbacks)s  refused %(refused)s",
                   avg=f"{s['abandon_avg_seconds']:.0f}", **s))
    print("  " + _("service level %(level)s  wait avg %(avg)s s  p90 %(p90)s s", level=level,
                   avg=f"{s['avg_wait']:.0f}", p90=f"{s['p90_wait']:.0f}"))
    for w in q["waiting"]:
        flags = " ".join(f for f, on in (("VIP", w["vip"]), (_("call-back"), w["callback"])) if on)
        ringing = " " + _("ringing %(phones)s", phones=",".join(w["ringing"])) if w["ringing"] else ""
        caller = w["caller"] or _("withheld")
        print(f"  {w['position']:>3}. {caller:14} {w['waited_seconds']:>6.0f} s {flags}{ringing}")
    talk = s["agents"]
    for a in q["agents"]:
        t = talk.get(a["extension"], {"calls": 0, "talk_seconds": 0.0})
        reason = f" ({a['reason']})" if a["reason"] else ""
        print("  " + _("agent %(ext)s  %(state)s%(reason)s  calls %(calls)s  talk %(talk)s s",
                       ext=f"{a['extension']:>6}",
                       state=f"{term('agent_state_' + a['status']):10}", reason=reason, calls=t["calls"],
                       talk=f"{t['talk_seconds']:.0f}"))
