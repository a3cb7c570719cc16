"""A campaign call's channel id, chosen by the dialer before the dial and stored on its attempt:
`node1-camp-3-7-1` in a cluster (`ivr/calls/node_ids.py`), `camp-3-7-1` on one node. An attempt
is found by the id stored on it and an answered call by its Stasis arguments, so attempts stored
with bare ids by an earlier version (a call left in Stasis across an upgrade) are carried on too.
"""
from __future__ import annotations

import socket

from ivr.calls.node_ids import on_node
from ivr.campaigns.model import Attempt


def attempt_channel_id(node_name: str, campaign_id: int, row_id: int, attempt_number: int) -> str:
    """The first leg of the row's attempt number `attempt_number`."""
    return on_node(node_name, f"camp-{campaign_id}-{row_id}-{attempt_number}")


def failover_channel_id(node_name: str, attempt: Attempt) -> str:
    """The attempt's next leg after a trunk failed it: unique (the attempt id, one leg per trunk)."""
    return on_node(node_name, f"camp-{attempt.campaign_id}-{attempt.row_id}-a{attempt.id}-{len(attempt.tried) + 1}")


def attempt_owner(node_name: str, web_port: int) -> str:
    """Whose attempts a dialer stores (its reconcile ends only those): in a cluster the node whose
    channel it is, whoever serves the node; on one node this service, stable across its restarts
    and different for two services sharing one PBX."""
    return node_name or f"{socket.gethostname()}:{web_port}"
