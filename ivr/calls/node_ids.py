"""Ids of the channels the service places itself, qualified by the node that carries them.

Asterisk qualifies a node's own channel ids with its `systemname` (`node1-1796564475.1`); an id the
service chooses before a dial (campaign calls, call-backs) gets the same prefix, so a call record
says which node carried the call and two nodes never pick the same id. One node (no `node_name`)
keeps the bare id. Ids are never parsed back: the call is found by the id stored with it.
"""
from __future__ import annotations


def on_node(node_name: str, local_id: str) -> str:
    return f"{node_name}-{local_id}" if node_name else local_id
