"""Messages in and out of a topology's running run for the AWS API (the data plane).

Async, and off the database on the hot path: the running run, its compiled topology and
the run's seed are read once and kept until a decision's guard says the run stopped or
the topology changed (``flows.engine.external.run_guards``), or for at most a second.
The first call when no run is running starts one (the dashboard says by whom).

Every decision is the engine's (``flows.engine.external.External``); this module finds
the run, registers the caller's API producer/consumer node on the diagram once, and
applies decisions through the guarded script, deciding again when a guard failed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from flows import ids, selectors, services
from flows.engine import keys
from flows.engine.config import ChannelCfg, TopologyConfig
from flows.engine.external import Decision, External, Receipt, Scripts, run_guards
from flows.models import Run, RunStatus, Topology
from flows.redis_state import aclient

RECHECK_S = 1.0  # a cached run and topology are checked again after this long
POLL_S = 0.02  # long polling: how often an empty queue is looked at again
DEDUP_TTL_S = 300  # SQS FIFO deduplication interval


class NoRun(RuntimeError):
    """The topology has nothing to run (no channels)."""


@dataclass
class Caller:
    """Who calls: their API key (database id and access key id) and user agent."""

    topology: Topology
    key_pk: int | None
    key_id: str
    user_agent: str
    operation: str

    @property
    def producer(self) -> str:
        return ids.api_producer_node(self.key_pk)

    @property
    def consumer(self) -> str:
        return ids.api_consumer_node(self.key_pk)

    def origin(self) -> dict[str, Any]:
        """What the published hop says about where the message came from."""
        return {
            "via": "aws-api",
            "operation": self.operation,
            "key": self.key_id,
            "user_agent": self.user_agent[:300],
        }


@dataclass
class Live:
    """A running run as the API sees it."""

    topology_id: int
    run_id: int
    seed: int
    version: bytes | None
    config: TopologyConfig
    external: External
    clock_offset_ms: int
    checked: float
    guards: list[list[Any]] = field(default_factory=list)

    def now(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms


class _State:
    """Per event loop: the Redis client, its scripts, the cached runs, nodes registered."""

    def __init__(self) -> None:
        self.client = aclient()
        self.scripts = Scripts(self.client)
        self.lives: dict[int, Live] = {}
        self.registered: set[str] = set()
        self.tasks: set[asyncio.Task[Any]] = set()


_states: dict[int, _State] = {}


def _state() -> _State:
    loop = asyncio.get_running_loop()
    state = _states.get(id(loop))
    if state is None or state.client is not aclient():
        state = _states[id(loop)] = _State()
    return state


# --- the running run ----------------------------------------------------------------------


async def live_run(caller: Caller, *, fresh: bool = False) -> Live:
    """The topology's running run, started if there is none."""
    state = _state()
    topology = caller.topology
    cached = state.lives.get(topology.pk)
    if cached is not None and not fresh and time.monotonic() - cached.checked < RECHECK_S:
        return cached
    r = state.client
    async with r.pipeline(transaction=False) as pipe:
        pipe.get(keys.config_version(topology.pk))
        pipe.hgetall(keys.ACTIVE_RUNS)
        pipe.time()
        version, active, (seconds, micros) = await pipe.execute()
    run_id = next((int(k) for k, v in active.items() if int(v) == topology.pk), None)
    if run_id is None:
        run_id = await sync_to_async(_run_ensure)(topology.pk, caller.key_id)
    if cached is not None and cached.run_id == run_id and cached.version == version:
        cached.checked = time.monotonic()
        return cached
    config, seed = await sync_to_async(_load)(topology.pk, run_id)
    offset = int(seconds) * 1000 + int(micros) // 1000 - int(time.time() * 1000)
    live = Live(
        topology_id=topology.pk,
        run_id=run_id,
        seed=seed,
        version=version,
        config=config,
        external=External(run_id=run_id, seed=seed, config=config),
        clock_offset_ms=offset,
        checked=time.monotonic(),
        guards=run_guards(run_id, topology.pk, version),
    )
    state.lives[topology.pk] = live
    return live


def _run_ensure(topology_id: int, key_id: str) -> int:
    topology = Topology.objects.get(pk=topology_id)
    run = services.running_run(topology)
    if run is None:
        try:
            run = services.run_start(
                topology=topology, by=f"the AWS API (a call with key {key_id})"
            )
        except services.ServiceError as exc:
            run = services.running_run(topology)  # started by a concurrent call
            if run is None:
                raise NoRun(str(exc)) from None
    return run.pk


def _load(topology_id: int, run_id: int) -> tuple[TopologyConfig, int]:
    run = Run.objects.filter(pk=run_id).first()
    seed = run.seed if run is not None and run.status == RunStatus.RUNNING else 0
    return selectors.topology_config(topology_id), seed


async def _apply(
    caller: Caller, live: Live, decisions: list[Decision], *, bump: bool
) -> list[Decision]:
    return await _state().scripts.apply(live.run_id, decisions, bump=bump, guards=live.guards)


async def _register(caller: Caller, node: str, label: str, edge: str, source: str, target: str):
    """Put an API node and its edge on the diagram once; open dashboards redraw."""
    state = _state()
    tag = f"{caller.topology.pk}|{edge}"
    if tag in state.registered:
        return
    state.registered.add(tag)
    import orjson

    async with state.client.pipeline(transaction=False) as pipe:
        pipe.hsetnx(keys.api_nodes(caller.topology.pk), node, label)
        pipe.hsetnx(
            keys.api_edges(caller.topology.pk),
            edge,
            orjson.dumps({"source": source, "target": target}),
        )
        added = await pipe.execute()
    if any(added):
        task = asyncio.create_task(
            sync_to_async(services.topology_redraw)(topology_id=caller.topology.pk)
        )
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)


def _label(caller: Caller, role: str) -> str:
    who = f"key {caller.key_id}" if caller.key_pk else "unsigned client"
    return f"{who} ({role} through the API)"


def channel(live: Live, name: str, kind: str) -> ChannelCfg | None:
    found = live.config.channel_named(name)
    return found if found is not None and found.kind == kind else None


async def find_channel(caller: Caller, name: str, kind: str) -> tuple[Live, ChannelCfg | None]:
    """A channel of the running run's topology by name (reloaded once if not found: it
    may have been created a moment ago)."""
    live = await live_run(caller)
    found = channel(live, name, kind)
    if found is None:
        live = await live_run(caller, fresh=True)
        found = channel(live, name, kind)
    return live, found


# --- sends --------------------------------------------------------------------------------


@dataclass
class Outgoing:
    """One message to send: into which channel, the envelope, and FIFO deduplication."""

    channel: str
    kind: str
    envelope: dict[str, Any]
    dedup: str | None = None


async def send(caller: Caller, messages: list[Outgoing]) -> list[str | None]:
    """Send messages into the run; returns each one's message id (a FIFO duplicate gets
    the first one's id and is not sent again), None for a channel that does not exist."""
    live = await live_run(caller)
    ids_out: list[str | None] = [m.envelope["id"] for m in messages]
    pending = list(range(len(messages)))
    for _attempt in range(3):
        targets: dict[int, ChannelCfg] = {}
        for i in pending:
            found = channel(live, messages[i].channel, messages[i].kind)
            if found is None:
                live = await live_run(caller, fresh=True)
                found = channel(live, messages[i].channel, messages[i].kind)
            if found is None:
                ids_out[i] = None
            else:
                targets[i] = found
        await _deduplicate(live, messages, targets, ids_out)
        for target in targets.values():
            await _register(
                caller,
                caller.producer,
                _label(caller, "sends"),
                ids.api_send_edge(caller.producer, target.id),
                caller.producer,
                target.node,
            )
        now = live.now()
        decisions = []
        for i, target in targets.items():
            decision = live.external.send(
                now,
                messages[i].envelope,
                target.id,
                frm=caller.producer,
                origin=caller.origin(),
            )
            decision.result = i
            decisions.append(decision)
        applied = {d.result for d in await _apply(caller, live, decisions, bump=False)}
        pending = [i for i in targets if i not in applied]
        if not pending:
            return ids_out
        live = await live_run(caller, fresh=True)
    raise RuntimeError("the run or the topology kept changing while sending")


async def _deduplicate(
    live: Live, messages: list[Outgoing], targets: dict[int, ChannelCfg], ids_out: list[Any]
) -> None:
    """SQS FIFO: a deduplication id seen in the last five minutes is not sent again."""
    fifo = [i for i, t in targets.items() if t.fifo and messages[i].dedup]
    if not fifo:
        return
    k = keys.RunKeys(live.run_id)
    async with _state().client.pipeline(transaction=False) as pipe:
        for i in fifo:
            key = k.dedup(targets[i].id, messages[i].dedup or "")
            pipe.set(key, messages[i].envelope["id"], nx=True, ex=DEDUP_TTL_S)
            pipe.get(key)
        results = await pipe.execute()
    for n, i in enumerate(fifo):
        was_set, first_id = results[2 * n], results[2 * n + 1]
        if not was_set:
            ids_out[i] = first_id.decode() if first_id else ids_out[i]
            del targets[i]


# --- receives -----------------------------------------------------------------------------


async def receive(
    caller: Caller, queue_name: str, *, limit: int, visibility_ms: int | None, wait_s: float
) -> tuple[ChannelCfg | None, list[tuple[dict[str, Any], str]]]:
    """Receive up to ``limit`` messages as an external consumer competing with the
    simulated ones; waits up to ``wait_s`` for the first (long polling, no thread held).
    Returns the queue (None if it does not exist) and (delivery, receipt handle) pairs."""
    state = _state()
    deadline = time.monotonic() + wait_s
    live, queue = await find_channel(caller, queue_name, "queue")
    if queue is None:
        return None, []
    await _register(
        caller,
        caller.consumer,
        _label(caller, "receives"),
        ids.api_receive_edge(caller.consumer, queue.id),
        queue.node,
        caller.consumer,
    )
    while True:
        timeout = queue.visibility_timeout_ms if visibility_ms is None else visibility_ms
        peeked = await state.scripts.peek(
            live.run_id, queue, 200 if queue.fifo else max(4 * limit, 20)
        )
        decisions = live.external.receive_external(
            queue, peeked, consumer=caller.consumer, visibility_ms=timeout, limit=limit
        )
        applied = await _apply(caller, live, decisions, bump=True)
        got = [d.result for d in applied if d.result is not None]
        if got:
            return queue, got
        if decisions and len(applied) < len(decisions):
            live = await live_run(caller, fresh=True)  # raced, or the run/topology changed
            queue = channel(live, queue_name, "queue")
            if queue is None:
                return None, []
            continue
        if applied:
            continue  # only dead letters this time: look again at once
        if time.monotonic() >= deadline:
            return queue, []
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        live = await live_run(caller)
        queue = channel(live, queue_name, "queue") or queue


async def delete(caller: Caller, queue: ChannelCfg, handles: list[Receipt]) -> None:
    """DeleteMessage(Batch): each message received with these handles is processed. As
    in SQS, deleting what is already gone (or was received again since) succeeds."""
    live = await live_run(caller)
    decisions = []
    for handle in handles:
        if handle.run == live.run_id and handle.queue == queue.id:
            decisions.extend(live.external.delete(live.now(), queue, handle))
    await _apply(caller, live, decisions, bump=True)


async def change_visibility(
    caller: Caller, queue: ChannelCfg, changes: list[tuple[Receipt, int]]
) -> list[bool]:
    """ChangeMessageVisibility(Batch): True for each message still in flight, now due
    again after its new timeout."""
    live = await live_run(caller)
    decisions = []
    for n, (handle, timeout_ms) in enumerate(changes):
        if handle.run == live.run_id and handle.queue == queue.id:
            decision = live.external.change_visibility(live.now(), queue, handle, timeout_ms)
            decision.result = n
            decisions.append(decision)
    applied = {d.result for d in await _apply(caller, live, decisions, bump=True)}
    return [n in applied for n in range(len(changes))]


async def purge(caller: Caller, queue: ChannelCfg) -> int:
    """PurgeQueue: the queue's visible messages end ``purged``; returns how many."""
    live = await live_run(caller)
    k = keys.RunKeys(live.run_id)
    r = _state().client
    members = await r.zrange(k.ready(queue.id), 0, -1)
    if not members:
        return 0
    records = await r.hmget(k.deliveries, members)
    decisions = live.external.purge(live.now(), queue, list(zip(members, records, strict=True)))
    return len(await _apply(caller, live, decisions, bump=True))
