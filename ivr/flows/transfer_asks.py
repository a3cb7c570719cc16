"""A transfer asked from the console or the API for a call in conversation: who may ask (the user
whose extension talks in the call; an admin any call), what the target names (a hunt group or queue
of the plan, an extension or a number, checked as that extension would dial it), and the targets
the call-cards panel offers. The call's own task does the transfer (ivr/flows/talk.py); this only asks."""
from __future__ import annotations

from collections.abc import Callable

from ivr.calls.talking import Conversations
from ivr.errors import Forbidden, InvalidInput, NotFound
from ivr.flows.transfer import transfer_target
from ivr.i18n import gettext as _
from ivr.plan.model import HuntNode, Plan, QueueNode


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


class TransferAsks:
    def __init__(self, conversations: Conversations, plan: Callable[[], Plan | None]):
        self.conversations, self.plan = conversations, plan

    def ask(self, call_id: int, to: str, username: str, extension: str, any_call: bool = False) -> dict[str, str]:
        """Ask call `call_id` to pass its caller on to `to`, for `username` (whose phone is
        `extension`; `any_call`: an admin); what was asked."""
        now = self.conversations.get(call_id)
        if now is None:
            raise NotFound(f"call {call_id} is not talking to a staff phone now")
        if not any_call and now.staff != extension:
            raise Forbidden(f"{username} may pass on only a call of their own extension "
                            f"({extension or 'none set'}); call {call_id} is with {now.staff}")
        plan = self.plan()
        if plan is None:
            raise NotFound("no plan is loaded")
        target = check_target(to.strip(), plan, now.staff)
        self.conversations.ask_transfer(call_id, to.strip(), username)
        return {"from": now.staff, "to": target}

    def panel(self, extension: str) -> dict[str, list]:
        """For the call-cards panel: the calls `extension` talks in, and what they may go to."""
        plan = self.plan()
        calls = self.conversations.of_staff(extension) if extension else []
        if not calls or plan is None:
            return {"transfers": [], "targets": []}
        targets = [(ext, staff.name) for ext, staff in sorted(plan.staff.items()) if ext != extension]
        targets += [(node_id, _("queue") if isinstance(node, QueueNode) else _("hunt group"))
                    for node_id, node in sorted(plan.nodes.items()) if isinstance(node, (HuntNode, QueueNode))]
        return {"transfers": calls, "targets": targets}
