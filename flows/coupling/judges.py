"""The verdicts: each producer -> consumer path judged on the five kinds of coupling.

Pure: a judge reads the model and the path, decides the verdict and which case the path is
in, and takes that case's sentence from ``flows.coupling.phrases``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from flows.coupling import phrases
from flows.coupling.model import (
    COUPLED,
    DECOUPLED,
    DIMENSIONS,
    DIRECT,
    IMPLICIT,
    PARTLY,
    QUEUE,
    Judgement,
    Link,
    MissedEvents,
    Model,
    Path,
    PathReport,
)
from flows.coupling.paths import competitors, route

_RANK = {DECOUPLED: 0, IMPLICIT: 1, PARTLY: 2, COUPLED: 3}
_PLACEHOLDER = re.compile(r"<[A-Za-z0-9_.\-]+>")


def judge_path(
    model: Model,
    path: Path,
    missed: Mapping[tuple[str, str], MissedEvents] | None = None,
    run_label: str = "",
) -> PathReport:
    """The five verdicts of one path; ``missed`` is keyed by (queue node, service)."""
    topology = judge_topology(model, path)
    last = model.channels[path.links[-1].channel_id]
    figure = (missed or {}).get((last.node, path.consumer.service))
    if topology.verdict == COUPLED and figure is not None:
        topology = dataclasses.replace(topology, figure=phrases.missed_text(figure, run_label))
    return PathReport(
        producer=path.producer.name,
        consumer=path.consumer.name,
        consumer_node=path.consumer.node,
        steps=route(model, path),
        judgements=(
            judge_time(model, path),
            judge_location(model, path),
            judge_space(model, path),
            topology,
            judge_data(model, path),
        ),
    )


def judge_time(model: Model, path: Path) -> Judgement:
    entry, final = model.channels[path.producer.channel_id], path.links[-1]
    last = model.channels[final.channel_id]
    if entry.kind == DIRECT:
        return Judgement("time", COUPLED, phrases.time_call_waits(path, entry))
    if final.mirror_of is not None:
        reason = phrases.time_mirrored_copy(path, entry)
    elif last.kind == QUEUE:
        reason = phrases.time_kept_in_queue(path, entry, last)
    else:
        reason = phrases.time_pushed(path, entry, last, final.max_retries)
    return Judgement("time", DECOUPLED, reason)


def judge_location(model: Model, path: Path) -> Judgement:
    entry = model.channels[path.producer.channel_id]
    if entry.kind == DIRECT:
        return Judgement("location", COUPLED, phrases.location_callee_named(path, entry))
    if entry.kind == QUEUE:
        return Judgement("location", PARTLY, phrases.location_queue_addressed(model, path, entry))
    return Judgement("location", DECOUPLED, phrases.location_published(model, path, entry))


def judge_space(model: Model, path: Path) -> Judgement:
    entry = model.channels[path.producer.channel_id]
    last = model.channels[path.links[-1].channel_id]
    if entry.kind == DIRECT:
        return Judgement("space", COUPLED, phrases.space_no_broker(path))
    return Judgement("space", DECOUPLED, phrases.space_broker_between(path, entry, last))


def judge_topology(model: Model, path: Path) -> Judgement:
    consumer = path.consumer
    entry, final = model.channels[path.producer.channel_id], path.links[-1]
    last = model.channels[final.channel_id]
    if entry.kind == DIRECT:
        return Judgement("topology", COUPLED, phrases.topology_one_callee(path))
    if final.mirror_of is not None:
        return Judgement("topology", DECOUPLED, phrases.topology_mirror(model, path, last))
    if last.kind == QUEUE:
        readers = competitors(model, last.id)
        others = [model.consumers[cid] for cid, svc in readers.items() if svc != consumer.service]
        if others:
            return Judgement("topology", COUPLED, phrases.topology_shared_queue(path, last, others))
        workers = sum(1 for service in readers.values() if service == consumer.service)
        if last.id != entry.id:
            feeder = model.channels[path.links[-2].channel_id] if len(path.links) > 1 else entry
            reason = phrases.topology_own_queue(path, last, feeder, workers)
            return Judgement("topology", DECOUPLED, reason)
        if all(e.type.kind == "command" for e in path.carries):
            reason = phrases.topology_commands_once(path, last, workers)
            return Judgement("topology", DECOUPLED, reason)
        reason = phrases.topology_events_on_a_queue(path, last, workers)
        return Judgement("topology", PARTLY, reason)
    return Judgement("topology", DECOUPLED, phrases.topology_subscribed(model, path, last))


def judge_data(model: Model, path: Path) -> Judgement:
    expects = path.consumer.expects
    transformer = next((link for link in reversed(path.links) if link.template), None)
    if transformer is not None:
        verdict, reason = _judge_transformed(path, transformer)
    elif expects is None:
        verdict, reason = IMPLICIT, phrases.data_undeclared(path)
    else:
        broken = [
            (e, [f for f in expects.required if f not in e.type.required]) for e in path.carries
        ]
        broken = [(e, missing) for e, missing in broken if missing]
        pinned = [
            e
            for e in path.carries
            if e.type.name == expects.name and e.type.version != expects.version
        ]
        if broken:
            verdict, reason = COUPLED, phrases.data_not_guaranteed(path, expects, broken)
        elif pinned:
            verdict, reason = PARTLY, phrases.data_pinned(path, expects, pinned)
        else:
            verdict, reason = DECOUPLED, phrases.data_guaranteed(path, expects)
    weak = _unguaranteed_routing(path)
    if weak:
        verdict = _worst(verdict, PARTLY)
        reason += phrases.data_routing_reads(path, weak)
    return Judgement("data", verdict, reason)


def _judge_transformed(path: Path, link: Link) -> tuple[str, str]:
    expects = path.consumer.expects
    sources = _detail_fields(link.paths_map)
    output = template_fields(link.template)
    reason = phrases.data_transformed(path, link.rule, output, sources)
    verdict = DECOUPLED
    if expects is not None:
        missing = [f for f in expects.required if output is not None and f not in output]
        if missing:
            verdict = COUPLED
            reason += phrases.template_lacks(expects, missing)
        else:
            reason += phrases.template_complete(expects)
    unguaranteed = sorted({f for e in path.carries for f in sources if f not in e.type.required})
    if unguaranteed:
        verdict = _worst(verdict, PARTLY)
        reason += phrases.producer_leaves_out(unguaranteed)
    return verdict, reason


def _worst(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def verdict_summary(reports: Iterable[PathReport]) -> list[dict[str, Any]]:
    """Per dimension, how many paths got each verdict (for the page's header)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for report in reports:
        for judgement in report.judgements:
            counts[judgement.dimension][judgement.verdict] += 1
    return [
        {
            "key": key,
            "title": title,
            "question": question,
            "counts": [(v, counts[key][v]) for v in (COUPLED, PARTLY, IMPLICIT, DECOUPLED)],
        }
        for key, title, question in DIMENSIONS
    ]


# --- which fields a path relies on ---------------------------------------------------------


def _unguaranteed_routing(path: Path) -> list[str]:
    """Detail fields that rules and body filter policies on the path read but are optional."""
    weak: set[str] = set()
    for link in path.links:
        fields: list[str] = []
        rule: str | None = None
        if isinstance(link.pattern, dict) and isinstance(link.pattern.get("detail"), dict):
            fields, rule = _keys(link.pattern["detail"]), link.rule
        elif link.filter_policy is not None and link.filter_scope == "MessageBody":
            fields = _keys(link.filter_policy)
        for name in fields:
            if any(name not in e.type.required for e in path.carries):
                weak.add(phrases.routing_field(name, rule))
    return sorted(weak)


def _keys(node: Any) -> list[str]:
    """Top-level field names a pattern or filter policy tests ($or branches included)."""
    if not isinstance(node, dict):
        return []
    names: list[str] = []
    for key, value in node.items():
        if key == "$or" and isinstance(value, list):
            for branch in value:
                names.extend(_keys(branch))
        elif not key.startswith("$"):
            names.append(key)
    return names


def _detail_fields(paths_map: Mapping[str, str] | None) -> list[str]:
    """Top-level detail fields an InputPathsMap reads ($.detail.total -> total)."""
    fields = []
    for value in (paths_map or {}).values():
        parts = str(value).split(".")
        if len(parts) >= 3 and parts[:2] == ["$", "detail"]:
            name = parts[2].split("[", 1)[0]
            if name and name != "*" and name not in fields:
                fields.append(name)
    return fields


def template_fields(template: str) -> list[str] | None:
    """The keys of the object an InputTemplate makes, or None when it makes no object."""
    text = template.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        value = json.loads(_PLACEHOLDER.sub("null", text))
    except ValueError:
        return None
    return list(value) if isinstance(value, dict) else None
