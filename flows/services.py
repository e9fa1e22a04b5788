"""Writes: starting and stopping runs, publishing, live controls, persisting hops."""

from __future__ import annotations

import logging
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from flows import selectors
from flows.engine import commands, driver, keys
from flows.engine.counters import accounting_errors as accounting_errors  # the law, re-exported
from flows.engine.counters import counters as engine_counters
from flows.engine.engine import TICK_MS
from flows.live import frames, sender
from flows.models import (
    ChannelKind,
    Consumer,
    Hop,
    MessageChannel,
    MessageKind,
    MessageType,
    Producer,
    Run,
    RunStatus,
    Topology,
)
from flows.recorder import otlp
from flows.redis_state import client

log = logging.getLogger(__name__)


class ServiceError(ValueError):
    """A request that cannot be carried out; the message says why."""


# --- runs ----------------------------------------------------------------------------------


def run_start(*, topology: Topology, seed: int | None = None, by: str | None = None) -> Run:
    """Start a run of ``topology``; its producers begin emitting within a tick. ``by``
    says what started it when no person did (shown on the dashboard)."""
    if not topology.channels.exists():
        raise ServiceError(
            f"{topology.slug} has no channels, so a run would do nothing: "
            "add channels, producers and consumers in admin (or load a scenario) first"
        )
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ServiceError(f"seed must be an integer from 0 to {2**63 - 1}")
    try:
        with transaction.atomic():
            run = Run.objects.create(topology=topology, seed=seed)
    except IntegrityError:
        raise ServiceError(f"{topology.slug} already has a running run; stop it first") from None
    r = client()
    # Run ids can come back after a database reset: start from a clean slate in Redis.
    stale = list(r.scan_iter(match=keys.run_pattern(run.pk), count=1000))
    if stale:
        r.delete(*stale)
    r.hset(keys.ACTIVE_RUNS, str(run.pk), str(topology.pk))
    transaction.on_commit(lambda: _kick(run.pk))
    transaction.on_commit(lambda: sender.send(topology.slug, frames.run_frame(run, by=by)))
    return run


DRIVE_RUN_TASK = "flows.drive_run"


def _kick(run_id: int) -> None:
    """Queue the run's first slice; the task (``flows.tasks.drive_run``) queues the next ones.

    Sent by name so that services never import tasks (tasks import services).
    """
    current_app.send_task(DRIVE_RUN_TASK, args=[run_id])


def run_stop(*, run: Run) -> Run:
    """Stop producing and delivering; what is in flight stays counted as in flight."""
    if run.status != RunStatus.RUNNING:
        return run
    r = client()
    r.set(keys.RunKeys(run.pk).stop, 1)
    r.hdel(keys.ACTIVE_RUNS, str(run.pk))
    run.status = RunStatus.STOPPED
    run.stopped_at = timezone.now()
    run.counters = run_counters(run=run)
    run.save(update_fields=["status", "stopped_at", "counters"])
    slug = run.topology.slug
    transaction.on_commit(lambda: sender.send(slug, frames.run_frame(run)))
    return run


COUNTERS_EVERY_MS = 250


def run_slice(*, run_id: int, seconds: float) -> bool:
    """Drive a run for about ``seconds``; True when another slice should follow."""
    run = Run.objects.select_related("topology").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        client().hdel(keys.ACTIVE_RUNS, str(run_id))
        driver.expire_run(client(), run_id)
        return False
    handle = driver.RunHandle(
        run_id=run.pk, topology_id=run.topology_id, seed=run.seed, slug=run.topology.slug
    )
    return driver.drive(
        client(),
        handle,
        load_config=selectors.topology_config,
        sink=lambda h, hops: hops_publish(run_id=h.run_id, slug=h.slug, hops=hops),
        seconds=seconds,
        on_tick=_counters_publish,
    )


def _counters_publish(handle: driver.RunHandle, config: Any, now: int) -> None:
    """A counters frame to the dashboards, at most every COUNTERS_EVERY_MS."""
    if now - handle.counters_at < COUNTERS_EVERY_MS:
        return
    handle.counters_at = now
    counters = engine_counters(client(), handle.run_id, config)
    sender.send(handle.slug, frames.counters_frame(counters))


def running_run(topology: Topology) -> Run | None:
    return Run.objects.filter(topology=topology, status=RunStatus.RUNNING).first()


def run_counters(*, run: Run) -> dict[str, Any]:
    """Live counters from Redis (the run's stored snapshot once its keys are gone)."""
    data = engine_counters(client(), run.pk, selectors.topology_config(run.topology_id))
    if not data["totals"]["copies"] and run.counters:
        return run.counters
    return data


# --- messages ------------------------------------------------------------------------------


SCHEMA_VERSION_MAX = 2**31 - 1  # MessageType.version is a PositiveIntegerField


def envelope_build(*, topology: Topology, data: dict[str, Any]) -> dict[str, Any]:
    """A full envelope (docs/contracts.md) from what a person typed: a detail or an envelope."""
    if not isinstance(data, dict):
        raise ServiceError("a message is a JSON object")
    is_envelope = "detail" in data or "detail-type" in data
    detail = data.get("detail", {}) if is_envelope else data
    if not isinstance(detail, dict):
        raise ServiceError("the message's detail must be a JSON object")
    type_name = str(data.get("detail-type", "")) if is_envelope else ""
    mtype = (
        MessageType.objects.filter(topology=topology, name=type_name).order_by("-version").first()
        if type_name
        else None
    )
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ServiceError("attributes must be a JSON object")
    if isinstance(data.get(otlp.TRACEPARENT), str):  # an envelope field: kept as an attribute
        attributes = otlp.with_traceparent({"attributes": attributes}, data[otlp.TRACEPARENT])[
            "attributes"
        ]
    kind = data.get("kind") or (mtype.kind if mtype else MessageKind.EVENT)
    if kind not in MessageKind.values:
        raise ServiceError(f"kind must be one of {', '.join(MessageKind.values)}")
    schema_version = data.get("schema_version") or (mtype.version if mtype else 1)
    if (
        not isinstance(schema_version, int)
        or isinstance(schema_version, bool)
        or not 1 <= schema_version <= SCHEMA_VERSION_MAX
    ):
        raise ServiceError(f"schema_version must be an integer from 1 to {SCHEMA_VERSION_MAX}")
    message_id = str(data.get("id") or uuid.uuid4())
    try:
        uuid.UUID(message_id)
    except ValueError:
        raise ServiceError(f"id {message_id!r} is not a UUID") from None
    return {
        "id": message_id,
        "kind": kind,
        "source": str(data.get("source") or (mtype.source if mtype else "") or "eventviz.client"),
        "detail-type": type_name or "TestMessage",
        "time": str(
            data.get("time") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        ),
        "schema_version": schema_version,
        "attributes": attributes,
        "detail": detail,
    }


def message_publish(*, topology: Topology, channel_name: str, data: dict[str, Any]) -> str:
    """Put one message into a channel of the running run (like ``aws events put-events``).

    Returns the message id. The run's next tick routes it.
    """
    channel = MessageChannel.objects.filter(topology=topology, name=channel_name).first()
    if channel is None:
        names = ", ".join(topology.channels.values_list("name", flat=True))
        raise ServiceError(f"no channel {channel_name!r} in {topology.slug} (channels: {names})")
    run = running_run(topology)
    if run is None:
        raise ServiceError(f"{topology.slug} has no running run; start one first (runstart)")
    envelope = envelope_build(topology=topology, data=data)
    commands.enqueue_command(client(), run.pk, commands.Publish(channel.pk, envelope))
    return envelope["id"]


def queue_redrive(*, topology: Topology, queue: MessageChannel) -> None:
    """Move what a dead-letter queue holds back to the queues it came from."""
    if queue.kind != ChannelKind.QUEUE:
        raise ServiceError(f"{queue.name} is a {queue.kind}; only a queue can be redriven")
    _command(topology, commands.Redrive(queue.pk))


def bus_replay(*, topology: Topology, bus: MessageChannel, start_ms: int, end_ms: int) -> None:
    """Replay the archived events of a time window back into their bus."""
    if bus.kind != ChannelKind.BUS:
        raise ServiceError(f"{bus.name} is a {bus.kind}; only a bus has an archive")
    if end_ms < start_ms:
        raise ServiceError("the replay window ends before it starts")
    _command(topology, commands.Replay(bus.pk, start_ms, end_ms))


def _command(topology: Topology, command: commands.Command) -> None:
    run = running_run(topology)
    if run is None:
        raise ServiceError(f"{topology.slug} has no running run")
    commands.enqueue_command(client(), run.pk, command)


# --- live controls (they reach a running simulation through the config version) -------------


def producer_set_paused(*, producer: Producer, paused: bool) -> Producer:
    producer.paused = paused
    producer.save(update_fields=["paused"])
    return producer


def consumer_set_online(*, consumer: Consumer, online: bool) -> Consumer:
    consumer.online = online
    consumer.save(update_fields=["online"])
    return consumer


def topology_redraw(*, topology_id: int) -> None:
    """Open dashboards redraw the diagram (an API key sent or received for the first
    time); the simulation's config is unchanged, so running runs do not reload it."""
    topology = Topology.objects.filter(pk=topology_id).first()
    if topology is not None:
        sender.send(topology.slug, frames.graph_frame(selectors.topology_graph(topology)))


def topology_touch(*, topology_id: int) -> None:
    """A part of the topology changed: running simulations reload it, dashboards redraw.

    Without Redis nothing can be running or watching, so an edit (a scenario loaded
    before `make run`, say) is saved all the same; a run reads the topology when it starts.
    """
    try:
        client().incr(keys.config_version(topology_id))
    except redis.RedisError as exc:
        log.info("topology %s changed; Redis is not reachable (%s)", topology_id, exc)
        return
    topology = Topology.objects.filter(pk=topology_id).first()
    if topology is not None:
        sender.send(topology.slug, frames.graph_frame(selectors.topology_graph(topology)))


# --- hops ---------------------------------------------------------------------------------------


def hops_publish(*, run_id: int, slug: str, hops: list[dict[str, Any]]) -> None:
    """Send a batch of hops to the dashboards, then store it.

    The hops were committed in Redis with the state change they describe (the engine's
    MULTI/EXEC), so they are final: dashboards get them without waiting for the database.
    A resume reads the Redis stream's tail as well as the database (``hops_after``), so a
    client never misses a hop that is sent but not yet stored.

    No frame is larger than WS_FRAME_MAX bytes: a large tick goes out as several frames,
    in seq order. Above WS_HOP_BUDGET hops a second, dashboards get a declared sample
    (``frames.live_hops_frames``); the database keeps every hop, so resumes and traces
    stay complete. Encoded once here for every dashboard and sent without waiting: a slow
    dashboard never slows the run.
    """
    payloads = [frames.hop_payload(h) for h in hops]
    sender.send_all(
        slug,
        frames.live_hops_frames(  # type: ignore[arg-type]
            run_id, payloads, max_bytes=settings.EVENTVIZ_WS_FRAME_MAX, budget=hop_budget(hops)
        ),
    )
    otlp.hops_trace(run_id=run_id, hops=hops)  # spans, batched off this thread; off: a no-op
    hops_persist(run_id=run_id, hops=hops)


def hop_budget(hops: list[dict[str, Any]]) -> int:
    """The hops a dashboard may be sent for this batch (WS_HOP_BUDGET is per second).

    A batch is one engine tick, or several after a stall: it lasts a tick plus the span
    of its hops' times.
    """
    if not hops:
        return 1
    span = max(h["at"] for h in hops) - min(h["at"] for h in hops)
    return max(1, settings.EVENTVIZ_WS_HOP_BUDGET * (TICK_MS + span) // 1000)


def hops_persist(*, run_id: int, hops: list[dict[str, Any]]) -> None:
    """Store a batch of hops; idempotent (unique by run and seq).

    This is the hottest write of a run (thousands of rows a second), so it is one
    ``executemany`` of a prepared INSERT rather than ``bulk_create``; ON CONFLICT makes a
    replayed batch (after a worker died between insert and stream trim) a no-op.
    """
    # What UUIDField.get_db_prep_value does, without a UUID object per row.
    native_uuid = connection.features.has_native_uuid_field
    rows = [
        (
            run_id,
            h["seq"],
            h["msg"] if native_uuid else h["msg"].replace("-", ""),
            h["type"][:200],
            h["kind"],
            h["stage"],
            h["from"],
            h["to"],
            h["edge"],
            h["attempt"],
            h["at"],
            orjson.dumps(h.get("detail") or {}).decode(),
        )
        for h in hops
    ]
    last_seq = max(h["seq"] for h in hops)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_INSERT_HOP, rows)
        Run.objects.filter(pk=run_id, last_seq__lt=last_seq).update(last_seq=last_seq)


_INSERT_HOP = (
    f"INSERT INTO {Hop._meta.db_table} "
    "(run_id, seq, msg, type, kind, stage, from_node, to_node, edge, attempt, at, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (run_id, seq) DO NOTHING"
)
