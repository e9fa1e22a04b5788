"""The only module that talks to the channel layer.

Frames are encoded once (orjson) where they are made and travel as text through the
channel layer; the websocket consumer forwards them untouched. Sends go through one
long-lived event loop per process (not ``async_to_sync`` per call, which opens a new
Redis connection each time).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Iterable
from typing import Any

import orjson
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

HOP_FIELDS = ("seq", "run", "msg", "type", "kind", "stage", "from", "to", "edge", "attempt", "at")


def topology_group(slug: str) -> str:
    """Channel-layer group of one topology's dashboards (group names allow [a-zA-Z0-9_.-])."""
    return f"topology.{slug}"


def hop_payload(hop: dict[str, Any]) -> dict[str, Any]:
    """The hop event of DESIGN.md, exactly: built here and nowhere else."""
    return {name: hop[name] for name in HOP_FIELDS}


def hop_from_row(row: Any) -> dict[str, Any]:
    """The same payload from a persisted ``Hop`` row."""
    return {
        "seq": row.seq,
        "run": row.run_id,
        "msg": str(row.msg),
        "type": row.type,
        "kind": row.kind,
        "stage": row.stage,
        "from": row.from_node,
        "to": row.to_node,
        "edge": row.edge,
        "attempt": row.attempt,
        "at": row.at,
    }


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def hops_frame(run_id: int, hops: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "hops", "run": run_id, "hops": list(hops)}


class _Sender:
    """A daemon thread running an event loop that owns this process's channel layer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="live-sender", daemon=True
        )
        self.thread.start()
        self.layer = get_channel_layer()

    def send(self, group: str, text: str) -> None:
        future = asyncio.run_coroutine_threadsafe(
            self.layer.group_send(group, {"type": "live.frame", "text": text}), self.loop
        )
        future.add_done_callback(_log_failure)


def _log_failure(future: Any) -> None:
    if future.exception() is not None:
        log.warning("live frame not sent: %s", future.exception())


@functools.cache
def _sender() -> _Sender:
    return _Sender()


def send(slug: str, frame: dict[str, Any]) -> None:
    """Send a frame to every dashboard of a topology (fire and forget)."""
    _sender().send(topology_group(slug), encode(frame))
