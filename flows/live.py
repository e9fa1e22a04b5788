"""The only module that talks to the channel layer (hop batches, graph and counter frames)."""

from __future__ import annotations


def topology_group(slug: str) -> str:
    """Channel-layer group of one topology's dashboards (group names allow [a-zA-Z0-9_.-])."""
    return f"topology.{slug}"
