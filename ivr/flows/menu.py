"""Menu: prompt, take one digit, retry on no input or a wrong digit, then the default."""
from __future__ import annotations

from ivr.calls.prompt import PromptOptions
from ivr.flows.context import FlowContext
from ivr.plan.model import MenuNode


async def run(node: MenuNode, ctx: FlowContext) -> str | None:
    valid = frozenset(node.choices)
    prompts = node.prompts
    for attempt in range(node.retries + 1):
        result = await ctx.call.prompt(PromptOptions(prompts=prompts, first_digit_timeout=node.timeout,
                                                     valid=valid))
        ctx.journal.step("digit" if result.digits else "no_input", attempt=attempt + 1,
                         digits=result.digits, status=result.status)
        if result.status == "ok":
            return node.choices[result.digits]
        # The retry prompt is said before the menu again: "wrong choice" / "please choose".
        retry = node.invalid if result.status == "invalid" else node.no_input
        prompts = tuple(retry) + tuple(node.prompts)
    ctx.journal.step("retries_exhausted", default=node.default)
    if node.default is None:
        ctx.journal.outcome = "menu_no_choice"
    return node.default
