"""The websocket consumer of a topology's dashboard (protocol: docs/contracts.md, README).

Path ``/ws/topologies/<slug>/``. Every frame it sends is built by ``flows.live.frames``.

Server -> client:
  snapshot  on connect: graph, counters, run, last_seq, staff
  hops      a batch of hop events, one or more per engine tick (from the channel layer;
            ``sampled`` above the hop budget: see frames.live_hops_frames), or one
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

What a client can cost (README, "Websocket protocol"): every field is checked at the edge
(ids and seeds in the database's range, JSON depth bounded) and refused with an error
frame; resume and trace are rate-limited per socket; at most RESUMES_AT_ONCE resumes are
answered at once in a process (one per socket: a socket's frames are handled in turn);
and a socket's unread bytes are bounded. Daphne itself never pushes back (see
``flows.live.transport``), so the consumer watches the transport's buffer: live hop
frames are left out while the client is behind (it resumes the gap when it catches up),
an answer waits for the client to read, and a client that leaves more than
WS_SEND_BUFFER bytes unread for WS_DRAIN_TIMEOUT seconds is closed with CLOSE_TOO_SLOW.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from flows import selectors, services, validators
from flows.live import frames, sender
from flows.live.transport import WRITE_BUFFER, Probe
from flows.models import Consumer, Hop, MessageChannel, Producer, Run, Topology

MAX_FRAME_BYTES = 64 * 1024
RESUME_LIMIT = 5000  # hops in one resume answer; a client still behind asks again
RESUME_CHUNK = 1000  # at most this many hops per frame of that answer (and WS_FRAME_MAX bytes)
TRACE_LIMIT = 500  # hops in one trace answer (so a client should name the run)

# Requests that read the database: a token bucket per socket and kind (burst, per second).
# The dashboard asks for a resume at most once a second and a trace per click.
RATE_LIMITS: dict[str, tuple[float, float]] = {"resume": (5, 1.0), "trace": (10, 2.0)}
RESUMES_AT_ONCE = 8  # resume answers being read or sent at once in this process
RESUME_SLOT_WAIT = 2.0  # seconds a resume waits for one of them before it is refused
DRAIN_POLL = 0.02  # seconds between looks at a full transport buffer

CLOSE_TOO_SLOW = 4008  # the client left too much unread for too long


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


def _checked(error: str | None) -> None:
    if error is not None:
        raise FrameError(error)


@database_sync_to_async
def _control(slug: str, frame: dict[str, Any]) -> frames.AckFrame:
    """Carry out a staff control frame; returns the acknowledgement frame."""
    topology = Topology.objects.get(slug=slug)
    kind = frame["type"]
    try:
        if kind == "run.start":
            seed = frame.get("seed")
            if seed is not None:
                _checked(validators.db_int_error(seed, "seed", minimum=0))
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
            _checked(validators.json_depth_error(message, name="the message"))
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
    name = model._meta.model_name
    if validators.db_int_error(pk, name) is not None:
        raise FrameError(f"{name} must be an id (an integer from 1 to {validators.DB_INT_MAX})")
    obj = model.objects.filter(topology=topology, pk=pk).first()
    if obj is None:
        raise FrameError(f"no {model._meta.model_name} {pk} in this topology")
    return obj


class _Bucket:
    """A token bucket: ``burst`` requests at once, refilled at ``rate`` a second."""

    def __init__(self, burst: float, rate: float) -> None:
        self.burst, self.rate = burst, rate
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> float:
        """0 when a request may go ahead (and is counted), else seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


# One semaphore per event loop (Daphne runs one; each test its own).
_resume_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _resume_semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _resume_slots.get(loop)
    if slots is None:
        slots = _resume_slots[loop] = asyncio.Semaphore(RESUMES_AT_ONCE)
    return slots


class TopologyConsumer(AsyncWebsocketConsumer):
    slug: str
    group: str
    closing: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buckets = {kind: _Bucket(*limit) for kind, limit in RATE_LIMITS.items()}
        self.dropped = 0  # live hop frames left out while the client was behind

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
        self.closing = True
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return  # frames that were queued before the close: nobody reads the answers
        frame: dict[str, Any] | None = None
        try:
            frame = self.parse(text_data if text_data is not None else bytes_data)
            await self.dispatch_frame(frame)
        except FrameError as exc:
            await self.send_error(str(exc), of=frame["type"] if frame else None)
        except RateLimited as exc:
            await self.send_frame(frames.error_frame(str(exc), of=exc.kind, retry_ms=exc.retry_ms))

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

    def spend(self, kind: str) -> None:
        """Count a costly request against this socket's budget, or refuse it."""
        wait = self.buckets[kind].take()
        if wait:
            burst, rate = RATE_LIMITS[kind]
            raise RateLimited(
                kind,
                f"too many {kind} requests (at most {burst:g} at once and {rate:g} a second); "
                f"retry in {wait:.1f} s",
                retry_ms=int(wait * 1000) + 1,
            )

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
            if run_id is not None and validators.db_int_error(run_id, "run") is not None:
                raise FrameError("trace's 'run' is a run id (an integer)")
            self.spend("trace")
            hops = await _trace(self.slug, str(msg), run_id)
            await self.send_answer(frames.trace_frame(str(msg), run_id, hops))
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
        if validators.db_int_error(after, "after_seq", minimum=0) is not None:
            raise FrameError("resume needs 'after_seq', a non-negative integer")
        if validators.db_int_error(run_id, "run") is not None:
            raise FrameError("resume needs 'run', the run id of the hops seen so far")
        self.spend("resume")
        slots = _resume_semaphore()
        try:
            await asyncio.wait_for(slots.acquire(), timeout=RESUME_SLOT_WAIT)
        except TimeoutError:
            raise RateLimited(
                "resume",
                f"the server is answering {RESUMES_AT_ONCE} resumes already; retry in 1 s",
                retry_ms=1000,
            ) from None
        # The slot is held until the answer is sent (or the client is closed): it bounds
        # the hops held in memory for answers as well as the database reads.
        try:
            hops = await _missed_hops(self.slug, run_id, after)
            for answer in frames.resumed_hops_frames(
                run_id, hops, max_hops=RESUME_CHUNK, max_bytes=settings.EVENTVIZ_WS_FRAME_MAX
            ):
                if not await self.send_answer(answer):
                    return
        finally:
            slots.release()

    # --- sending, bounded ------------------------------------------------------------------

    def buffered(self) -> int | None:
        """Bytes this socket's transport holds unread, or None when the server cannot tell."""
        probe: Probe | None = (self.scope.get("extensions") or {}).get(WRITE_BUFFER)
        return probe() if probe is not None else None

    async def too_slow(self, waiting: int) -> None:
        self.closing = True
        await self.close(code=CLOSE_TOO_SLOW, reason=f"too slow: {waiting} bytes unread")

    async def drained(self) -> bool:
        """Wait until the client has read all but a quarter of WS_SEND_BUFFER.

        False (and the socket closed with CLOSE_TOO_SLOW) when it has not within
        WS_DRAIN_TIMEOUT seconds: nothing more is buffered for a client that reads nothing.
        """
        low = settings.EVENTVIZ_WS_SEND_BUFFER // 4
        deadline = time.monotonic() + settings.EVENTVIZ_WS_DRAIN_TIMEOUT
        while not self.closing:
            waiting = self.buffered()
            if waiting is None or waiting <= low:
                return True
            if time.monotonic() > deadline:
                await self.too_slow(waiting)
                return False
            await asyncio.sleep(DRAIN_POLL)
        return False

    async def send_answer(self, frame: frames.Frame) -> bool:
        """An answer to a request: sent once the client has read what it was sent before."""
        if not await self.drained():
            return False
        await self.send_frame(frame)
        return True

    # Frames from the channel layer arrive encoded: forward them as they are.
    async def live_frame(self, event: dict[str, Any]) -> None:
        text: str = event["text"]
        waiting = self.buffered()
        if (
            waiting is not None
            and waiting > settings.EVENTVIZ_WS_SEND_BUFFER // 4
            and text.startswith(_LIVE_HOPS)
        ):
            # Behind: leave live hops out rather than buffer them. The client sees the
            # seq gap and resumes it, paced by what it reads (send_answer).
            self.dropped += 1
            return
        await self.send_text(text)

    async def send_frame(self, frame: frames.Frame) -> None:
        await self.send_text(sender.encode(frame))

    async def send_text(self, text: str) -> None:
        """Every frame goes out here: none onto more than WS_SEND_BUFFER unread bytes.

        So a socket holds at most WS_SEND_BUFFER + WS_FRAME_MAX bytes unread.
        """
        if self.closing:
            return
        waiting = self.buffered()
        if waiting is not None and waiting > settings.EVENTVIZ_WS_SEND_BUFFER:
            await self.too_slow(waiting)
            return
        await self.send(text_data=text)

    async def send_error(self, message: str, *, of: str | None = None) -> None:
        """An error frame; ``of`` names the refused frame's type when it had one."""
        await self.send_frame(frames.error_frame(message, of=of))


# How a live hops frame's text begins (sender.encode keeps the builder's key order).
_LIVE_HOPS = '{"type":"hops"'


class RateLimited(Exception):
    """A costly request over its socket's (or the process's) budget; says when to retry."""

    def __init__(self, kind: str, message: str, *, retry_ms: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_ms = retry_ms
