"""Dumping a topology back to a scenario (``scenario_load`` of the YAML recreates it)."""

from __future__ import annotations

from typing import Any

import yaml
from django.db.models import Prefetch

from flows.models import ChannelKind, Emission, FilterScope, Rule, Subscription, Target, Topology


def scenario_dump(topology: Topology) -> dict[str, Any]:
    """The scenario dict of a topology; ``scenario_load`` of its YAML recreates it."""
    out: dict[str, Any] = {"slug": topology.slug, "name": topology.name}
    if topology.description:
        out["description"] = topology.description
    if not topology.is_public:
        out["public"] = False
    if topology.featured:
        out["featured"] = True
    if topology.script:
        out["script"] = topology.script

    out["message_types"] = [
        _compact(
            {
                "name": t.name,
                "kind": t.kind,
                "version": t.version,
                "source": t.source or None,
                "schema": t.json_schema or None,
            }
        )
        for t in topology.message_types.order_by("name", "version")
    ]
    channels = list(topology.channels.select_related("dead_letter_queue").order_by("pk"))
    out["channels"] = [
        _compact(
            {
                "name": c.name,
                "kind": c.kind,
                "description": c.description or None,
                "visibility_timeout": c.visibility_timeout if c.kind == ChannelKind.QUEUE else None,
                "max_receives": c.max_receives,
                "dead_letter_queue": c.dead_letter_queue.name if c.dead_letter_queue else None,
                "fifo": c.fifo or None,
                "archive": _compact(
                    {
                        "pattern": c.archive_pattern,
                        "retention_days": c.archive_retention_days or None,
                    }
                )
                if c.archive_enabled
                else None,
            }
        )
        for c in channels
    ]
    out["consumers"] = [
        _compact(
            {
                "name": c.name,
                "service": c.service if c.service != c.name else None,
                "latency_ms": {"mean": c.latency_mean_ms, "jitter": c.latency_jitter_ms},
                "failure_rate": c.failure_rate or None,
                "concurrency": c.concurrency if c.concurrency != 1 else None,
                "online": False if not c.online else None,
                "idempotent": False if not c.idempotent else None,
                "expects": {"type": c.expected_type.name, "version": c.expected_type.version}
                if c.expected_type
                else None,
            }
        )
        for c in topology.consumers.select_related("expected_type").order_by("pk")
    ]
    out["producers"] = [
        _compact(
            {
                "name": p.name,
                "channel": p.channel.name,
                "rate": p.rate,
                "jitter": p.jitter or None,
                "burst": {"size": p.burst_size, "every": p.burst_every} if p.burst_size else None,
                "paused": True if p.paused else None,
                "emits": [
                    _compact(
                        {
                            "type": e.message_type.name,
                            "version": e.message_type.version,
                            "weight": e.weight if e.weight != 1.0 else None,
                            "payload": e.payload_template or None,
                            "attributes": e.attributes or None,
                        }
                    )
                    for e in p.ordered_emissions
                ],
            }
        )
        for p in topology.producers.select_related("channel")
        .prefetch_related(
            Prefetch(
                "emissions",
                queryset=Emission.objects.select_related("message_type").order_by("pk"),
                to_attr="ordered_emissions",
            )
        )
        .order_by("pk")
    ]
    subscriptions = Subscription.objects.filter(channel__topology=topology).select_related(
        "channel", "consumer", "target_channel", "dead_letter_queue", "mirror_of__consumer"
    )
    out["subscriptions"] = [
        _compact(
            {
                "channel": s.channel.name,
                "consumer": s.consumer.name if s.consumer else None,
                "target_channel": s.target_channel.name if s.target_channel else None,
                "filter_policy": s.filter_policy,
                "filter_scope": s.filter_scope
                if s.filter_policy is not None and s.filter_scope != FilterScope.ATTRIBUTES
                else None,
                "dead_letter_queue": s.dead_letter_queue.name if s.dead_letter_queue else None,
                "max_retries": s.max_retries if s.max_retries != 3 else None,
                "mirror_of": s.mirror_of.consumer.name
                if s.mirror_of and s.mirror_of.consumer
                else None,
            }
        )
        for s in subscriptions.order_by("pk")
    ]
    rules = (
        Rule.objects.filter(bus__topology=topology)
        .select_related("bus")
        .prefetch_related(
            Prefetch(
                "targets",
                queryset=Target.objects.select_related(
                    "channel", "consumer", "dead_letter_queue"
                ).order_by("pk"),
                to_attr="ordered_targets",
            )
        )
        .order_by("pk")
    )
    out["rules"] = [
        _compact(
            {
                "name": r.name,
                "bus": r.bus.name,
                "description": r.description or None,
                "enabled": False if not r.enabled else None,
                "pattern": r.event_pattern,
                "targets": [
                    _compact(
                        {
                            "channel": t.channel.name if t.channel else None,
                            "consumer": t.consumer.name if t.consumer else None,
                            "input_transformer": _compact(
                                {
                                    "InputPathsMap": t.input_paths_map or None,
                                    "InputTemplate": t.input_template,
                                }
                            )
                            if t.input_template
                            else None,
                            "max_retries": t.max_retries if t.max_retries != 3 else None,
                            "dead_letter_queue": t.dead_letter_queue.name
                            if t.dead_letter_queue
                            else None,
                        }
                    )
                    for t in r.ordered_targets
                ],
            }
        )
        for r in rules
    ]
    return {key: value for key, value in out.items() if value != []}


def scenario_dump_yaml(topology: Topology) -> str:
    return yaml.safe_dump(scenario_dump(topology), sort_keys=False, allow_unicode=True, width=100)


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}
