"""The console's "Transfer to…": pass the caller of a call in conversation on, from the console.

    POST /api/calls/{id}/transfer   {"to": "102" | "+79161234567" | "<hunt or queue node id>"}
    POST /calls/{id}/transfer       the same from the form on the call-cards panel (`to`)

A user may pass on only a call their own extension is talking in (admin: any call). The call's
own task does the transfer (ivr.flows.talk): this handler checks and asks, and answers 202.
"""
from __future__ import annotations

from aiohttp import web

from ivr.calls.talking import Conversations
from ivr.errors import InvalidInput, NotFound
from ivr.flows.transfer import transfer_target
from ivr.i18n import gettext as _
from ivr.plan.model import HuntNode, Plan, QueueNode
from ivr.security.roles import ADMIN
from ivr.web.access import USER, Forbidden
from ivr.web.console import page
from ivr.web.keys import SERVICE


def check_target(to: str, plan: Plan, by: str) -> str:
    """What `to` names, checked as the extension `by` would be: a node id, an extension or a number."""
    if to in plan.nodes:
        if not isinstance(plan.nodes[to], (HuntNode, QueueNode)):
            raise InvalidInput(f"to: node {to!r} is not a hunt group or a queue", {"field": "to"})
        return to
    target, refused = transfer_target(to, plan, by)
    if refused:
        raise InvalidInput(f"to: {to!r} is not a transfer target for {by} ({refused})", {"field": "to"})
    return target


def ask(request: web.Request, call_id: int, to: str) -> dict[str, str]:
    """Check the user may pass call `call_id` on to `to`, and ask the call to; what was asked."""
    service = request.app[SERVICE]
    conversations: Conversations = service.services.conversations
    now = conversations.get(call_id)
    if now is None:
        raise NotFound(f"call {call_id} is not talking to a staff phone now")
    user = request[USER]
    if user.role != ADMIN and now.staff != user.extension:
        raise Forbidden(f"{user.username} may pass on only a call of their own extension "
                        f"({user.extension or 'none set'}); call {call_id} is with {now.staff}")
    live = service.plans.current
    if live is None:
        raise NotFound("no plan is loaded")
    target = check_target(to.strip(), live.plan, now.staff)
    conversations.ask_transfer(call_id, to.strip(), user.username)
    return {"from": now.staff, "to": target}


async def api_transfer(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise InvalidInput(f"call id {raw!r} is not a number")
    try:
        data = await request.json() if request.can_read_body else {}
    except ValueError:
        raise InvalidInput("the request body is not JSON") from None
    to = data.get("to") if isinstance(data, dict) else None
    if not isinstance(to, str) or not 0 < len(to.strip()) <= 40:
        raise InvalidInput('to: expected an extension, a number or a node id, e.g. {"to": "102"}', {"field": "to"})
    asked = ask(request, int(raw), to)
    return web.json_response({"call": int(raw), **asked}, status=202)


@page
async def form_transfer(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise InvalidInput(f"call id {raw!r} is not a number")
    to = str((await request.post()).get("to", ""))
    if not 0 < len(to.strip()) <= 40:
        raise InvalidInput("to: expected an extension, a number or a node id", {"field": "to"})
    ask(request, int(raw), to)
    raise web.HTTPSeeOther(request.headers.get("Referer") or "/")


def panel(request: web.Request, extension: str) -> dict[str, object]:
    """For the call-cards panel: the calls `extension` talks in, and what they may go to."""
    service = request.app[SERVICE]
    live = service.plans.current
    calls = service.services.conversations.of_staff(extension) if extension else []
    if not calls or live is None:
        return {"transfers": [], "targets": []}
    plan = live.plan
    targets = [(ext, staff.name) for ext, staff in sorted(plan.staff.items()) if ext != extension]
    targets += [(node_id, _("queue") if isinstance(node, QueueNode) else _("hunt group"))
                for node_id, node in sorted(plan.nodes.items()) if isinstance(node, (HuntNode, QueueNode))]
    return {"transfers": calls, "targets": targets}


def setup(app: web.Application) -> None:
    app.router.add_post("/api/calls/{id}/transfer", api_transfer)
    app.router.add_post("/calls/{id}/transfer", form_transfer)
