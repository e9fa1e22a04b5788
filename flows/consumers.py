"""Websocket consumer of a topology's dashboard (protocol: DESIGN.md)."""

from __future__ import annotations

from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from flows import live, selectors
from flows.models import Run, Topology

MAX_FRAME_BYTES = 64 * 1024


@database_sync_to_async
def _load_snapshot(slug: str, user: Any) -> dict[str, Any] | None:
    topology = Topology.objects.filter(slug=slug).first()
    if topology is None or (not topology.is_public and not getattr(user, "is_staff", False)):
        return None
    run = Run.objects.filter(topology=topology).order_by("-started_at").first()
    return {
        "type": "snapshot",
        "graph": selectors.topology_graph(topology),
        "counters": run.counters if run else {},
        "run": {"id": run.pk, "status": run.status} if run else None,
        "last_seq": run.last_seq if run else 0,
    }


class TopologyConsumer(AsyncWebsocketConsumer):
    slug: str
    group: str

    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        snapshot = await _load_snapshot(self.slug, self.scope.get("user"))
        if snapshot is None:
            await self.close(code=4404)
            return
        self.group = live.topology_group(self.slug)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_frame(snapshot)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data
        if raw is None or len(raw) > MAX_FRAME_BYTES:
            await self.send_error("frame too large or empty")
            return
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            await self.send_error(f"malformed JSON: {exc}")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("a frame is a JSON object with a string 'type'")
            return
        await self.send_error(f"unknown frame type {frame['type']!r}")

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=orjson.dumps(frame).decode())

    async def send_error(self, message: str) -> None:
        await self.send_frame({"type": "error", "error": message})
