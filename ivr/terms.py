"""Words for the codes the console, the mails and the CLI show (call outcomes, missed-call reasons,
statuses, campaign outcomes, roles, the steps of a call): marked for the catalogue here, translated where
they are shown (`term` and `step_name` in templates)."""
from __future__ import annotations

from ivr.i18n import gettext, lazy

TERMS = {
    # call outcomes and missed-call reasons
    "answered": lazy("answered"), "hung_up_in_greeting": lazy("hung up in the greeting"),
    "abandoned_in_menu": lazy("hung up in the menu"), "abandoned_while_ringing": lazy("hung up while ringing"),
    "abandoned_in_queue": lazy("hung up in the queue"), "abandoned": lazy("hung up"),
    "closed_hours": lazy("after hours"), "holiday": lazy("holiday"), "voicemail": lazy("voicemail"),
    "no_answer": lazy("no answer"), "menu_no_choice": lazy("no choice in the menu"),
    "rejected_full": lazy("queue full"), "error": lazy("error"), "callback_requested": lazy("asked for a call-back"),
    "queue_callback": lazy("called back from the queue"), "ended_by_plan": lazy("ended by the plan"),
    "unknown_number": lazy("unknown number"), "node_lost": lazy("cut off: a server failed"), "in_progress": lazy("in progress"),
    "outbound": lazy("outbound"), "inbound": lazy("inbound"),
    # missed-call statuses and why an item was closed
    "active": lazy("open and taken"), "open": lazy("open"), "taken": lazy("taken"), "closed": lazy("closed"),
    "all": lazy("all"), "called_back": lazy("called back"), "done": lazy("done"),
    "customer_called": lazy("the customer called again"), "reached": lazy("reached"),
    "missed": lazy("missed"), "not_reached": lazy("not reached yet"), "total": lazy("total"),
    # campaigns: statuses of a campaign and of a row, outcomes, answers
    "draft": lazy("draft"), "running": lazy("running"), "paused": lazy("paused"), "cancelled": lazy("cancelled"),
    "ready": lazy("waiting"), "calling": lazy("calling"),
    "confirm": lazy("confirmed"), "confirmed": lazy("confirmed"), "cancel": lazy("cancelled the seat"),
    "understood": lazy("understood"), "dispatcher": lazy("asked for a dispatcher"), "marked": lazy("marked done"),
    "machine": lazy("answering machine"), "no_input": lazy("pressed nothing"), "busy": lazy("busy"),
    "congestion": lazy("network busy"), "unreachable": lazy("unreachable"), "interrupted": lazy("interrupted"),
    "lost": lazy("lost"), "expired": lazy("expired"), "no_time_left": lazy("no time left"),
    "do_not_call": lazy("do not call"),
    # staff phones now
    "phone_free": lazy("free"), "phone_talking": lazy("on a call"), "phone_ringing": lazy("ringing"),
    "phone_paused": lazy("paused"), "phone_offline": lazy("offline"),
    # what a campaign's buttons do
    "verb_start": lazy("Start"), "verb_pause": lazy("Pause"), "verb_resume": lazy("Resume"), "verb_cancel": lazy("Cancel"),
    # queue agents: buttons, and their state
    "agent_login": lazy("Log in"), "agent_logout": lazy("Log out"), "agent_pause": lazy("Pause"),
    "agent_unpause": lazy("Resume"), "agent_state_idle": lazy("free"), "agent_state_ringing": lazy("ringing"),
    "agent_state_talking": lazy("on a call"), "agent_state_paused": lazy("paused"),
    "agent_state_wrapup": lazy("after-call work"), "agent_state_skipped": lazy("let a call ring out: rests"),
    "agent_state_logged_out": lazy("logged out"),
    # where an outbound call came from (a call's source; inbound calls carry the number's ad source)
    "source_campaign": lazy("campaign call"), "source_staff": lazy("staff phone"),
    # who applied a plan version, when it was the service itself
    "first start": lazy("first start"),
    # trunks: how a trunk is known, and its registration as Asterisk says it
    "trunk_register": lazy("registers"), "trunk_client": lazy("client"), "trunk_peer": lazy("by address"),
    "trunk_Registered": lazy("registered"), "trunk_Unregistered": lazy("not registered"),
    "trunk_Rejected": lazy("rejected"), "trunk_": lazy("(by address)"),
    # what became of an action in the audit log
    "audit_ok": lazy("done"), "audit_failed": lazy("failed"), "audit_throttled": lazy("throttled"),
    # roles
    "admin": lazy("administrator"), "dispatcher_role": lazy("dispatcher"), "ops_role": lazy("operations"),
    "viewer_role": lazy("viewer"),
}


# The steps of a call's journal (ivr/calls/journal.py, the call-back's and staff calls' steps).
STEPS = {
    "enter": lazy("entered"), "played": lazy("prompt played"), "announce": lazy("announcement"),
    "digit": lazy("key pressed"), "language": lazy("language chosen"), "schedule": lazy("schedule checked"),
    "ring": lazy("ringing"), "ring_end": lazy("ringing ended"), "answered": lazy("answered"),
    "picked_up": lazy("picked up"), "picked_up_after_restart": lazy("picked up after a restart"),
    "manager_first": lazy("the manager's phone first"), "member_hung_up": lazy("staff member hung up"),
    "nobody_answered": lazy("nobody answered"), "caller_hung_up": lazy("caller hung up"),
    "skipped": lazy("skipped"), "retries_exhausted": lazy("no more tries"), "fail_over": lazy("next trunk"),
    "queued": lazy("queued"), "queue_refused": lazy("queue refused"), "left_queue": lazy("left the queue"),
    "callback_offered": lazy("call-back offered"), "callback_not_offered": lazy("call-back not offered"),
    "callback_declined": lazy("call-back declined"), "callback_requested": lazy("call-back requested"),
    "voicemail_started": lazy("voicemail started"), "voicemail_left": lazy("voicemail left"),
    "transfer": lazy("transferred"), "confirm": lazy("confirmation"), "campaign_answer": lazy("campaign answer"),
    "campaign_callback": lazy("call-back to a campaign call"), "dial": lazy("dialled"),
    "staff_ringing": lazy("staff phone ringing"), "staff_ring_timeout": lazy("staff phone did not answer"),
    "staff_ring_end": lazy("staff phone stopped ringing"), "staff_answered": lazy("staff answered"),
    "customer_ringing": lazy("customer's phone ringing"), "trunk_failed": lazy("trunk failed"),
    "customer_not_reached": lazy("customer not reached"), "customer_answered": lazy("customer answered"),
    "hung_up": lazy("hung up"), "error": lazy("error"), "callback": lazy("call-back started"),
    "callback_agent_answered": lazy("call-back: agent answered"),
    "callback_agent_no_answer": lazy("call-back: agent did not answer"),
    "callback_dial": lazy("call-back: dialling the customer"), "callback_result": lazy("call-back: result"),
    "callback_connected": lazy("call-back: connected"), "callback_ended": lazy("call-back ended"),
    "callback_trunk_failed": lazy("call-back: trunk failed"),
    "customer_hung_up": lazy("customer hung up"), "on_duty": lazy("on duty"),
    "transfer_code": lazy("transfer code keyed"), "transfer_failed": lazy("transfer failed"),
    "consult_end": lazy("consultation ended"), "recording": lazy("recorded"),
    "recording_skipped": lazy("not recorded"),
    "node_lost": lazy("cut off: a server failed"), "transfer_asked": lazy("transfer asked from the console"),
}


# The details a step carries (its data's keys), in the order a person reads them. A unit test checks that
# every key a step is written with is named here.
DETAILS = {
    "node_kind": lazy("kind"), "prompts": lazy("prompts"), "interrupted": lazy("interrupted"),
    "digits": lazy("keys"), "language": lazy("language"), "schedule": lazy("schedule"), "state": lazy("now"),
    "member": lazy("staff"), "target": lazy("phone"), "trunk": lazy("trunk"), "attempt": lazy("attempt"),
    "seconds": lazy("seconds"), "after_seconds": lazy("after, s"), "waited_seconds": lazy("waited, s"),
    "estimate_seconds": lazy("expected wait, s"), "position": lazy("position"), "cause": lazy("cause"),
    "status": lazy("result"), "result": lazy("result"), "reason": lazy("why"), "why": lazy("why"),
    "error": lazy("error"), "detail": lazy("detail"), "default": lazy("then"), "manager": lazy("manager"),
    "roster": lazy("roster"), "person": lazy("on duty"), "by": lazy("by"), "to": lazy("to"),
    "mode": lazy("how"), "refused": lazy("refused"), "user": lazy("console user"), "transferred": lazy("transferred"),
    "picked_up_by": lazy("picked up by"), "number": lazy("number"), "phone": lazy("phone"),
    "staff": lazy("staff"), "agent": lazy("agent"), "agents": lazy("agents"), "item": lazy("missed call"),
    "callback_id": lazy("call-back"), "campaign": lazy("campaign"), "row": lazy("row"), "trip": lazy("trip"),
    "answer": lazy("answer"), "confirmed": lazy("confirmed"), "vip": lazy("VIP"), "file": lazy("file"),
    "recording": lazy("recording"), "box": lazy("voice mailbox"), "stereo": lazy("stereo"),
    "resumed": lazy("resumed"), "node": lazy("server"), "caller_hung_up": lazy("caller hung up"), "offset": lazy("from, s"),
}

# Codes that appear as a step's values (besides the TERMS): dial results, transfer modes, reasons.
DETAIL_VALUES = {
    "ANSWER": lazy("answered"), "BUSY": lazy("busy"), "NOANSWER": lazy("no answer"), "CANCEL": lazy("cancelled"),
    "CONGESTION": lazy("network busy"), "CHANUNAVAIL": lazy("unreachable"), "attended": lazy("attended"),
    "blind": lazy("blind"), "node": lazy("to a menu step"), "consulted_gone": lazy("the consulted phone hung up"),
    "target_hung_up": lazy("the called phone hung up"), "nobody on duty": lazy("nobody on duty"),
    "roster unavailable": lazy("roster unavailable"), "unavailable": lazy("unavailable"),
    "withheld_number": lazy("number withheld"), "agent": lazy("agent"), "customer": lazy("customer"),
    "staff": lazy("staff"), "disk_low": lazy("disk almost full"), "failed": lazy("failed"),
    "dnd": lazy("do not disturb"), "offline": lazy("offline"), "in_use": lazy("on a call"),
}


# The kinds of plan steps (ivr/plan/nodes), the value of an "entered" step's node_kind.
NODE_KINDS = {
    "play": lazy("announcement"), "goto": lazy("go to"), "language": lazy("language choice"),
    "hangup": lazy("hang up"), "menu": lazy("menu"), "schedule": lazy("schedule"), "hunt": lazy("ring staff"),
    "forward": lazy("forward"), "queue": lazy("queue"), "voicemail": lazy("voicemail"), "callback": lazy("call-back"),
}


def step_details(data: dict) -> list[tuple[str, str]]:
    """A step's data as (label, value) pairs in the current language: known codes in words, yes/no for
    flags, lists joined; names, numbers and files as they are. An unknown key keeps its code."""
    shown = []
    for key, value in data.items():
        if value is None or value == "" or value == []:
            continue
        label = gettext(DETAILS[key]) if key in DETAILS else key.replace("_", " ")
        shown.append((label, gettext(NODE_KINDS[value]) if key == "node_kind" and value in NODE_KINDS
                      else _value(value)))
    return shown


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{label}: {shown}" for label, shown in step_details(value))
    if isinstance(value, bool):
        return gettext(lazy("yes")) if value else gettext(lazy("no"))
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, str):
        if value in DETAIL_VALUES:
            return gettext(DETAIL_VALUES[value])
        return term(value) if value in TERMS else value
    return str(value)


def step_name(kind: str) -> str:
    """The words for a step of a call; an unknown kind is shown as it is."""
    return gettext(STEPS[kind]) if kind in STEPS else kind.replace("_", " ")


def _kind_of(group: str, code: str | None) -> str:
    """The word for `code` among `group`'s terms; a code not listed is shown as it is."""
    return term(f"{group}_{code or ''}") if f"{group}_{code or ''}" in TERMS else (code or "")


def source(code: str | None) -> str:
    """A call's source: an advert's name as the admin wrote it, or the word for an outbound kind."""
    return _kind_of("source", code)


def role(code: str) -> str:
    """A user's role in words ("admin" is a term of its own; the others end in _role)."""
    return term(code if code == "admin" else f"{code}_role")


def audit_outcome(code: str) -> str:
    return _kind_of("audit", code)


def trunk(code: str | None) -> str:
    """A trunk's kind (register, client, peer) or registration state (Registered, ...; "" for a peer)."""
    return _kind_of("trunk", code)


def term(code: str | None) -> str:
    """The word for a code in the current language; an unknown code is shown as it is."""
    if not code:
        return ""
    return gettext(TERMS[code]) if code in TERMS else code.replace("_", " ")


# Names of call-card fields (ivr/contacts/card.py, ivr/campaigns/flow.py), translated in cards.html.
CARD_FIELDS = (lazy("Company"), lazy("Manager"), lazy("VIP"), lazy("Notes"), lazy("Open missed calls"),
               lazy("Phone"), lazy("Trip"), lazy("Route"), lazy("Departure"), lazy("Seat"), lazy("Bus"),
               lazy("Platform"), lazy("Campaign"), lazy("Pressed"))
