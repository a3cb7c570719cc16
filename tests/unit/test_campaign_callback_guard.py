"""A passenger calling back is recognised only when the campaign profiles can be read: a campaigns.yaml
that no longer fits the live plan must leave the call to the plan, never fail it."""
from __future__ import annotations

from types import SimpleNamespace

from ivr.campaigns.callback import CampaignCallback
from ivr.plan.errors import PlanError, Problem


class BrokenProfiles:
    store = None

    def profiles(self):
        raise PlanError([Problem("campaigns.yaml", 24, 17, "profile 'confirm' dispatcher: 'dispatch' is not a hunt "
                                                          "or queue node of the plan")])


async def test_unreadable_profiles_leave_the_call_to_the_plan():
    ctx = SimpleNamespace(caller="+79261234591", company_number="+74951110001",
                          call=SimpleNamespace(channel_id="c1"), plan=SimpleNamespace(trunks={}))
    assert await CampaignCallback(BrokenProfiles())(ctx) is False
