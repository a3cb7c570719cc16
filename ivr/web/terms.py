"""Words for the codes the console shows (call outcomes, missed-call reasons, statuses, campaign
outcomes, roles): marked for the catalogue here, translated where they are shown (`term` in templates)."""
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
    "missed": lazy("missed"), "not_reached": lazy("not reached yet"),
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
    # roles
    "admin": lazy("administrator"), "dispatcher_role": lazy("dispatcher"), "ops_role": lazy("operations"),
    "viewer_role": lazy("viewer"),
}


def source(code: str | None) -> str:
    """A call's source: an advert's name as the admin wrote it, or the word for an outbound kind."""
    return term(f"source_{code}") if f"source_{code}" in TERMS else (code or "")


def term(code: str | None) -> str:
    """The word for a code in the current language; an unknown code is shown as it is."""
    if not code:
        return ""
    return gettext(TERMS[code]) if code in TERMS else code.replace("_", " ")


# Names of call-card fields (ivr/contacts/card.py, ivr/campaigns/flow.py), translated in cards.html.
CARD_FIELDS = (lazy("Company"), lazy("Manager"), lazy("VIP"), lazy("Notes"), lazy("Open missed calls"),
               lazy("Phone"), lazy("Trip"), lazy("Route"), lazy("Departure"), lazy("Seat"), lazy("Bus"),
               lazy("Platform"), lazy("Campaign"), lazy("Pressed"))
