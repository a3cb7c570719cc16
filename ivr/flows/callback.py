"""Call-back offer outside a queue: "press 1 and we will call you back". A caller who accepts is
put in the one missed-call list as a call-back request (outcome callback_requested), which stays
open until someone has reached them; anything else goes on to `then`."""
from __future__ import annotations

from ivr.calls.prompt import PromptOptions
from ivr.flows.context import FlowContext
from ivr.plan.model import CallbackNode

ACCEPT = "1"
CONFIRMED = ("callback-confirmed",)


async def run(node: CallbackNode, ctx: FlowContext) -> str | None:
    if not ctx.caller.startswith("+"):
        # A withheld number cannot be called back: do not promise it.
        ctx.journal.step("callback_not_offered", reason="withheld_number")
        return node.then
    result = await ctx.call.prompt(PromptOptions(prompts=node.prompts, first_digit_timeout=5.0))
    if result.digits != ACCEPT:
        ctx.journal.step("callback_declined", digits=result.digits)
        return node.then
    # Set before the confirmation plays: a caller who hangs up now has still asked.
    ctx.journal.outcome = "callback_requested"
    ctx.journal.step("callback_requested", number=ctx.caller)
    await ctx.call.play(CONFIRMED)
    return None
