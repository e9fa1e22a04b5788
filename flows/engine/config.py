"""An immutable, compiled view of one topology: what the engine routes with.

Built from the database by ``flows.selectors.topology_config`` and rebuilt whenever the
topology's config version in Redis changes (an edit in admin), so edits reach a running
simulation without restarting workers.

Nothing changes a config once it is built: a run's script overrides (``script.
apply_override``) make a new config that shares every unchanged part with the old one.
Only the fields the engine reads are here; the rest of a topology stays in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonschema

from flows import ids
from flows.routing import EventPattern, FilterPolicy, InputTransformer, RuleIndex


@dataclass(frozen=True)
class ChannelCfg:
    id: int
    name: str
    kind: str
    visibility_timeout_ms: int
    max_receives: int | None
    dlq_id: int | None
    fifo: bool
    archive_pattern: EventPattern | None  # set only when the bus archives
    archive_all: bool = False
    delay_ms: int = 0  # a queue's DelaySeconds (what an SQS send without one gets)
    content_dedup: bool = False  # a FIFO queue's ContentBasedDeduplication

    @property
    def node(self) -> str:
        return ids.channel_node(self.kind, self.id)


@dataclass(frozen=True)
class ConsumerCfg:
    id: int
    name: str
    latency_mean_ms: float
    latency_jitter_ms: float
    failure_rate: float
    concurrency: int
    online: bool
    idempotent: bool
    schema_label: str | None = None
    validator: Any = None  # a jsonschema validator of the expected type, or None

    @property
    def node(self) -> str:
        return ids.consumer_node(self.id)

    def schema_error(self, body: Any) -> str | None:
        if self.validator is None:
            return None
        error = jsonschema.exceptions.best_match(self.validator.iter_errors(body))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"does not match {self.schema_label}: {where}: {error.message}"


@dataclass(frozen=True)
class SubscriptionCfg:
    id: int
    channel_id: int
    consumer_id: int | None
    target_channel_id: int | None
    policy: FilterPolicy | None  # knows its scope (attributes or body) and its JSON
    dlq_id: int | None
    max_retries: int
    mirror_of: int | None
    raw: bool = False  # SNS RawMessageDelivery: a queue gets the message, not the envelope

    @property
    def edge(self) -> str:
        return ids.subscription_edge(self.id)


@dataclass(frozen=True)
class TargetCfg:
    id: int
    rule_id: int
    rule_name: str
    rule_version: int
    channel_id: int | None
    consumer_id: int | None
    transformer: InputTransformer | None
    max_retries: int
    dlq_id: int | None

    @property
    def edge(self) -> str:
        return ids.target_edge(self.id)


@dataclass(frozen=True)
class EmissionCfg:
    type_name: str
    kind: str
    version: int
    source: str
    weight: float
    template: Any
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ProducerCfg:
    id: int
    name: str
    channel_id: int
    rate: float
    jitter: float
    burst_size: int
    burst_every: float
    paused: bool
    emissions: tuple[EmissionCfg, ...]

    @property
    def node(self) -> str:
        return ids.producer_node(self.id)

    @property
    def edge(self) -> str:
        """The edge from this producer to its channel."""
        return ids.publish_edge(self.id)


@dataclass(frozen=True)
class TopologyConfig:
    channels: dict[int, ChannelCfg]
    consumers: dict[int, ConsumerCfg]
    producers: dict[int, ProducerCfg]
    subscriptions: dict[int, SubscriptionCfg]
    targets: dict[int, TargetCfg]
    script: list[dict[str, Any]] = field(default_factory=list)
    # Derived lookups.
    subs_by_channel: dict[int, list[SubscriptionCfg]] = field(default_factory=dict)
    mirrors_of: dict[int, list[SubscriptionCfg]] = field(default_factory=dict)
    targets_by_rule: dict[int, list[TargetCfg]] = field(default_factory=dict)
    rule_index: dict[int, RuleIndex] = field(default_factory=dict)  # bus id -> index
    rules: dict[int, tuple[str, int]] = field(default_factory=dict)  # rule id -> (name, version)

    # Construction only: ``add_rule`` for each rule, then ``finish``, before the config is
    # handed out; from then on nothing changes it (frozen: no field is ever reassigned).

    def finish(self) -> TopologyConfig:
        for sub in self.subscriptions.values():
            if sub.mirror_of is not None:
                self.mirrors_of.setdefault(sub.mirror_of, []).append(sub)
            else:
                self.subs_by_channel.setdefault(sub.channel_id, []).append(sub)
        for target in self.targets.values():
            self.targets_by_rule.setdefault(target.rule_id, []).append(target)
        return self

    def add_rule(self, bus_id: int, rule_id: int, name: str, version: int, pattern: Any) -> None:
        self.rule_index.setdefault(bus_id, RuleIndex()).add(rule_id, pattern)
        self.rules[rule_id] = (name, version)

    def channel_named(self, name: str) -> ChannelCfg | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def node_of_channel(self, channel_id: int) -> str:
        return self.channels[channel_id].node

    def queue_consumers(self, queue_id: int) -> list[tuple[SubscriptionCfg, ConsumerCfg]]:
        """The consumers competing on a queue, in a stable order."""
        return [
            (sub, self.consumers[sub.consumer_id])
            for sub in self.subs_by_channel.get(queue_id, [])
            if sub.consumer_id is not None
        ]


def compile_validator(schema: dict[str, Any]) -> Any:
    if not schema:
        return None
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)
