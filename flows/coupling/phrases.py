"""The wording of the coupling report: every reason sentence, built from the model's names.

The judges decide the verdict and which case a path is in; the sentence for that case is
written here, once. Nothing is typed per scenario: each sentence names what the model holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flows.coupling.model import (
    BUS,
    TOPIC,
    ChannelInfo,
    ConsumerInfo,
    Emitted,
    Link,
    MissedEvents,
    Model,
    Path,
    TypeInfo,
)

# --- time ----------------------------------------------------------------------------------


def time_call_waits(path: Path, entry: ChannelInfo) -> str:
    p, c = path.producer.name, path.consumer.name
    reason = (
        f"{p} calls {c} through {entry.name} and waits for each answer: while {c} is slow, "
        f"{p} is slow, and while it is offline every call fails at {p}."
    )
    away = windows(path.consumer.offline)
    if away:
        reason += f" The script takes {c} offline {away}: the calls in between fail."
    return reason


def _hands_off(path: Path, entry: ChannelInfo) -> str:
    return f"{path.producer.name} hands each message to {entry.title} and goes on without waiting."


def time_mirrored_copy(path: Path, entry: ChannelInfo) -> str:
    c = path.consumer.name
    return _hands_off(path, entry) + (
        f" {c} gets a mirrored copy, pushed once; if {c} is away that copy is "
        "dead-lettered, and nobody waits for it."
    )


def time_kept_in_queue(path: Path, entry: ChannelInfo, queue: ChannelInfo) -> str:
    c = path.consumer.name
    reason = _hands_off(path, entry)
    reason += f" {cap(queue.title)} keeps it until {c} receives it, however late."
    away = windows(path.consumer.offline)
    if away:
        reason += f" The script takes {c} offline {away}: its messages wait in {queue.name}."
    return reason


def time_pushed(path: Path, entry: ChannelInfo, last: ChannelInfo, max_retries: int) -> str:
    c = path.consumer.name
    tries = f"retrying {max_retries} times while {c} is unavailable" if max_retries else "once"
    reason = _hands_off(path, entry)
    reason += f" {cap(last.title)} pushes it to {c}, {tries}, then dead-letters it."
    away = windows(path.consumer.offline)
    if away:
        reason += f" The script takes {c} offline {away}: pushes meanwhile are retried."
    return reason


# --- location ------------------------------------------------------------------------------


def location_callee_named(path: Path, entry: ChannelInfo) -> str:
    p, c = path.producer.name, path.consumer.name
    return (
        f"{p} names its callee: {entry.name} is a call to {c}, so {p} must know where "
        f"{c} is and that it is the one to answer."
    )


def location_queue_addressed(model: Model, path: Path, entry: ChannelInfo) -> str:
    p, c = path.producer.name, path.consumer.name
    final = path.links[-1]
    if final.mirror_of is not None:
        whom = f"it knows nothing of {c}, which mirrors {consumer_name(model, final.mirror_of)}"
    else:
        whom = (
            f"the queue picks the worker, but {p} still has to know which queue "
            f"{path.consumer.service} reads"
        )
    return f"{p} addresses queue {entry.name}, not {c}: {whom}."


def location_published(model: Model, path: Path, entry: ChannelInfo) -> str:
    how = " and then ".join(link_phrases(model, path))
    return (
        f"{path.producer.name} publishes to {entry.title} and names no receiver: "
        f"{path.consumer.name} gets it through {how}."
    )


# --- space ---------------------------------------------------------------------------------


def space_no_broker(path: Path) -> str:
    return (
        f"No broker between them: {path.producer.name} must reach {path.consumer.name} over "
        "the network, and both must be up and reachable at the same moment."
    )


def space_broker_between(path: Path, entry: ChannelInfo, last: ChannelInfo) -> str:
    p, c = path.producer.name, path.consumer.name
    if entry.id == last.id:
        where = f"{p} and {c} only need to reach {entry.title}"
    else:
        where = f"{p} only needs to reach {entry.title}, and {c} only {last.title}"
    return f"A broker sits between them: {where}; neither needs the other's host or address."


# --- topology ------------------------------------------------------------------------------


def topology_one_callee(path: Path) -> str:
    return (
        f"A direct call has exactly one callee ({path.consumer.name}): another consumer of "
        f"these messages means another call in {path.producer.name}."
    )


def topology_mirror(model: Model, path: Path, last: ChannelInfo) -> str:
    p, c = path.producer.name, path.consumer.name
    primary = consumer_name(model, path.links[-1].mirror_of)
    return (
        f"{c} mirrors {primary} on {last.name}: it gets a copy of every message {primary} "
        f"receives, without competing, and neither {p} nor {primary} changes."
    )


def topology_shared_queue(path: Path, queue: ChannelInfo, others: Iterable[ConsumerInfo]) -> str:
    named = sorted({f"{o.name} ({o.service})" for o in others})
    return (
        f"{queue.name} is shared with another service: {join(named)}. They compete, "
        f"so each message reaches only one of them and {path.consumer.service} misses what "
        "the other takes. A topic with one queue per service would give each service "
        "every message."
    )


def _crew(path: Path, queue: ChannelInfo, workers: int) -> str:
    service = path.consumer.service
    if workers > 1:
        return f"{workers} workers of {service} compete on {queue.name} by design"
    return f"{path.consumer.name} reads {queue.name} alone"


def topology_own_queue(path: Path, queue: ChannelInfo, feeder: ChannelInfo, workers: int) -> str:
    return (
        f"{queue.name} is {path.consumer.service}'s own queue, fed by {feeder.title}: another "
        f"consumer is one more {addition(feeder)} there, and {path.producer.name} is "
        f"untouched. {_crew(path, queue, workers)}."
    )


def topology_commands_once(path: Path, queue: ChannelInfo, workers: int) -> str:
    return (
        f"{_crew(path, queue, workers)}: each command is handled once, as a command should "
        f"be, and adding a worker of {path.consumer.service} needs no change to "
        f"{path.producer.name}."
    )


def topology_events_on_a_queue(path: Path, queue: ChannelInfo, workers: int) -> str:
    service, p = path.consumer.service, path.producer.name
    return (
        f"{_crew(path, queue, workers)}, but another service that wants these events would "
        f"compete with {service} on {queue.name}: it needs its own queue, which means "
        f"changing {p} (or publishing to a topic)."
    )


def topology_subscribed(model: Model, path: Path, last: ChannelInfo) -> str:
    return (
        f"{path.consumer.name} gets it through {link_phrases(model, path)[-1]} on "
        f"{last.title}: another consumer is one more {addition(last)}, and "
        f"{path.producer.name} is untouched."
    )


def missed_text(figure: MissedEvents, run_label: str = "") -> str:
    where = f"In {run_label}, " if run_label else ""
    return (
        f"{where}{figure.service} received {figure.received} of the {figure.messages} "
        f"messages of {figure.queue} and missed {figure.missed}."
    )


# --- data ----------------------------------------------------------------------------------


def carried(path: Path) -> str:
    """What the path carries, e.g. ``OrderPlaced v1 and OrderPlaced v2 (from 30 s, ...)``."""
    return join(sorted({emitted_text(e) for e in path.carries}))


def data_undeclared(path: Path) -> str:
    return (
        f"{path.consumer.name} declares no expected type: nothing checks what it reads from "
        f"{carried(path)}, so any field it uses is an unwritten dependency."
    )


def _needs(expects: TypeInfo) -> str:
    return join(list(expects.required)) or "no field"


def data_not_guaranteed(
    path: Path, expects: TypeInfo, broken: Sequence[tuple[Emitted, list[str]]]
) -> str:
    c, p = path.consumer.name, path.producer.name
    problems = "; ".join(
        f"{emitted_text(e)} does not guarantee {join(missing)}" for e, missing in broken
    )
    return (
        f"{c} expects {expects.label}, which requires {_needs(expects)}, but {p} sends what it "
        f"cannot rely on: {problems}. Those messages fail validation at {c}."
    )


def data_pinned(path: Path, expects: TypeInfo, pinned: Iterable[Emitted]) -> str:
    c, p = path.consumer.name, path.producer.name
    return (
        f"{c} is pinned to {expects.label} while {p} sends "
        f"{join(sorted({emitted_text(e) for e in pinned}))}, which still guarantees "
        f"every field {c} requires ({_needs(expects)}); {c} validates it against the old schema."
    )


def data_guaranteed(path: Path, expects: TypeInfo) -> str:
    return (
        f"{path.consumer.name} expects {expects.label} and {path.producer.name} sends "
        f"{carried(path)}: every field it requires ({_needs(expects)}) is guaranteed."
    )


def routing_field(name: str, rule: str | None) -> str:
    """A detail field routing reads: ``detail.amount (rule big)``, or by a filter policy."""
    where = f"rule {rule}" if rule is not None else "a filter policy"
    return f"detail.{name} ({where})"


def data_routing_reads(path: Path, weak: list[str]) -> str:
    return (
        f" Routing reads {join(weak)}, which what {path.producer.name} sends does not "
        "guarantee: such messages would quietly stop matching."
    )


def data_transformed(path: Path, rule: str, output: list[str] | None, sources: list[str]) -> str:
    c = path.consumer.name
    reason = f"Rule {rule}'s input transformer reshapes the payload for {c}"
    if output is not None:
        reason += " into {" + ", ".join(output) + "}"
    if sources:
        reason += f", taken from {join(sources)} of {carried(path)}"
    return reason + f": {c} depends on the rule's template, not on the producer's schema."


def template_lacks(expects: TypeInfo, missing: list[str]) -> str:
    return f" It expects {expects.label}, whose {join(missing)} the template does not produce."


def template_complete(expects: TypeInfo) -> str:
    return f" The template produces every field {expects.label} requires."


def producer_leaves_out(fields: list[str]) -> str:
    return f" The producer does not guarantee {join(fields)}, so those values may arrive empty."


# --- names and small words -----------------------------------------------------------------


def via(model: Model, link: Link) -> str:
    """How a message got to a stop of a path: a rule, a filter, a transformer, a mirror."""
    parts = []
    if link.rule:
        parts.append(f"rule {link.rule}")
    if link.filter_policy is not None:
        parts.append("filter policy")
    if link.template:
        parts.append("input transformer")
    if link.mirror_of is not None:
        parts.append(f"mirror of {consumer_name(model, link.mirror_of)}")
    return ", ".join(parts)


def link_phrases(model: Model, path: Path) -> list[str]:
    """How the broker moves the message on, one phrase per link that is a choice."""
    phrases = []
    for link in path.links:
        channel = model.channels[link.channel_id]
        if link.rule:
            phrases.append(f"rule {link.rule}")
        elif link.mirror_of is not None:
            phrases.append(f"a mirror of {consumer_name(model, link.mirror_of)}")
        elif channel.kind == TOPIC:
            whose = (
                f"the subscription of {model.channels[link.target_id].title}"
                if link.target_id is not None
                else "its own subscription"
            )
            policy = " with a filter policy" if link.filter_policy is not None else ""
            phrases.append(whose + policy)
    return phrases or ["the broker"]


def addition(channel: ChannelInfo) -> str:
    """What adding a consumer takes on a channel."""
    if channel.kind == BUS:
        return "rule or target"
    return "subscription"


def consumer_name(model: Model, consumer_id: int | None) -> str:
    consumer = model.consumers.get(consumer_id) if consumer_id is not None else None
    return consumer.name if consumer else "?"


def windows(spans: Iterable[tuple[float, float | None]]) -> str:
    parts = [
        f"from {seconds(start)} to {seconds(end)}"
        if end is not None
        else f"from {seconds(start)} on"
        for start, end in spans
    ]
    return join(parts)


def seconds(value: float) -> str:
    return f"{value:g} s"


def emitted_text(emitted: Emitted) -> str:
    if emitted.since is None:
        return emitted.type.label
    return f"{emitted.type.label} (from {seconds(emitted.since)}, by the script)"


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
