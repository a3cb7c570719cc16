"""Call pickup of a hunt's ringing leg: Asterisk moves the picking phone into the leg's place (a new
channel whose StasisStart names the leg it replaces); the hunt bridges it and records who it was."""
from __future__ import annotations

from ivr.ari.events import StasisStart
from ivr.flows import hunt
from ivr.calls.legs import extension_of
from test_hunt_flow import Phone, channel, group, make_ctx, steps


def test_extension_of_a_phone_channel():
    assert extension_of("PJSIP/101-0000002a") == "101"
    assert extension_of("PJSIP/trunk-default-00000001") == ""
    assert extension_of("Local/101@from-staff-0001;1") == ""


async def test_a_picked_up_leg_is_bridged_and_the_picker_answered():
    ctx, ari = make_ctx({"102": Phone("ignore"), "103": Phone("answer", hangup_after=0.1)})
    original = ari.create_channel

    async def create(endpoint: str, channel_id: str, app_args: str) -> None:
        await original(endpoint, channel_id, app_args)
        picker = channel("picker-1", "Up")
        picker = picker.__class__(**{**picker.__dict__, "name": "PJSIP/103-0000000b"})
        ari.targets["picker-1"] = "103"
        ari.later(0.1, StasisStart("StasisStart", picker, ("leg",), replaces=channel_id))
    ari.create_channel = create
    await hunt.run(group("102", ring=2.0), ctx)
    assert ari.bridged == [("caller", "picker-1")]
    assert ctx.journal.answered_by == "103"
    assert ("picked_up", "102", None) in steps(ctx, "picked_up")
    assert [s.data.get("picked_up_by") for s in ctx.journal.steps if s.kind == "answered"] == ["103"]
