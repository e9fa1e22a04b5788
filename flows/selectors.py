"""Reads: what pages, the websocket and commands show."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from flows.models import MessageChannel, Rule, Run, Subscription, Topology


def topology_list() -> QuerySet[Topology]:
    last_run = Run.objects.filter(topology=OuterRef("pk")).order_by("-started_at")
    return Topology.objects.annotate(
        n_channels=Count("channels", distinct=True),
        n_consumers=Count("consumers", distinct=True),
        n_producers=Count("producers", distinct=True),
        last_run_at=Subquery(last_run.values("started_at")[:1]),
        last_run_status=Subquery(last_run.values("status")[:1]),
    ).order_by("name")


def topology_parts(topology: Topology) -> dict[str, Any]:
    channels = list(
        topology.channels.select_related("dead_letter_queue").annotate(
            n_subscriptions=Count("subscriptions")
        )
    )
    return {
        "message_types": list(topology.message_types.all()),
        "channels": channels,
        "producers": list(
            topology.producers.select_related("channel").prefetch_related("emissions__message_type")
        ),
        "consumers": list(topology.consumers.select_related("expected_type")),
        "subscriptions": list(
            Subscription.objects.filter(channel__topology=topology).select_related(
                "channel", "consumer", "target_channel", "dead_letter_queue", "mirror_of"
            )
        ),
        "rules": list(
            Rule.objects.filter(bus__topology=topology)
            .select_related("bus")
            .prefetch_related("targets__channel", "targets__consumer")
        ),
        "runs": list(topology.runs.all()[:5]),
    }


def topology_graph(topology: Topology) -> dict[str, Any]:
    """Nodes and edges of the diagram (ids match hop events' from/to/edge)."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    channels: dict[int, MessageChannel] = {c.pk: c for c in topology.channels.all()}
    for channel in channels.values():
        nodes.append(
            {
                "id": channel.node_id,
                "kind": channel.kind,
                "label": channel.name,
                "fifo": channel.fifo,
            }
        )
        if channel.dead_letter_queue_id:
            dlq = channels[channel.dead_letter_queue_id]
            edges.append(
                {
                    "id": f"dlq:{channel.pk}",
                    "source": channel.node_id,
                    "target": dlq.node_id,
                    "kind": "dead_letter",
                    "label": "dead letters",
                }
            )
    for producer in topology.producers.all():
        nodes.append(
            {
                "id": producer.node_id,
                "kind": "producer",
                "label": producer.name,
                "paused": producer.paused,
            }
        )
        edges.append(
            {
                "id": f"prod:{producer.pk}",
                "source": producer.node_id,
                "target": channels[producer.channel_id].node_id,
                "kind": "publish",
                "label": "",
            }
        )
    for consumer in topology.consumers.all():
        nodes.append(
            {
                "id": consumer.node_id,
                "kind": "consumer",
                "label": consumer.name,
                "service": consumer.service,
                "online": consumer.online,
            }
        )
    for sub in Subscription.objects.filter(channel__topology=topology):
        target = (
            f"consumer:{sub.consumer_id}"
            if sub.consumer_id
            else channels[sub.target_channel_id].node_id
        )
        edges.append(
            {
                "id": sub.edge_id,
                "source": channels[sub.channel_id].node_id,
                "target": target,
                "kind": "mirror" if sub.mirror_of_id else "subscription",
                "label": "filtered" if sub.filter_policy is not None else "",
                "filter_policy": sub.filter_policy,
            }
        )
    for rule in Rule.objects.filter(bus__topology=topology).prefetch_related("targets"):
        for target in rule.targets.all():
            dest = (
                f"consumer:{target.consumer_id}"
                if target.consumer_id
                else channels[target.channel_id].node_id
            )
            edges.append(
                {
                    "id": target.edge_id,
                    "source": channels[rule.bus_id].node_id,
                    "target": dest,
                    "kind": "rule",
                    "label": rule.name,
                    "rule": rule.pk,
                    "enabled": rule.enabled,
                    "pattern": rule.event_pattern,
                    "transformed": target.has_transformer,
                }
            )
    return {"slug": topology.slug, "name": topology.name, "nodes": nodes, "edges": edges}
