"""The coupling report: every producer -> consumer path, judged on five kinds of coupling.

Three layers, so the judging can be tested without a database:

1. ``snapshot`` reads a topology into plain, frozen data (``Model``): channels, consumers,
   producers with the message types they emit (including versions a script switches to),
   and the links out of each channel (subscriptions, mirrors, rule targets).
2. ``find_paths`` follows the links the way the engine routes (a direct call reaches its
   first subscriber only; a rule whose pattern names other detail-types or sources carries
   none of the producer's types), and ``judge_path`` gives each path a verdict and a reason
   per dimension. Every reason is built from the model; none is typed per scenario.
3. ``missed_events`` counts, from a run's hops, what each service competing with another
   service on one queue never received; ``coupling_report`` puts it all together for a page.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows import ids
from flows.engine.semantics import MAX_ROUTING_DEPTH, direct_callee
from flows.models import ChannelKind, HopStage, Rule, Run, Subscription, Topology

COUPLED = "coupled"
PARTLY = "partly"
DECOUPLED = "decoupled"
IMPLICIT = "implicit"  # data: the consumer declares nothing, so nothing can be checked
_RANK = {DECOUPLED: 0, IMPLICIT: 1, PARTLY: 2, COUPLED: 3}

DIMENSIONS: tuple[tuple[str, str, str], ...] = (
    ("time", "Time", "Does the producer wait for the consumer?"),
    ("location", "Location", "Does the producer address the consumer?"),
    ("space", "Space / network", "Must both be reachable at once, or only a broker?"),
    ("topology", "Topology", "Can a consumer be added without touching the producer?"),
    ("data", "Data / schema", "Does the consumer rely on what the producer does not guarantee?"),
)

_KIND_WORD = {
    ChannelKind.QUEUE: "queue",
    ChannelKind.TOPIC: "topic",
    ChannelKind.BUS: "bus",
    ChannelKind.DIRECT: "direct call",
}
_PLACEHOLDER = re.compile(r"<[A-Za-z0-9_.\-]+>")


# --- plain data --------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeInfo:
    name: str
    version: int
    kind: str = "event"
    source: str = ""
    required: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


@dataclass(frozen=True)
class Emitted:
    """A message type a producer sends; ``since`` is set when a script switches to it."""

    type: TypeInfo
    since: float | None = None


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    name: str
    kind: str

    @property
    def node(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def title(self) -> str:
        return f"{_KIND_WORD.get(self.kind, self.kind)} {self.name}"


@dataclass(frozen=True)
class ConsumerInfo:
    id: int
    name: str
    service: str
    expects: TypeInfo | None = None
    offline: tuple[tuple[float, float | None], ...] = ()  # (from, to) seconds, from the script

    @property
    def node(self) -> str:
        return ids.consumer_node(self.id)


@dataclass(frozen=True)
class ProducerInfo:
    id: int
    name: str
    channel_id: int
    emits: tuple[Emitted, ...] = ()

    @property
    def node(self) -> str:
        return ids.producer_node(self.id)


@dataclass(frozen=True)
class Link:
    """One way out of a channel: a subscription, a mirror, or a rule's target."""

    channel_id: int  # the channel it leaves
    edge: str
    consumer_id: int | None = None
    target_id: int | None = None  # a channel, when it leads to another channel
    rule: str = ""
    pattern: Any = None
    filter_policy: Any = None
    filter_scope: str = "MessageAttributes"
    max_retries: int = 3
    mirror_of: int | None = None  # the consumer id of the mirrored (primary) subscription
    paths_map: Mapping[str, str] | None = None
    template: str = ""


@dataclass(frozen=True)
class Model:
    slug: str
    channels: Mapping[int, ChannelInfo]
    consumers: Mapping[int, ConsumerInfo]
    producers: tuple[ProducerInfo, ...]
    links: Mapping[int, tuple[Link, ...]]  # channel id -> links out of it, in engine order


@dataclass(frozen=True)
class Path:
    producer: ProducerInfo
    links: tuple[Link, ...]
    consumer: ConsumerInfo
    carries: tuple[Emitted, ...]  # what the producer sends that can take this path


@dataclass(frozen=True)
class MissedEvents:
    """One service on a queue it shares with other services, in one run."""

    queue: str
    queue_node: str
    service: str
    consumers: tuple[str, ...]
    messages: int  # messages of the queue received by any of its services
    received: int  # ... by this service
    missed: int  # ... by another service and never by this one


@dataclass(frozen=True)
class Judgement:
    dimension: str
    verdict: str
    reason: str
    figure: str = ""  # a figure from the latest run's hops, where one applies


@dataclass(frozen=True)
class Step:
    """One stop of a path as the page draws it."""

    label: str
    kind: str  # producer, queue, topic, bus, direct, consumer
    node: str
    via: str = ""  # how the message got here: a rule, a filter, a mirror


@dataclass(frozen=True)
class PathReport:
    producer: str
    consumer: str
    consumer_node: str
    steps: tuple[Step, ...]
    judgements: tuple[Judgement, ...]

    def verdict(self, dimension: str) -> str:
        return next(j.verdict for j in self.judgements if j.dimension == dimension)

    def reason(self, dimension: str) -> str:
        return next(j.reason for j in self.judgements if j.dimension == dimension)


# --- paths ---------------------------------------------------------------------------------


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
    if model.channels[channel_id].kind == ChannelKind.DIRECT:
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


def shared_queues(model: Model) -> dict[int, dict[int, str]]:
    """Queues read by consumers of more than one service: queue id -> {consumer id: service}."""
    shared: dict[int, dict[int, str]] = {}
    for channel in model.channels.values():
        if channel.kind != ChannelKind.QUEUE:
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


# --- judging -------------------------------------------------------------------------------


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
        topology = dataclasses.replace(topology, figure=missed_text(figure, run_label))
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
    p, c = path.producer.name, path.consumer.name
    entry, final = model.channels[path.producer.channel_id], path.links[-1]
    last = model.channels[final.channel_id]
    away = _windows(path.consumer.offline)
    if entry.kind == ChannelKind.DIRECT:
        reason = (
            f"{p} calls {c} through {entry.name} and waits for each answer: while {c} is slow, "
            f"{p} is slow, and while it is offline every call fails at {p}."
        )
        if away:
            reason += f" The script takes {c} offline {away}: the calls in between fail."
        return Judgement("time", COUPLED, reason)
    reason = f"{p} hands each message to {entry.title} and goes on without waiting."
    if final.mirror_of is not None:
        reason += (
            f" {c} gets a mirrored copy, pushed once; if {c} is away that copy is "
            "dead-lettered, and nobody waits for it."
        )
    elif last.kind == ChannelKind.QUEUE:
        reason += f" {_cap(last.title)} keeps it until {c} receives it, however late."
        if away:
            reason += f" The script takes {c} offline {away}: its messages wait in {last.name}."
    else:
        tries = (
            f"retrying {final.max_retries} times while {c} is unavailable"
            if final.max_retries
            else "once"
        )
        reason += f" {_cap(last.title)} pushes it to {c}, {tries}, then dead-letters it."
        if away:
            reason += f" The script takes {c} offline {away}: pushes meanwhile are retried."
    return Judgement("time", DECOUPLED, reason)


def judge_location(model: Model, path: Path) -> Judgement:
    p, c = path.producer.name, path.consumer.name
    entry = model.channels[path.producer.channel_id]
    if entry.kind == ChannelKind.DIRECT:
        return Judgement(
            "location",
            COUPLED,
            f"{p} names its callee: {entry.name} is a call to {c}, so {p} must know where "
            f"{c} is and that it is the one to answer.",
        )
    if entry.kind == ChannelKind.QUEUE:
        final = path.links[-1]
        if final.mirror_of is not None:
            primary = _consumer_name(model, final.mirror_of)
            whom = f"it knows nothing of {c}, which mirrors {primary}"
        else:
            whom = (
                f"the queue picks the worker, but {p} still has to know which queue "
                f"{path.consumer.service} reads"
            )
        return Judgement("location", PARTLY, f"{p} addresses queue {entry.name}, not {c}: {whom}.")
    how = " and then ".join(_link_phrases(model, path))
    return Judgement(
        "location",
        DECOUPLED,
        f"{p} publishes to {entry.title} and names no receiver: {c} gets it through {how}.",
    )


def judge_space(model: Model, path: Path) -> Judgement:
    p, c = path.producer.name, path.consumer.name
    entry = model.channels[path.producer.channel_id]
    last = model.channels[path.links[-1].channel_id]
    if entry.kind == ChannelKind.DIRECT:
        return Judgement(
            "space",
            COUPLED,
            f"No broker between them: {p} must reach {c} over the network, and both must be "
            "up and reachable at the same moment.",
        )
    if entry.id == last.id:
        where = f"{p} and {c} only need to reach {entry.title}"
    else:
        where = f"{p} only needs to reach {entry.title}, and {c} only {last.title}"
    return Judgement(
        "space",
        DECOUPLED,
        f"A broker sits between them: {where}; neither needs the other's host or address.",
    )


def judge_topology(model: Model, path: Path) -> Judgement:
    p, consumer = path.producer.name, path.consumer
    c = consumer.name
    entry, final = model.channels[path.producer.channel_id], path.links[-1]
    last = model.channels[final.channel_id]
    if entry.kind == ChannelKind.DIRECT:
        return Judgement(
            "topology",
            COUPLED,
            f"A direct call has exactly one callee ({c}): another consumer of these messages "
            f"means another call in {p}.",
        )
    if final.mirror_of is not None:
        primary = _consumer_name(model, final.mirror_of)
        return Judgement(
            "topology",
            DECOUPLED,
            f"{c} mirrors {primary} on {last.name}: it gets a copy of every message {primary} "
            f"receives, without competing, and neither {p} nor {primary} changes.",
        )
    if last.kind == ChannelKind.QUEUE:
        readers = competitors(model, last.id)
        others = sorted(
            {
                f"{model.consumers[cid].name} ({service})"
                for cid, service in readers.items()
                if service != consumer.service
            }
        )
        if others:
            return Judgement(
                "topology",
                COUPLED,
                f"{last.name} is shared with another service: {_join(others)}. They compete, "
                f"so each message reaches only one of them and {consumer.service} misses what "
                "the other takes. A topic with one queue per service would give each service "
                "every message.",
            )
        workers = sum(1 for service in readers.values() if service == consumer.service)
        crew = (
            f"{workers} workers of {consumer.service} compete on {last.name} by design"
            if workers > 1
            else f"{c} reads {last.name} alone"
        )
        if last.id != entry.id:
            feeder = model.channels[path.links[-2].channel_id] if len(path.links) > 1 else entry
            return Judgement(
                "topology",
                DECOUPLED,
                f"{last.name} is {consumer.service}'s own queue, fed by {feeder.title}: another "
                f"consumer is one more {_addition(feeder)} there, and {p} is untouched. {crew}.",
            )
        if all(e.type.kind == "command" for e in path.carries):
            return Judgement(
                "topology",
                DECOUPLED,
                f"{crew}: each command is handled once, as a command should be, and adding a "
                f"worker of {consumer.service} needs no change to {p}.",
            )
        return Judgement(
            "topology",
            PARTLY,
            f"{crew}, but another service that wants these events would compete with "
            f"{consumer.service} on {last.name}: it needs its own queue, which means changing "
            f"{p} (or publishing to a topic).",
        )
    return Judgement(
        "topology",
        DECOUPLED,
        f"{c} gets it through {_link_phrases(model, path)[-1]} on {last.title}: another "
        f"consumer is one more {_addition(last)}, and {p} is untouched.",
    )


def judge_data(model: Model, path: Path) -> Judgement:
    c, expects = path.consumer.name, path.consumer.expects
    p = path.producer.name
    carried = _join(sorted({_emitted_text(e) for e in path.carries}))
    transformer = next((link for link in reversed(path.links) if link.template), None)
    if transformer is not None:
        verdict, reason = _judge_transformed(path, transformer, carried)
    elif expects is None:
        verdict = IMPLICIT
        reason = (
            f"{c} declares no expected type: nothing checks what it reads from {carried}, "
            "so any field it uses is an unwritten dependency."
        )
    else:
        needs = _join(list(expects.required)) or "no field"
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
            verdict = COUPLED
            problems = "; ".join(
                f"{_emitted_text(e)} does not guarantee {_join(missing)}" for e, missing in broken
            )
            reason = (
                f"{c} expects {expects.label}, which requires {needs}, but {p} sends what it "
                f"cannot rely on: {problems}. Those messages fail validation at {c}."
            )
        elif pinned:
            verdict = PARTLY
            reason = (
                f"{c} is pinned to {expects.label} while {p} sends "
                f"{_join(sorted({_emitted_text(e) for e in pinned}))}, which still guarantees "
                f"every field {c} requires ({needs}); {c} validates it against the old schema."
            )
        else:
            verdict = DECOUPLED
            reason = (
                f"{c} expects {expects.label} and {p} sends {carried}: every field it requires "
                f"({needs}) is guaranteed."
            )
    weak = _unguaranteed_routing(model, path)
    if weak:
        verdict = _worst(verdict, PARTLY)
        reason += (
            f" Routing reads {_join(weak)}, which what {p} sends does not guarantee: "
            "such messages would quietly stop matching."
        )
    return Judgement("data", verdict, reason)


def _judge_transformed(path: Path, link: Link, carried: str) -> tuple[str, str]:
    c, expects = path.consumer.name, path.consumer.expects
    sources = _detail_fields(link.paths_map)
    output = template_fields(link.template)
    reason = f"Rule {link.rule}'s input transformer reshapes the payload for {c}"
    if output is not None:
        reason += " into {" + ", ".join(output) + "}"
    if sources:
        reason += f", taken from {_join(sources)} of {carried}"
    reason += f": {c} depends on the rule's template, not on the producer's schema."
    verdict = DECOUPLED
    if expects is not None:
        missing = [f for f in expects.required if output is not None and f not in output]
        if missing:
            verdict = COUPLED
            reason += (
                f" It expects {expects.label}, whose {_join(missing)} the template does not "
                "produce."
            )
        else:
            reason += f" The template produces every field {expects.label} requires."
    unguaranteed = sorted({f for e in path.carries for f in sources if f not in e.type.required})
    if unguaranteed:
        verdict = _worst(verdict, PARTLY)
        reason += (
            f" The producer does not guarantee {_join(unguaranteed)}, so those values may "
            "arrive empty."
        )
    return verdict, reason


def route(model: Model, path: Path) -> tuple[Step, ...]:
    entry = model.channels[path.producer.channel_id]
    steps = [
        Step(path.producer.name, "producer", path.producer.node),
        Step(entry.name, entry.kind, entry.node),
    ]
    for link in path.links:
        via = _via(model, link)
        if link.target_id is not None:
            target = model.channels[link.target_id]
            steps.append(Step(target.name, target.kind, target.node, via))
        else:
            steps.append(Step(path.consumer.name, "consumer", path.consumer.node, via))
    return tuple(steps)


def _via(model: Model, link: Link) -> str:
    parts = []
    if link.rule:
        parts.append(f"rule {link.rule}")
    if link.filter_policy is not None:
        parts.append("filter policy")
    if link.template:
        parts.append("input transformer")
    if link.mirror_of is not None:
        parts.append(f"mirror of {_consumer_name(model, link.mirror_of)}")
    return ", ".join(parts)


# --- small helpers -------------------------------------------------------------------------


def _link_phrases(model: Model, path: Path) -> list[str]:
    """How the broker moves the message on, one phrase per link that is a choice."""
    phrases = []
    for link in path.links:
        channel = model.channels[link.channel_id]
        if link.rule:
            phrases.append(f"rule {link.rule}")
        elif link.mirror_of is not None:
            phrases.append(f"a mirror of {_consumer_name(model, link.mirror_of)}")
        elif channel.kind == ChannelKind.TOPIC:
            whose = (
                f"the subscription of {model.channels[link.target_id].title}"
                if link.target_id is not None
                else "its own subscription"
            )
            policy = " with a filter policy" if link.filter_policy is not None else ""
            phrases.append(whose + policy)
    return phrases or ["the broker"]


def _addition(channel: ChannelInfo) -> str:
    if channel.kind == ChannelKind.BUS:
        return "rule or target"
    return "subscription"


def _consumer_name(model: Model, consumer_id: int | None) -> str:
    consumer = model.consumers.get(consumer_id) if consumer_id is not None else None
    return consumer.name if consumer else "?"


def _unguaranteed_routing(model: Model, path: Path) -> list[str]:
    """Detail fields that rules and body filter policies on the path read but are optional."""
    weak: set[str] = set()
    for link in path.links:
        fields: list[str] = []
        where = ""
        if isinstance(link.pattern, dict) and isinstance(link.pattern.get("detail"), dict):
            fields, where = _keys(link.pattern["detail"]), f"rule {link.rule}"
        elif link.filter_policy is not None and link.filter_scope == "MessageBody":
            fields, where = _keys(link.filter_policy), "a filter policy"
        for name in fields:
            if any(name not in e.type.required for e in path.carries):
                weak.add(f"detail.{name} ({where})")
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


def _windows(windows: Iterable[tuple[float, float | None]]) -> str:
    parts = [
        f"from {_seconds(start)} to {_seconds(end)}"
        if end is not None
        else f"from {_seconds(start)} on"
        for start, end in windows
    ]
    return _join(parts)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _emitted_text(emitted: Emitted) -> str:
    if emitted.since is None:
        return emitted.type.label
    return f"{emitted.type.label} (from {_seconds(emitted.since)}, by the script)"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _worst(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def missed_text(figure: MissedEvents, run_label: str = "") -> str:
    where = f"In {run_label}, " if run_label else ""
    return (
        f"{where}{figure.service} received {figure.received} of the {figure.messages} "
        f"messages of {figure.queue} and missed {figure.missed}."
    )


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


# --- script facts --------------------------------------------------------------------------


def offline_windows(
    script: Iterable[dict[str, Any]], initially_offline: Iterable[str] = ()
) -> dict[str, list[tuple[float, float | None]]]:
    """When each consumer is offline during a run: consumer name -> [(from, to), ...]."""
    opened: dict[str, float] = {name: 0.0 for name in initially_offline}
    windows: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    steps = [s for s in script if isinstance(s, dict) and "consumer" in s]
    for step in sorted(steps, key=lambda s: s.get("at", 0)):
        online = (step.get("set") or {}).get("online")
        name, at = step["consumer"], float(step.get("at", 0))
        if online is False and name not in opened:
            opened[name] = at
        elif online is True and name in opened:
            windows[name].append((opened.pop(name), at))
    for name, start in opened.items():
        windows[name].append((start, None))
    return {name: sorted(spans, key=lambda w: w[0]) for name, spans in windows.items()}


def version_switches(
    script: Iterable[dict[str, Any]], types: Mapping[tuple[str, int], TypeInfo]
) -> dict[str, list[Emitted]]:
    """Message types producers switch to during a run: producer name -> [Emitted, ...]."""
    switches: dict[str, list[Emitted]] = defaultdict(list)
    for step in script:
        if not isinstance(step, dict) or "producer" not in step or "emit" not in step:
            continue
        emit = step["emit"]
        mtype = types.get((emit.get("type"), emit.get("version")))
        if mtype is not None:
            switches[step["producer"]].append(Emitted(mtype, float(step.get("at", 0))))
    return dict(switches)


# --- reading the database ------------------------------------------------------------------


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
