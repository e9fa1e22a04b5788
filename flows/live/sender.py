"""The only code that talks to the channel layer (the websocket consumer aside).

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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from channels.layers import get_channel_layer

if TYPE_CHECKING:
    from flows.live.frames import Frame

log = logging.getLogger(__name__)


def topology_group(slug: str) -> str:
    """Channel-layer group of one topology's dashboards (group names allow [a-zA-Z0-9_.-])."""
    return f"topology.{slug}"


def encode(frame: Frame | Mapping[str, Any]) -> str:
    """A frame as the text a websocket sends: every frame passes here (the tests check it)."""
    return orjson.dumps(frame).decode()


class _Sender:
    """A daemon thread running an event loop that owns this process's channel layer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="live-sender", daemon=True
        )
        self.thread.start()
        self.layer = get_channel_layer()

    def send(self, group: str, texts: list[str]) -> None:
        future = asyncio.run_coroutine_threadsafe(self._send_in_order(group, texts), self.loop)
        future.add_done_callback(_log_failure)

    async def _send_in_order(self, group: str, texts: list[str]) -> None:
        # One after the other: concurrent group_sends may reach a client out of order.
        for text in texts:
            await self.layer.group_send(group, {"type": "live.frame", "text": text})


def _log_failure(future: Any) -> None:
    if future.exception() is not None:
        log.warning("live frame not sent: %s", future.exception())


@functools.cache
def _sender() -> _Sender:
    return _Sender()


def send(slug: str, frame: Frame) -> None:
    """Send a frame to every dashboard of a topology (fire and forget)."""
    _sender().send(topology_group(slug), [encode(frame)])


def send_all(slug: str, frames: list[Frame]) -> None:
    """Send frames to every dashboard of a topology, in this order (fire and forget)."""
    if frames:
        _sender().send(topology_group(slug), [encode(frame) for frame in frames])
