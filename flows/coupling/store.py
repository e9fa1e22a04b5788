"""The coupling report's one door to the database: the stored topology as a ``Model``, the
missed-events figures from a run's hop rows, and everything the coupling page shows.

The only module of ``flows.coupling`` that imports Django; the rest is pure and is judged
on what ``snapshot`` reads.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flows.coupling.judges import judge_path, verdict_summary
from flows.coupling.model import (
    DIMENSIONS,
    ChannelInfo,
    ConsumerInfo,
    Emitted,
    Link,
    MissedEvents,
    Model,
    ProducerInfo,
    TypeInfo,
)
from flows.coupling.paths import count_missed, find_paths, shared_queues
from flows.coupling.script import offline_windows, version_switches
from flows.models import HopStage, Rule, Run, Subscription, Topology


def snapshot(topology: Topology) -> Model:
    """The topology as plain data, as it is stored now (verdicts follow every edit)."""
    types = {
        t.pk: TypeInfo(
            name=t.name,
            version=t.version,
            kind=t.kind,
            source=t.source,
            required=_required(t.json_schema),
        )
        for t in topology.message_types.all()
    }
    by_key = {(t.name, t.version): t for t in types.values()}
    script = [s for s in (topology.script or []) if isinstance(s, dict)]
    consumers_qs = list(topology.consumers.order_by("pk"))
    offline = offline_windows(script, [c.name for c in consumers_qs if not c.online])
    consumers = {
        c.pk: ConsumerInfo(
            id=c.pk,
            name=c.name,
            service=c.service or c.name,
            expects=types.get(c.expected_type_id) if c.expected_type_id else None,
            offline=tuple(offline.get(c.name, ())),
        )
        for c in consumers_qs
    }
    switches = version_switches(script, by_key)
    producers = []
    for p in topology.producers.order_by("pk").prefetch_related("emissions"):
        emissions = list(p.emissions.all())
        sent = [e for e in emissions if e.weight > 0] or emissions[:1]
        emits = [Emitted(types[e.message_type_id]) for e in sent if e.message_type_id in types]
        for switch in switches.get(p.name, []):
            if all(e.type != switch.type for e in emits):
                emits.append(switch)
        producers.append(ProducerInfo(p.pk, p.name, p.channel_id, tuple(emits)))
    links: dict[int, list[Link]] = defaultdict(list)
    subscriptions = list(Subscription.objects.filter(channel__topology=topology).order_by("pk"))
    consumer_of_sub = {s.pk: s.consumer_id for s in subscriptions}
    for s in subscriptions:
        links[s.channel_id].append(
            Link(
                channel_id=s.channel_id,
                edge=s.edge_id,
                consumer_id=s.consumer_id,
                target_id=s.target_channel_id,
                filter_policy=s.filter_policy,
                filter_scope=s.filter_scope,
                max_retries=s.max_retries,
                mirror_of=consumer_of_sub.get(s.mirror_of_id) if s.mirror_of_id else None,
            )
        )
    rules = Rule.objects.filter(bus__topology=topology, enabled=True).order_by("pk")
    for rule in rules.prefetch_related("targets"):
        for target in sorted(rule.targets.all(), key=lambda t: t.pk):
            links[rule.bus_id].append(
                Link(
                    channel_id=rule.bus_id,
                    edge=target.edge_id,
                    consumer_id=target.consumer_id,
                    target_id=target.channel_id,
                    rule=rule.name,
                    pattern=rule.event_pattern,
                    max_retries=target.max_retries,
                    paths_map=target.input_paths_map,
                    template=target.input_template,
                )
            )
    return Model(
        slug=topology.slug,
        channels={c.pk: ChannelInfo(c.pk, c.name, c.kind) for c in topology.channels.all()},
        consumers=consumers,
        producers=tuple(producers),
        links={channel_id: tuple(items) for channel_id, items in links.items()},
    )


def _required(schema: Any) -> tuple[str, ...]:
    if not isinstance(schema, dict) or not isinstance(schema.get("required"), list):
        return ()
    return tuple(str(name) for name in schema["required"])


def missed_events(run: Run, model: Model | None = None) -> list[MissedEvents]:
    """For services competing with another service on a queue: what each one missed in ``run``.

    A message is missed by a service when a consumer of another service on the same queue
    received it and no consumer of this service ever did (from the run's hop rows).
    """
    model = model or snapshot(run.topology)
    nodes = [model.channels[qid].node for qid in shared_queues(model)]
    if not nodes:
        return []
    rows = run.hops.filter(stage=HopStage.RECEIVED, from_node__in=nodes).values_list(
        "from_node", "to_node", "msg"
    )
    return count_missed(model, rows.iterator())


def coupling_report(topology: Topology) -> dict[str, Any]:
    """Everything the coupling page shows, computed now from the stored topology."""
    model = snapshot(topology)
    run = topology.runs.order_by("-started_at", "-pk").first()
    missed = missed_events(run, model) if run is not None else []
    by_key = {(m.queue_node, m.service): m for m in missed}
    run_label = f"run {run.pk}" if run is not None else ""
    paths = find_paths(model)
    reports = [judge_path(model, path, by_key, run_label) for path in paths]
    reached = {path.consumer.id for path in paths}
    return {
        "dimensions": DIMENSIONS,
        "reports": reports,
        "summary": verdict_summary(reports),
        "run": run,
        "missed": missed,
        "unreached": [c for c in model.consumers.values() if c.id not in reached],
    }
