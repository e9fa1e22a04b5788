"""Small builders for tests: a topology with named parts, saved and valid."""

from __future__ import annotations

from typing import Any

from flows.models import Consumer, MessageChannel, MessageType, Producer, Topology


def topology(slug: str = "t", **fields: Any) -> Topology:
    return Topology.objects.create(slug=slug, name=fields.pop("name", slug.title()), **fields)


def channel(topo: Topology, name: str, kind: str = "queue", **fields: Any) -> MessageChannel:
    return MessageChannel.objects.create(topology=topo, name=name, kind=kind, **fields)


def consumer(topo: Topology, name: str, **fields: Any) -> Consumer:
    return Consumer.objects.create(topology=topo, name=name, **fields)


def message_type(topo: Topology, name: str = "OrderPlaced", **fields: Any) -> MessageType:
    return MessageType.objects.create(topology=topo, name=name, **fields)


def producer(topo: Topology, name: str, chan: MessageChannel, **fields: Any) -> Producer:
    return Producer.objects.create(topology=topo, name=name, channel=chan, **fields)
