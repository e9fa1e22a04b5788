"""The coupling report's plain, frozen data: a topology as the judges see it, and their output.

No Django here: ``flows.coupling.store`` fills these from the database, and the pure modules
(paths, judges, phrases) and their tests work on them alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows import ids

# Channel kinds as the engine and the stored rows spell them; flows/ids.py spells them once.
QUEUE, TOPIC, BUS, DIRECT = ids.CHANNEL_KINDS

COUPLED = "coupled"
PARTLY = "partly"
DECOUPLED = "decoupled"
IMPLICIT = "implicit"  # data: the consumer declares nothing, so nothing can be checked

DIMENSIONS: tuple[tuple[str, str, str], ...] = (
    ("time", "Time", "Does the producer wait for the consumer?"),
    ("location", "Location", "Does the producer address the consumer?"),
    ("space", "Space / network", "Must both be reachable at once, or only a broker?"),
    ("topology", "Topology", "Can a consumer be added without touching the producer?"),
    ("data", "Data / schema", "Does the consumer rely on what the producer does not guarantee?"),
)

KIND_WORD = {QUEUE: "queue", TOPIC: "topic", BUS: "bus", DIRECT: "direct call"}


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
        return ids.channel_node(self.kind, self.id)

    @property
    def title(self) -> str:
        return f"{KIND_WORD.get(self.kind, self.kind)} {self.name}"


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
