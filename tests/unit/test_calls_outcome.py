"""One telephony vocabulary: every Q.850 cause and DIALSTATUS has one outcome, whichever feature
placed the leg (hunt, forward, queue, call-backs, campaigns, staff dialling)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.calls.outcome import AS_DIAL_STATUS, CAUSES, DIAL_STATUSES, Outcome, of_cause, of_dial_status
from ivr.campaigns.leg_end import attempt_outcome, dial_status_of

B, N, D, U, C = Outcome.BUSY, Outcome.NO_ANSWER, Outcome.DECLINED, Outcome.UNAVAILABLE, Outcome.CONGESTION
TABLE = {1: U, 2: U, 3: U, 16: N, 17: B, 18: N, 19: N, 20: U, 21: D, 22: U, 27: U, 28: U, 31: N,
         34: C, 38: C, 41: C, 42: C, 44: C, 47: C, 102: C}


@pytest.mark.parametrize("cause,outcome", sorted(TABLE.items()))
def test_every_cause_has_one_outcome(cause, outcome):
    assert of_cause(cause) is outcome


def test_the_table_is_the_whole_map():
    assert CAUSES == TABLE


@pytest.mark.parametrize("status,outcome", [("ANSWER", Outcome.ANSWERED), ("BUSY", B), ("NOANSWER", N),
                                            ("CANCEL", N), ("DONTCALL", D), ("TORTURE", D), ("INVALIDARGS", U),
                                            ("CHANUNAVAIL", U), ("CONGESTION", C)])
def test_every_final_dial_status_has_one_outcome(status, outcome):
    assert of_dial_status(status) is outcome


@pytest.mark.parametrize("status", ["", "RINGING", "PROGRESS", "PROCEEDING"])
def test_a_leg_still_going_has_no_outcome(status):
    assert of_dial_status(status) is None


def test_an_unknown_cause_falls_back_on_the_dial_status_then_no_answer():
    assert of_cause(0) is N and of_cause(None) is N and of_cause(99) is N
    assert of_cause(0, "CONGESTION") is C and of_cause(0, "chanunavail") is U
    assert of_cause(17, "CONGESTION") is B          # the cause, when known, decides


def test_a_campaign_names_unavailable_unreachable_and_logs_it_as_chanunavail():
    assert attempt_outcome(of_cause(21)) == "declined"
    assert attempt_outcome(of_cause(1)) == "unreachable"
    assert [dial_status_of(o) for o in ("busy", "unreachable", "declined", "lost")] \
        == ["BUSY", "CHANUNAVAIL", "DONTCALL", "FAILED"]
    assert set(AS_DIAL_STATUS.values()) <= set(DIAL_STATUSES)


def test_no_other_module_keeps_its_own_cause_map():
    root = Path(__file__).resolve().parents[2] / "ivr"
    own = re.compile(r"\b(17|21|34)\s*:\s*\"(busy|declined|congestion|unavailable|unreachable)\"")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "outcome.py" and own.search(p.read_text())]
    assert offenders == []
