"""Nodes that only play, jump or end: play, goto, language, hangup."""
from __future__ import annotations

from ivr.flows.context import FlowContext
from ivr.plan.model import GotoNode, HangupNode, LanguageNode, PlayNode


async def play(node: PlayNode, ctx: FlowContext) -> str | None:
    # A greeting can be interrupted: the digit is kept for the menu that follows (type-ahead).
    interrupted = await ctx.call.play(node.prompts, interruptible=True)
    ctx.journal.step("played", prompts=list(node.prompts), interrupted=interrupted)
    return node.next


async def goto(node: GotoNode, ctx: FlowContext) -> str | None:
    return node.next


async def language(node: LanguageNode, ctx: FlowContext) -> str | None:
    ctx.call.language = node.language
    ctx.journal.step("language", language=node.language)
    return node.next


async def hangup(node: HangupNode, ctx: FlowContext) -> str | None:
    if node.prompts:
        await ctx.call.play(node.prompts)
    ctx.journal.outcome = ctx.journal.outcome or "ended_by_plan"
    return None
