"""What a waiting caller hears about their place: our short prompts around Asterisk's core
number sounds (digits/N, resolved in the caller's language by the prompt catalogue)."""
from __future__ import annotations

import math

POSITION = "queue-position"          # "your place in line is" + number
WAIT = "queue-wait"                  # "estimated wait in minutes" + number
CALLBACK_OFFER = "queue-callback-offer"
CALLBACK_CONFIRMED = "queue-callback-confirmed"
CALLBACK_AGENT = "queue-callback-agent"        # to the agent before the customer is called
CALLBACK_GREETING = "queue-callback-greeting"  # to the customer once they answer

# Core sounds have digits/0..20 and the tens; larger numbers are not said.
SAYABLE = 99


def number_prompts(n: int) -> list[str]:
    """digits/N sounds for 0 <= n <= 99 ("digits/40", "digits/2" for 42); [] above."""
    if n < 0 or n > SAYABLE:
        return []
    if n <= 20 or n % 10 == 0:
        return [f"digits/{n}"]
    return [f"digits/{n - n % 10}", f"digits/{n % 10}"]


def position_prompts(position: int, estimate_seconds: float | None) -> list[str]:
    """Position, and the estimated wait in whole minutes (rounded up) when there is one."""
    prompts: list[str] = []
    if said := number_prompts(position):
        prompts += [POSITION, *said]
    if estimate_seconds is not None and estimate_seconds > 0:
        if said := number_prompts(max(1, math.ceil(estimate_seconds / 60))):
            prompts += [WAIT, *said]
    return prompts
