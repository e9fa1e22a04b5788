"""Node and edge ids of the diagram: built here, parsed here, spelled nowhere else.

These strings tie the engine's hop events (``from``, ``to``, ``edge``), the persisted hop
rows, the diagram's nodes and edges and the browser together (docs/contracts.md).
A node is ``<kind>:<database id>`` where kind is ``producer``, ``consumer`` or a channel
kind (``queue``, ``topic``, ``bus``, ``direct``); an edge is ``<edge kind>:<database id>``.
Pure Python, no Django: the engine and the coupling judges use it too.
"""

from __future__ import annotations

from typing import NamedTuple

PRODUCER = "producer"
CONSUMER = "consumer"
CHANNEL_KINDS = ("queue", "topic", "bus", "direct")
# Code outside EventViz calling the AWS API, one node per API key (its database id; 0 for
# unsigned local use): what it sends, and what it receives from queues.
API_PRODUCER = "api-producer"
API_CONSUMER = "api-consumer"
NODE_KINDS = (PRODUCER, CONSUMER, *CHANNEL_KINDS, API_PRODUCER, API_CONSUMER)

# Edge kinds: what the id after the colon is the primary key of.
PUBLISH = "prod"  # producer -> its channel (the producer's id)
SUBSCRIPTION = "sub"  # channel -> subscriber (the subscription's id)
TARGET = "target"  # bus -> a rule's target (the target's id)
DEAD_LETTER = "dlq"  # queue -> its dead-letter queue (the source queue's id)
EDGE_KINDS = (PUBLISH, SUBSCRIPTION, TARGET, DEAD_LETTER)


class Ref(NamedTuple):
    """A parsed node or edge id."""

    kind: str
    id: int


def producer_node(pk: int) -> str:
    return f"{PRODUCER}:{pk}"


def consumer_node(pk: int | None) -> str:
    return f"{CONSUMER}:{pk}"


def api_producer_node(key_pk: int | None) -> str:
    return f"{API_PRODUCER}:{key_pk or 0}"


def api_consumer_node(key_pk: int | None) -> str:
    return f"{API_CONSUMER}:{key_pk or 0}"


def channel_node(kind: str, pk: int) -> str:
    if kind not in CHANNEL_KINDS:
        raise ValueError(f"not a channel kind: {kind!r}")
    return f"{kind}:{pk}"


def publish_edge(producer_pk: int) -> str:
    return f"{PUBLISH}:{producer_pk}"


def subscription_edge(pk: int) -> str:
    return f"{SUBSCRIPTION}:{pk}"


def target_edge(pk: int) -> str:
    return f"{TARGET}:{pk}"


def dead_letter_edge(queue_pk: int) -> str:
    return f"{DEAD_LETTER}:{queue_pk}"


# Edges of API nodes: an API producer -> a channel, a queue -> an API consumer. They join
# two nodes rather than name one row, so their ids are not ``<kind>:<id>``.
API_EDGE = "api"


def api_send_edge(producer_node: str, channel_pk: int) -> str:
    return f"{API_EDGE}:{producer_node}>{channel_pk}"


def api_receive_edge(consumer_node: str, queue_pk: int) -> str:
    return f"{API_EDGE}:{queue_pk}>{consumer_node}"


def _parse(value: str, kinds: tuple[str, ...]) -> Ref | None:
    kind, sep, rest = value.partition(":")
    if not sep or kind not in kinds or not rest.isdigit():
        return None
    return Ref(kind, int(rest))


def parse_node(value: str) -> Ref | None:
    """``"queue:5"`` -> ``Ref("queue", 5)``; None for anything that is not a node id."""
    return _parse(value, NODE_KINDS)


def parse_edge(value: str) -> Ref | None:
    """``"sub:9"`` -> ``Ref("sub", 9)``; None for anything that is not an edge id."""
    return _parse(value, EDGE_KINDS)


def node_pk(value: str, kind: str) -> int | None:
    """The database id in a node id of the given kind (``"channel"`` matches any channel)."""
    ref = parse_node(value)
    if ref is None:
        return None
    if kind == "channel":
        return ref.id if ref.kind in CHANNEL_KINDS else None
    return ref.id if ref.kind == kind else None
