"""The websocket consumer of a topology's dashboard (protocol: DESIGN.md; README documents it).

Path ``/ws/topologies/<slug>/``. Every frame it sends is built by ``flows.live.frames``.

Server -> client:
  snapshot  on connect: graph, counters, run, last_seq, staff
  hops      a batch of hop events, one per engine tick (from the channel layer), or one
            frame of the answer to ``resume`` (``resumed: true``, ``more``: whether
            another frame of that answer follows)
  counters  totals, per node, script progress (4 a second, from the channel layer)
  graph     the topology changed (from the channel layer)
  run       a run started or stopped (from the channel layer)
  trace     the answer to ``trace``: the message's hops with their detail
  ack       a staff control frame was carried out (``of``: its type, and what it acted on)
  error     a refused frame (``of``: its type, when it had one); the socket stays open

Client -> server: resume {run, after_seq}; trace {msg, run?}; staff only: run.start
{seed?}, run.stop, producer.pause|resume {producer}, consumer.offline|online {consumer},
publish {channel, message}, redrive {channel}.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from flows import selectors, services
from flows.live import frames, sender
from flows.models import Consumer, Hop, MessageChannel, Producer, Run, Topology

MAX_FRAME_BYTES = 64 * 1024
RESUME_LIMIT = 5000  # hops in one resume answer; a client still behind asks again
RESUME_CHUNK = 1000  # hops per frame of that answer
TRACE_LIMIT = 500  # hops in one trace answer (so a client should name the run)


class FrameError(ValueError):
    """A client frame that is malformed or not allowed; answered with an error frame."""


@database_sync_to_async
def _load_snapshot(slug: str, user: Any) -> frames.SnapshotFrame | None:
    topology = selectors.visible_topology(slug, user)
    if topology is None:
        return None
    run = Run.objects.filter(topology=topology).order_by("-started_at").first()
    return frames.snapshot_frame(
        graph=selectors.topology_graph(topology),
        counters=services.run_counters(run=run) if run else None,
        run=run,
        staff=bool(getattr(user, "is_staff", False)),
    )


@database_sync_to_async
def _missed_hops(slug: str, run_id: int, after_seq: int) -> list[frames.Hop]:
    if not Run.objects.filter(pk=run_id, topology__slug=slug).exists():
        raise FrameError(f"run {run_id} is not a run of this topology")
    return selectors.hops_after(run_id=run_id, after_seq=after_seq, limit=RESUME_LIMIT)


@database_sync_to_async
def _trace(slug: str, msg: str, run_id: int | None) -> list[frames.TracedHop]:
    hops = Hop.objects.filter(msg=msg, run__topology__slug=slug)
    if run_id is not None:
        # The same seed gives the same message ids in every run: keep to one run.
        hops = hops.filter(run_id=run_id)
    return [frames.traced_hop(h) for h in hops.order_by("run_id", "seq")[:TRACE_LIMIT]]


@database_sync_to_async
def _control(slug: str, frame: dict[str, Any]) -> frames.AckFrame:
    """Carry out a staff control frame; returns the acknowledgement frame."""
    topology = Topology.objects.get(slug=slug)
    kind = frame["type"]
    try:
        if kind == "run.start":
            seed = frame.get("seed")
            if seed is not None and not isinstance(seed, int):
                raise FrameError("seed must be an integer")
            run = services.run_start(topology=topology, seed=seed)
            return frames.ack_frame(kind, run=run.pk)
        if kind == "run.stop":
            run = services.running_run(topology)
            if run is None:
                raise FrameError("no run is running")
            services.run_stop(run=run)
            return frames.ack_frame(kind, run=run.pk)
        if kind in ("producer.pause", "producer.resume"):
            producer = _part(Producer, topology, frame.get("producer"))
            services.producer_set_paused(producer=producer, paused=kind == "producer.pause")
            return frames.ack_frame(kind, producer=producer.pk)
        if kind in ("consumer.offline", "consumer.online"):
            consumer = _part(Consumer, topology, frame.get("consumer"))
            services.consumer_set_online(consumer=consumer, online=kind == "consumer.online")
            return frames.ack_frame(kind, consumer=consumer.pk)
        if kind == "publish":
            channel = _part(MessageChannel, topology, frame.get("channel"))
            message = frame.get("message")
            if not isinstance(message, dict):
                raise FrameError("message must be a JSON object")
            msg_id = services.message_publish(
                topology=topology, channel_name=channel.name, data=message
            )
            return frames.ack_frame(kind, msg=msg_id)
        if kind == "redrive":
            queue = _part(MessageChannel, topology, frame.get("channel"))
            services.queue_redrive(topology=topology, queue=queue)
            return frames.ack_frame(kind, channel=queue.pk)
    except services.ServiceError as exc:
        raise FrameError(str(exc)) from None
    raise FrameError(f"unknown frame type {kind!r}")


def _part(model: type[Any], topology: Topology, pk: Any) -> Any:
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise FrameError(f"{model._meta.model_name} must be an id (an integer)")
    obj = model.objects.filter(topology=topology, pk=pk).first()
    if obj is None:
        raise FrameError(f"no {model._meta.model_name} {pk} in this topology")
    return obj


class TopologyConsumer(AsyncWebsocketConsumer):
    slug: str
    group: str

    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        snapshot = await _load_snapshot(self.slug, self.scope.get("user"))
        if snapshot is None:
            await self.close(code=4404)
            return
        self.group = sender.topology_group(self.slug)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_frame(snapshot)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame: dict[str, Any] | None = None
        try:
            frame = self.parse(text_data if text_data is not None else bytes_data)
            await self.dispatch_frame(frame)
        except FrameError as exc:
            await self.send_error(str(exc), of=frame["type"] if frame else None)

    def parse(self, raw: str | bytes | None) -> dict[str, Any]:
        if not raw:
            raise FrameError("empty frame")
        if len(raw) > MAX_FRAME_BYTES:
            raise FrameError(f"frame too large ({len(raw)} bytes; at most {MAX_FRAME_BYTES})")
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise FrameError(f"malformed JSON: {exc}") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise FrameError("a frame is a JSON object with a string 'type'")
        return frame

    async def dispatch_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "resume":
            await self.resume(frame)
        elif kind == "trace":
            msg = frame.get("msg")
            try:
                uuid.UUID(str(msg))
            except ValueError:
                raise FrameError("trace needs 'msg', a message id") from None
            run_id = frame.get("run")
            if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
                raise FrameError("trace's 'run' is a run id (an integer)")
            hops = await _trace(self.slug, str(msg), run_id)
            await self.send_frame(frames.trace_frame(str(msg), run_id, hops))
        elif kind in frames.CONTROL_FRAMES:
            user = self.scope.get("user")
            if not getattr(user, "is_staff", False):
                raise FrameError(f"{kind} is for staff; log in to admin first")
            await self.send_frame(await _control(self.slug, frame))
        else:
            raise FrameError(f"unknown frame type {kind!r}")

    async def resume(self, frame: dict[str, Any]) -> None:
        after = frame.get("after_seq")
        run_id = frame.get("run")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise FrameError("resume needs 'after_seq', a non-negative integer")
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            raise FrameError("resume needs 'run', the run id of the hops seen so far")
        hops = await _missed_hops(self.slug, run_id, after)
        # At least one frame (an empty one when nothing was missed); the last says more: false.
        starts = range(0, max(len(hops), 1), RESUME_CHUNK)
        for start in starts:
            chunk = hops[start : start + RESUME_CHUNK]
            more = start != starts[-1]
            await self.send_frame(frames.resumed_hops_frame(run_id, chunk, more=more))

    # Frames from the channel layer arrive encoded: forward them as they are.
    async def live_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def send_frame(self, frame: frames.Frame) -> None:
        await self.send(text_data=sender.encode(frame))

    async def send_error(self, message: str, *, of: str | None = None) -> None:
        """An error frame; ``of`` names the refused frame's type when it had one."""
        await self.send_frame(frames.error_frame(message, of=of))
