"""Reads: what pages, the websocket and commands show."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson
import redis
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery

from flows import ids, validators
from flows.engine import driver, keys
from flows.engine.config import (
    ChannelCfg,
    ConsumerCfg,
    EmissionCfg,
    ProducerCfg,
    SubscriptionCfg,
    TargetCfg,
    TopologyConfig,
    compile_validator,
)
from flows.engine.counters import counters as engine_counters
from flows.engine.keys import RunKeys
from flows.live import frames
from flows.models import (
    Consumer,
    Hop,
    MessageChannel,
    Producer,
    Rule,
    Run,
    Subscription,
    Target,
    Topology,
)
from flows.redis_state import client
from flows.routing import EventPattern, FilterPolicy, InputTransformer, InvalidPattern, RuleIndex


def visible_topology(slug: str, user: Any) -> Topology | None:
    """The topology, if this user may see it: public ones for everyone, all for staff."""
    topology = Topology.objects.filter(slug=slug).first()
    if topology is None or (not topology.is_public and not getattr(user, "is_staff", False)):
        return None
    return topology


def topology_list() -> QuerySet[Topology]:
    last_run = Run.objects.filter(topology=OuterRef("pk")).order_by("-started_at")
    return Topology.objects.annotate(
        n_channels=Count("channels", distinct=True),
        n_consumers=Count("consumers", distinct=True),
        n_producers=Count("producers", distinct=True),
        last_run_at=Subquery(last_run.values("started_at")[:1]),
        last_run_status=Subquery(last_run.values("status")[:1]),
    ).order_by("-featured", "name")


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
                    "id": ids.dead_letter_edge(channel.pk),
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
                "id": ids.publish_edge(producer.pk),
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
            ids.consumer_node(sub.consumer_id)
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
                ids.consumer_node(target.consumer_id)
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
    _api_parts(topology, {n["id"] for n in nodes}, nodes, edges)
    return {
        "slug": topology.slug,
        "name": topology.name,
        "description": topology.description,
        "script": topology.script,
        "nodes": nodes,
        "edges": edges,
    }


def _api_parts(
    topology: Topology, known: set[str], nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> None:
    """The API keys that sent or received (``flows.dataplane``), joined to channels that
    still exist; none when Redis is not reachable (nothing can have been sent then)."""
    try:
        with client().pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.api_nodes(topology.pk))
            pipe.hgetall(keys.api_edges(topology.pk))
            api_nodes, api_edges = pipe.execute()
    except redis.RedisError:
        return
    used: set[str] = set()
    for edge_id, raw in sorted(api_edges.items()):
        edge = orjson.loads(raw)
        if edge["source"] in known or edge["target"] in known:
            used.update((edge["source"], edge["target"]))
            edges.append(
                {
                    "id": edge_id.decode(),
                    "source": edge["source"],
                    "target": edge["target"],
                    "kind": "api",
                    "label": "",
                }
            )
    for node_id, label in sorted(api_nodes.items()):
        node = node_id.decode()
        if node in used:
            ref = ids.parse_node(node)
            nodes.append(
                {"id": node, "kind": ref.kind if ref else "api-producer", "label": label.decode()}
            )


def topology_config(topology_id: int) -> TopologyConfig:
    """The compiled, immutable view of a topology the simulation engine routes with."""
    channels = {
        c.pk: ChannelCfg(
            id=c.pk,
            name=c.name,
            kind=c.kind,
            visibility_timeout_ms=int(c.visibility_timeout * 1000),
            max_receives=c.max_receives,
            dlq_id=c.dead_letter_queue_id,
            fifo=c.fifo,
            archive_pattern=EventPattern(c.archive_pattern)
            if c.archive_enabled and c.archive_pattern
            else None,
            archive_all=c.archive_enabled and not c.archive_pattern,
            delay_ms=c.delay_seconds * 1000,
            content_dedup=c.content_based_deduplication,
        )
        for c in MessageChannel.objects.filter(topology_id=topology_id)
    }
    consumers = {
        c.pk: ConsumerCfg(
            id=c.pk,
            name=c.name,
            latency_mean_ms=c.latency_mean_ms,
            latency_jitter_ms=c.latency_jitter_ms,
            failure_rate=c.failure_rate,
            concurrency=c.concurrency,
            online=c.online,
            idempotent=c.idempotent,
            schema_label=f"{c.expected_type.name} v{c.expected_type.version}"
            if c.expected_type
            else None,
            validator=compile_validator(c.expected_type.json_schema) if c.expected_type else None,
        )
        for c in Consumer.objects.filter(topology_id=topology_id).select_related("expected_type")
    }
    producers = {
        p.pk: ProducerCfg(
            id=p.pk,
            name=p.name,
            channel_id=p.channel_id,
            rate=p.rate,
            jitter=p.jitter,
            burst_size=p.burst_size,
            burst_every=p.burst_every,
            paused=p.paused,
            emissions=tuple(
                EmissionCfg(
                    type_name=e.message_type.name,
                    kind=e.message_type.kind,
                    version=e.message_type.version,
                    source=e.message_type.source,
                    weight=e.weight,
                    template=e.payload_template,
                    attributes=e.attributes,
                )
                for e in p.emissions.all()
            ),
        )
        for p in Producer.objects.filter(topology_id=topology_id).prefetch_related(
            "emissions__message_type"
        )
    }
    subscriptions = {
        s.pk: SubscriptionCfg(
            id=s.pk,
            channel_id=s.channel_id,
            consumer_id=s.consumer_id,
            target_channel_id=s.target_channel_id,
            policy=FilterPolicy(s.filter_policy, scope=s.filter_scope)
            if s.filter_policy is not None
            else None,
            dlq_id=s.dead_letter_queue_id,
            max_retries=s.max_retries,
            mirror_of=s.mirror_of_id,
            raw=s.raw_message_delivery,
        )
        for s in Subscription.objects.filter(channel__topology_id=topology_id).order_by("pk")
    }
    rules = list(Rule.objects.filter(bus__topology_id=topology_id, enabled=True).order_by("pk"))
    targets = {
        t.pk: TargetCfg(
            id=t.pk,
            rule_id=t.rule_id,
            rule_name=t.rule.name,
            rule_version=t.rule.version,
            channel_id=t.channel_id,
            consumer_id=t.consumer_id,
            transformer=InputTransformer(t.input_paths_map or {}, t.input_template)
            if t.input_template
            else None,
            max_retries=t.max_retries,
            dlq_id=t.dead_letter_queue_id,
        )
        for t in Target.objects.filter(rule__in=rules).select_related("rule").order_by("pk")
    }
    topology = Topology.objects.only("script").get(pk=topology_id)
    config = TopologyConfig(
        channels=channels,
        consumers=consumers,
        producers=producers,
        subscriptions=subscriptions,
        targets=targets,
        script=list(topology.script or []),
    )
    for rule in rules:
        config.add_rule(rule.bus_id, rule.pk, rule.name, rule.version, rule.event_pattern)
    return config.finish()


def message_trace(msg_id: str) -> list[Hop]:
    return list(Hop.objects.filter(msg=msg_id).order_by("run_id", "seq"))


def node_labels(values: Iterable[str]) -> dict[str, str]:
    """Names for node and edge ids of hops (``queue:5`` -> ``orders (queue)``).

    Ids are parsed by ``flows.ids`` only; an id whose row is gone keeps its id as label.
    """
    wanted: dict[str, list[int]] = {}
    refs: dict[str, ids.Ref] = {}
    for value in set(values):
        ref = ids.parse_node(value) or ids.parse_edge(value)
        if ref is not None:
            refs[value] = ref
            wanted.setdefault(ref.kind, []).append(ref.id)

    def rows(model: Any, kinds: tuple[str, ...], *related: str) -> dict[int, Any]:
        pks = [pk for kind in kinds for pk in wanted.get(kind, [])]
        if not pks:
            return {}
        return model.objects.select_related(*related).in_bulk(pks)

    producers = rows(Producer, (ids.PRODUCER, ids.PUBLISH))
    consumers = rows(Consumer, (ids.CONSUMER,))
    channels = rows(MessageChannel, (*ids.CHANNEL_KINDS, ids.DEAD_LETTER), "dead_letter_queue")
    subs = rows(Subscription, (ids.SUBSCRIPTION,), "channel", "consumer", "target_channel")
    targets = rows(Target, (ids.TARGET,), "rule", "channel", "consumer")
    labels: dict[str, str] = {}
    for value, (kind, pk) in refs.items():
        label: str | None = None
        if kind == ids.PRODUCER and pk in producers:
            label = f"{producers[pk].name} (producer)"
        elif kind == ids.CONSUMER and pk in consumers:
            label = f"{consumers[pk].name} (consumer)"
        elif kind in ids.CHANNEL_KINDS and pk in channels:
            label = f"{channels[pk].name} ({kind})"
        elif kind == ids.PUBLISH and pk in producers:
            label = f"{producers[pk].name} publishes"
        elif kind == ids.SUBSCRIPTION and pk in subs:
            label = f"subscription {subs[pk]}"
        elif kind == ids.TARGET and pk in targets:
            label = f"rule {targets[pk]}"
        elif kind == ids.DEAD_LETTER and pk in channels:
            queue = channels[pk]
            dlq = queue.dead_letter_queue.name if queue.dead_letter_queue else "?"
            label = f"dead letters {queue.name} → {dlq}"
        labels[value] = label or value
    return labels


def hops_after(*, run_id: int, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Hop payloads of a run with seq > ``after_seq``: the database, then the Redis stream.

    The stream is read first: a batch that moves from the stream to the database
    meanwhile is then found in the database, so nothing falls between the two reads.
    """
    pending = driver.pending_hops(client(), run_id)
    rows = Hop.objects.filter(run_id=run_id, seq__gt=after_seq).order_by("seq")[:limit]
    by_seq = {row.seq: frames.hop_from_row(row) for row in rows}
    for hop in pending:
        if hop["seq"] > after_seq:
            by_seq.setdefault(hop["seq"], frames.hop_payload(hop))
    return [by_seq[seq] for seq in sorted(by_seq)][:limit]


# --- the rule editor's sandbox and what-if (admin) -----------------------------------------


def bus_archived_events(*, bus: MessageChannel, limit: int) -> list[dict[str, Any]] | None:
    """The newest events in the bus's archive (of its latest run), newest first.

    None when the bus keeps no archive or its latest run's archive is gone (live state
    of a stopped run expires after an hour).
    """
    if not bus.archive_enabled:
        return None
    run = Run.objects.filter(topology_id=bus.topology_id).order_by("-started_at").first()
    if run is None:
        return None
    key = RunKeys(run.pk).archive(bus.pk)
    raw = client().zrevrange(key, 0, limit - 1)
    return [orjson.loads(item) for item in raw] if raw else None


def bus_recent_events(*, bus: MessageChannel, limit: int) -> list[dict[str, Any]]:
    """The newest events published on a bus (their envelopes), newest first."""
    rows = (
        Hop.objects.filter(stage="published", to_node=bus.node_id)
        .order_by("-run_id", "-seq")
        .values_list("detail", flat=True)[:limit]
    )
    return [
        detail["payload"] for detail in rows if isinstance(detail, dict) and "payload" in detail
    ]


def _draft_pattern(draft: Any) -> tuple[EventPattern | None, dict[str, Any] | None]:
    """The draft compiled, or the error to show next to the field."""
    if isinstance(draft, str):
        try:
            draft = validators.json_loads_bounded(draft)
        except json.JSONDecodeError as exc:
            return None, {"valid": False, "error": validators.json_syntax_error(exc)}
        except ValueError as exc:  # nested too deep
            return None, {"valid": False, "error": f"The pattern is refused: {exc}."}
    if not isinstance(draft, dict):  # worded as the rule form words it
        message = validators.event_pattern_errors(draft)[0]
        return None, {"valid": False, "error": message, "path": "", "reason": message}
    try:
        return EventPattern(draft), None
    except InvalidPattern as exc:
        return None, {"valid": False, "error": str(exc), "path": exc.path, "reason": exc.reason}


def rule_sandbox(draft: Any, event: Any) -> dict[str, Any]:
    """Would ``draft`` match ``event``, and if not, which clauses failed and why."""
    pattern, error = _draft_pattern(draft)
    if error is not None:
        return error
    if isinstance(event, str):
        try:
            event = validators.json_loads_bounded(event)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"The sample event is not valid JSON: {exc.msg}") from None
        except ValueError as exc:  # nested too deep
            raise ValidationError(f"The sample event is refused: {exc}.") from None
    if not isinstance(event, dict):
        raise ValidationError("The sample event must be a JSON object.")
    assert pattern is not None
    mismatches = pattern.explain(event)
    return {
        "valid": True,
        "matches": not mismatches,
        "explanation": [m.as_dict() for m in mismatches],
    }


WHATIF_LISTED = 50  # event ids listed per gained/lost list


def rule_whatif(
    *, bus: MessageChannel, rule: Rule | None, draft: Any, limit: int
) -> dict[str, Any]:
    """The draft against the bus's recent events: what it matches now vs before, per target."""
    new, error = _draft_pattern(draft)
    if error is not None:
        return error
    assert new is not None
    events = bus_archived_events(bus=bus, limit=limit)
    source = "archive"
    if events is None:
        events, source = bus_recent_events(bus=bus, limit=limit), "traffic"
    old = EventPattern(rule.event_pattern) if rule is not None and rule.enabled else None
    others = RuleIndex()
    for other in Rule.objects.filter(bus=bus, enabled=True).exclude(pk=rule.pk if rule else None):
        others.add(other.pk, other.event_pattern)
    before = after = unmatched_before = unmatched_after = 0
    gained: list[str] = []
    lost: list[str] = []
    for event in events:
        was, now = bool(old and old.matches(event)), new.matches(event)
        elsewhere = bool(others.matching(event))
        before += was
        after += now
        unmatched_before += not (was or elsewhere)
        unmatched_after += not (now or elsewhere)
        if now and not was:
            gained.append(event.get("id", ""))
        elif was and not now:
            lost.append(event.get("id", ""))
    targets = [
        {"target": t.destination_name, "before": before, "after": after, "change": after - before}
        for t in (rule.targets.select_related("channel", "consumer") if rule else [])
    ]
    return {
        "valid": True,
        "source": source,
        "events": len(events),
        "matched_before": before,
        "matched_after": after,
        # The id lists are capped for the page; the counts are exact.
        "gained": gained[:WHATIF_LISTED],
        "lost": lost[:WHATIF_LISTED],
        "gained_count": len(gained),
        "lost_count": len(lost),
        "unmatched_before": unmatched_before,
        "unmatched_after": unmatched_after,
        "targets": targets,
    }


def queue_depths(*, topology_id: int) -> dict[int, dict[str, int]]:
    """Per queue id: messages waiting (``depth``, incl. dead letters parked there) and
    received but not yet deleted (``in_flight``), from the running run's live counters;
    empty when no run is running, since then no message is anywhere."""
    run = Run.objects.filter(topology_id=topology_id, status="running").first()
    if run is None:
        return {}
    nodes = engine_counters(client(), run.pk, topology_config(topology_id))["nodes"]
    result = {}
    for node, stats in nodes.items():
        ref = ids.parse_node(node)
        if ref is not None and ref.kind == "queue":
            result[ref.id] = {
                "depth": stats.get("depth", 0) + stats.get("parked", 0),
                "in_flight": stats.get("in_flight", 0),
            }
    return result
