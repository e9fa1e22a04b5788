"""Where a producer's messages can go: the topology walked the way the engine routes.

A direct call reaches its first subscriber only (``direct_callee``); a mirror copies what its
primary receives; a rule whose pattern names other detail-types or sources carries none of
the producer's types; channel-to-channel hops stop at ``MAX_ROUTING_DEPTH``. Also here: who
competes on which queue, and what each service on a shared queue missed in a run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flows import ids
from flows.coupling import phrases
from flows.coupling.model import (
    DIRECT,
    QUEUE,
    Emitted,
    Link,
    MissedEvents,
    Model,
    Path,
    ProducerInfo,
    Step,
    TypeInfo,
)
from flows.engine.semantics import MAX_ROUTING_DEPTH, direct_callee


def find_paths(model: Model) -> list[Path]:
    """Every way a message of each producer can reach a consumer, in a stable order."""
    found: list[Path] = []
    for producer in model.producers:
        if producer.channel_id in model.channels and producer.emits:
            _walk(
                model,
                producer,
                producer.channel_id,
                (),
                frozenset({producer.channel_id}),
                producer.emits,
                found,
            )
    return found


def _walk(
    model: Model,
    producer: ProducerInfo,
    channel_id: int,
    links: tuple[Link, ...],
    seen: frozenset[int],
    carries: tuple[Emitted, ...],
    found: list[Path],
) -> None:
    for link in ways_out(model, channel_id):
        through = tuple(e for e in carries if _may_match(link.pattern, e.type, producer))
        if not through:
            continue
        if link.consumer_id is not None:
            consumer = model.consumers.get(link.consumer_id)
            if consumer is not None:
                found.append(Path(producer, (*links, link), consumer, through))
        elif (
            link.target_id is not None
            and link.target_id in model.channels
            and link.target_id not in seen
            and len(seen) <= MAX_ROUTING_DEPTH
        ):
            _walk(
                model,
                producer,
                link.target_id,
                (*links, link),
                seen | {link.target_id},
                through,
                found,
            )


def ways_out(model: Model, channel_id: int) -> list[Link]:
    """The links a message actually takes out of a channel, as the engine routes it."""
    links = list(model.links.get(channel_id, ()))
    primaries = [link for link in links if link.mirror_of is None]
    if model.channels[channel_id].kind == DIRECT:
        callee = direct_callee(primaries)
        primaries = [callee] if callee is not None else []
    served = {link.consumer_id for link in primaries if link.consumer_id is not None}
    mirrors = [link for link in links if link.mirror_of is not None and link.mirror_of in served]
    return primaries + mirrors


def _may_match(pattern: Any, mtype: TypeInfo, producer: ProducerInfo) -> bool:
    """False when a rule's pattern lists detail-types or sources this type can never have."""
    if not isinstance(pattern, dict):
        return True
    checks = (("detail-type", mtype.name), ("source", mtype.source or producer.name))
    for key, value in checks:
        allowed = pattern.get(key)
        listed = isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)
        if listed and allowed and value not in allowed:
            return False
    return True


def route(model: Model, path: Path) -> tuple[Step, ...]:
    """The stops of a path, producer to consumer, as the page draws them."""
    entry = model.channels[path.producer.channel_id]
    steps = [
        Step(path.producer.name, "producer", path.producer.node),
        Step(entry.name, entry.kind, entry.node),
    ]
    for link in path.links:
        via = phrases.via(model, link)
        if link.target_id is not None:
            target = model.channels[link.target_id]
            steps.append(Step(target.name, target.kind, target.node, via))
        else:
            steps.append(Step(path.consumer.name, "consumer", path.consumer.node, via))
    return tuple(steps)


# --- competing on a queue ------------------------------------------------------------------


def shared_queues(model: Model) -> dict[int, dict[int, str]]:
    """Queues read by consumers of more than one service: queue id -> {consumer id: service}."""
    shared: dict[int, dict[int, str]] = {}
    for channel in model.channels.values():
        if channel.kind != QUEUE:
            continue
        readers = competitors(model, channel.id)
        if len(set(readers.values())) > 1:
            shared[channel.id] = readers
    return shared


def competitors(model: Model, queue_id: int) -> dict[int, str]:
    """The consumers competing on a queue (mirrors do not compete) and their services."""
    return {
        link.consumer_id: model.consumers[link.consumer_id].service
        for link in model.links.get(queue_id, ())
        if link.mirror_of is None
        and link.consumer_id is not None
        and link.consumer_id in model.consumers
    }


def count_missed(model: Model, received: Iterable[tuple[str, str, Any]]) -> list[MissedEvents]:
    """``received`` holds (queue node, consumer node, message id) of queue receives."""
    shared = shared_queues(model)
    queues = {model.channels[qid].node: qid for qid in shared}
    got: dict[tuple[str, str], set[Any]] = defaultdict(set)  # (queue node, service) -> msgs
    for queue_node, consumer_node, msg in received:
        qid = queues.get(queue_node)
        if qid is None:
            continue
        cid = ids.node_pk(consumer_node, ids.CONSUMER)
        service = shared[qid].get(cid) if cid is not None else None
        if service is not None:
            got[queue_node, service].add(msg)
    figures = []
    for qid, readers in sorted(shared.items(), key=lambda item: model.channels[item[0]].name):
        queue = model.channels[qid]
        services = sorted(set(readers.values()))
        everything = set().union(*(got[queue.node, s] for s in services))
        for service in services:
            mine = got[queue.node, service]
            figures.append(
                MissedEvents(
                    queue=queue.name,
                    queue_node=queue.node,
                    service=service,
                    consumers=tuple(
                        sorted(model.consumers[c].name for c, s in readers.items() if s == service)
                    ),
                    messages=len(everything),
                    received=len(mine),
                    missed=len(everything - mine),
                )
            )
    return figures
