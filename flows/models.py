"""EventViz models: the vocabulary of docs/contracts.md.

Validation of patterns, filter policies and transformers goes through the pure-Python
routing core (``flows.routing``) via ``flows.validators``; this module holds fields,
constraints, ``clean()`` and ``__str__`` only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from flows import ids, validators
from flows.engine import generators, script


class Topology(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(
        blank=True, help_text="What this topology shows: what to watch, what to try."
    )
    is_public = models.BooleanField(
        default=True, help_text="Anonymous visitors may watch its dashboard (never control it)."
    )
    featured = models.BooleanField(
        default=False,
        help_text="The demo: listed first on the home page and marked 'start here'.",
    )
    script = models.JSONField(
        default=list,
        blank=True,
        help_text='Timed changes during a run, e.g. [{"at": 20, "consumer": "billing", '
        '"set": {"online": false}, "say": "Billing goes offline"}].',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-featured", "name"]
        verbose_name_plural = "topologies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("flows:topology", args=[self.slug])

    @property
    def summary(self) -> str:
        """The idea in one line: the description's first line."""
        return self.description.strip().split("\n", 1)[0].strip()

    def clean(self) -> None:
        errors = script.script_errors(self.script)
        if errors:
            raise ValidationError({"script": errors})


class MessageKind(models.TextChoices):
    COMMAND = "command", "Command"
    EVENT = "event", "Event"


class MessageType(models.Model):
    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="message_types")
    name = models.CharField(
        max_length=200, help_text="The envelope's detail-type, e.g. OrderPlaced."
    )
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.EVENT)
    version = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    source = models.CharField(
        max_length=200, blank=True, help_text="The envelope's source, e.g. shop.orders."
    )
    json_schema = models.JSONField(
        default=dict, blank=True, help_text="JSON Schema of the detail (the payload)."
    )

    class Meta:
        ordering = ["topology", "name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["topology", "name", "version"], name="message_type_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.kind})"

    def clean(self) -> None:
        errors = validators.json_schema_errors(self.json_schema)
        if errors:
            raise ValidationError({"json_schema": errors})


class ChannelKind(models.TextChoices):
    QUEUE = "queue", "Queue (point-to-point)"
    TOPIC = "topic", "Topic (publish-subscribe)"
    BUS = "bus", "Event bus (rules)"
    DIRECT = "direct", "Direct call (no broker)"


class MessageChannel(models.Model):
    """A queue, topic, bus or direct call. Not a Django Channels channel."""

    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    description = models.TextField(blank=True)
    # queue settings
    visibility_timeout = models.FloatField(
        default=30.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(43200.0)],
        help_text="Queue: seconds a received message stays hidden before it is redelivered.",
    )
    max_receives = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Queue: receives after which a message moves to the dead-letter queue.",
    )
    dead_letter_queue = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dead_letter_sources",
        help_text="Queue: where messages go after max receives. Must be a queue.",
    )
    fifo = models.BooleanField(default=False, help_text="Queue: keep order per message group.")
    # Queue attributes as SQS names them (CreateQueue/SetQueueAttributes); ranges are SQS's.
    content_based_deduplication = models.BooleanField(
        default=False, help_text="FIFO queue: deduplicate by a hash of the body."
    )
    delay_seconds = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(900)],
        help_text="Queue: seconds a new message stays invisible (SQS DelaySeconds).",
    )
    receive_wait_seconds = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(20)],
        help_text="Queue: default long-poll wait (SQS ReceiveMessageWaitTimeSeconds).",
    )
    message_retention_seconds = models.PositiveIntegerField(
        default=345600,
        validators=[MinValueValidator(60), MaxValueValidator(1209600)],
        help_text="Queue: seconds a message is kept (SQS MessageRetentionPeriod).",
    )
    maximum_message_size = models.PositiveIntegerField(
        default=262144,
        validators=[MinValueValidator(1024), MaxValueValidator(1048576)],
        help_text="Queue: largest body in bytes (SQS MaximumMessageSize).",
    )
    # bus settings
    archive_enabled = models.BooleanField(default=False, help_text="Bus: archive events.")
    archive_pattern = models.JSONField(
        null=True,
        blank=True,
        help_text="Bus: event pattern of the archive (empty: archive every event).",
    )
    archive_retention_days = models.PositiveIntegerField(
        default=0, help_text="Bus: days to keep archived events (0: forever)."
    )

    class Meta:
        ordering = ["topology", "name"]
        verbose_name = "channel"
        constraints = [
            models.UniqueConstraint(fields=["topology", "name"], name="channel_unique_name"),
            models.CheckConstraint(
                condition=~Q(dead_letter_queue=F("pk")), name="channel_dlq_not_self"
            ),
            models.CheckConstraint(
                condition=Q(kind="queue") | Q(fifo=False), name="channel_fifo_only_on_queue"
            ),
            models.CheckConstraint(
                condition=Q(kind="bus") | Q(archive_enabled=False),
                name="channel_archive_only_on_bus",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def node_id(self) -> str:
        return ids.channel_node(self.kind, self.pk)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        dlq = self.dead_letter_queue
        if dlq is not None:
            if self.kind != ChannelKind.QUEUE:
                errors.setdefault("dead_letter_queue", []).append(
                    "Only a queue has a dead-letter queue (a topic's is set per subscription)."
                )
            if dlq.kind != ChannelKind.QUEUE:
                errors.setdefault("dead_letter_queue", []).append(
                    f"The dead-letter queue must be a queue; {dlq.name} is a {dlq.kind}."
                )
            if self.pk is not None and dlq.pk == self.pk:
                errors.setdefault("dead_letter_queue", []).append(
                    "A queue cannot be its own dead-letter queue."
                )
            if self.topology_id and dlq.topology_id != self.topology_id:
                errors.setdefault("dead_letter_queue", []).append(
                    "The dead-letter queue must belong to the same topology."
                )
        if self.fifo and self.kind != ChannelKind.QUEUE:
            errors.setdefault("fifo", []).append("Only queues can be FIFO.")
        if self.archive_enabled and self.kind != ChannelKind.BUS:
            errors.setdefault("archive_enabled", []).append("Only an event bus has an archive.")
        if self.archive_pattern is not None:
            pattern_errors = validators.event_pattern_errors(self.archive_pattern)
            if pattern_errors:
                errors.setdefault("archive_pattern", []).extend(pattern_errors)
        if errors:
            raise ValidationError(errors)


class Producer(models.Model):
    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="producers")
    name = models.CharField(max_length=200)
    channel = models.ForeignKey(MessageChannel, on_delete=models.CASCADE, related_name="producers")
    rate = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(10000.0)],
        help_text="Messages per second.",
    )
    jitter = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Random spread of the interval between messages (0 to 1 of it).",
    )
    burst_size = models.PositiveIntegerField(
        default=0, help_text="Extra messages sent at once every burst interval (0: no bursts)."
    )
    burst_every = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0)], help_text="Seconds between bursts."
    )
    paused = models.BooleanField(default=False)

    class Meta:
        ordering = ["topology", "name"]
        constraints = [
            models.UniqueConstraint(fields=["topology", "name"], name="producer_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def node_id(self) -> str:
        return ids.producer_node(self.pk)

    def clean(self) -> None:
        if self.channel_id and self.topology_id and self.channel.topology_id != self.topology_id:
            raise ValidationError({"channel": "The channel must belong to the same topology."})


class Emission(models.Model):
    """One message type a producer emits, with the template its payloads are built from."""

    producer = models.ForeignKey(Producer, on_delete=models.CASCADE, related_name="emissions")
    message_type = models.ForeignKey(
        MessageType, on_delete=models.CASCADE, related_name="emissions"
    )
    weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0)],
        help_text="Share of the producer's messages of this type.",
    )
    payload_template = models.JSONField(
        default=dict, blank=True, help_text="The detail, with generators such as {'$seq': {}}."
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Message attributes (for topic filter policies)."
    )

    class Meta:
        ordering = ["producer", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["producer", "message_type"], name="emission_unique_type_per_producer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.producer} emits {self.message_type}"

    def clean(self) -> None:
        if not isinstance(self.payload_template, dict):
            raise ValidationError(
                {"payload_template": "The payload template must be a JSON object."}
            )
        if not isinstance(self.attributes, dict):
            raise ValidationError({"attributes": "Attributes must be a JSON object."})
        problems = generators.check(self.payload_template) + generators.check(self.attributes)
        if problems:
            raise ValidationError({"payload_template": problems})


class Consumer(models.Model):
    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="consumers")
    name = models.CharField(max_length=200)
    service = models.CharField(
        max_length=200,
        blank=True,
        help_text="The service this consumer is an instance of (competing workers share it).",
    )
    latency_mean_ms = models.FloatField(default=50.0, validators=[MinValueValidator(0.0)])
    latency_jitter_ms = models.FloatField(default=10.0, validators=[MinValueValidator(0.0)])
    failure_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    concurrency = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    online = models.BooleanField(default=True)
    idempotent = models.BooleanField(
        default=True, help_text="Processing a redelivered message twice has no second effect."
    )
    expected_type = models.ForeignKey(
        MessageType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expecting_consumers",
        help_text="Validate each message against this type's schema; fail on a mismatch.",
    )

    class Meta:
        ordering = ["topology", "name"]
        constraints = [
            models.UniqueConstraint(fields=["topology", "name"], name="consumer_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def node_id(self) -> str:
        return ids.consumer_node(self.pk)


class FilterScope(models.TextChoices):
    ATTRIBUTES = "MessageAttributes", "Message attributes"
    BODY = "MessageBody", "Message body"


class Subscription(models.Model):
    """A channel (queue, topic or direct call) delivering to a consumer or a queue."""

    channel = models.ForeignKey(
        MessageChannel, on_delete=models.CASCADE, related_name="subscriptions"
    )
    consumer = models.ForeignKey(
        Consumer, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    target_channel = models.ForeignKey(
        MessageChannel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscribed_from",
        help_text="A queue (or topic) that receives a copy, instead of a consumer.",
    )
    filter_policy = models.JSONField(null=True, blank=True)
    filter_scope = models.CharField(
        max_length=20, choices=FilterScope.choices, default=FilterScope.ATTRIBUTES
    )
    dead_letter_queue = models.ForeignKey(
        MessageChannel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dead_letter_subscriptions",
        help_text="Topic: where a push goes after its retries fail. Must be a queue.",
    )
    max_retries = models.PositiveIntegerField(
        default=3, validators=[MaxValueValidator(100)], help_text="Topic push retries."
    )
    raw_message_delivery = models.BooleanField(
        default=False,
        help_text="Topic to queue: deliver the bare message, not SNS's JSON envelope.",
    )
    mirror_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mirrors",
        help_text="Traffic mirroring: this consumer shadows the primary subscription.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["channel", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(consumer__isnull=False) & Q(target_channel__isnull=True))
                | (Q(consumer__isnull=True) & Q(target_channel__isnull=False)),
                name="subscription_exactly_one_subscriber",
            ),
            models.CheckConstraint(
                condition=~Q(target_channel=F("channel")), name="subscription_not_to_itself"
            ),
            models.CheckConstraint(
                condition=~Q(mirror_of=F("pk")), name="subscription_mirror_not_self"
            ),
            models.UniqueConstraint(
                fields=["channel", "consumer"],
                condition=Q(consumer__isnull=False),
                name="subscription_unique_consumer",
            ),
            models.UniqueConstraint(
                fields=["channel", "target_channel"],
                condition=Q(target_channel__isnull=False),
                name="subscription_unique_target_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel.name} → {self.subscriber_name}"

    @property
    def subscriber_name(self) -> str:
        if self.consumer_id:
            return self.consumer.name
        if self.target_channel_id:
            return self.target_channel.name
        return "?"

    @property
    def edge_id(self) -> str:
        return ids.subscription_edge(self.pk)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if (self.consumer_id is None) == (self.target_channel_id is None):
            add("consumer", "Choose exactly one subscriber: a consumer or a target channel.")
        channel = self.channel if self.channel_id else None
        if channel is not None:
            if channel.kind == ChannelKind.BUS:
                add("channel", "An event bus delivers through rules, not subscriptions.")
            if self.target_channel_id is not None:
                if self.target_channel_id == channel.pk:
                    add("target_channel", "A channel cannot subscribe to itself.")
                elif self.target_channel.topology_id != channel.topology_id:
                    add("target_channel", "The target must belong to the same topology.")
                elif channel.kind != ChannelKind.TOPIC:
                    add("target_channel", "Only a topic fans out into other channels.")
                elif self.target_channel.kind not in (ChannelKind.QUEUE, ChannelKind.TOPIC):
                    add("target_channel", "A topic delivers to queues, topics or consumers.")
            if self.consumer_id is not None and self.consumer.topology_id != channel.topology_id:
                add("consumer", "The consumer must belong to the same topology.")
            if channel.kind == ChannelKind.DIRECT and self.mirror_of_id is None:
                callees = channel.subscriptions.filter(mirror_of__isnull=True).exclude(pk=self.pk)
                if callees.exists():
                    add("channel", "A direct call has one callee; mirror it to add a shadow.")
                if self.consumer_id is None:
                    add("consumer", "A direct call reaches a consumer, not a channel.")
            if self.filter_policy is not None and channel.kind != ChannelKind.TOPIC:
                add("filter_policy", "Only topic subscriptions have filter policies.")
            if self.dead_letter_queue_id is not None and channel.kind != ChannelKind.TOPIC:
                add(
                    "dead_letter_queue",
                    "Only topic subscriptions have one; a queue's is set on the queue.",
                )
        if (
            self.dead_letter_queue_id is not None
            and self.dead_letter_queue.kind != ChannelKind.QUEUE
        ):
            add("dead_letter_queue", "The dead-letter queue must be a queue.")
        if self.filter_policy is not None:
            for message in validators.filter_policy_errors(self.filter_policy, self.filter_scope):
                add("filter_policy", message)
        if self.mirror_of_id is not None:
            primary = self.mirror_of
            if self.pk is not None and primary.pk == self.pk:
                add("mirror_of", "A subscription cannot mirror itself.")
            elif primary.channel_id != self.channel_id:
                add("mirror_of", "A mirror must be on the same channel as its primary.")
            elif primary.mirror_of_id is not None:
                add("mirror_of", "Mirror the primary, not another mirror.")
            if self.consumer_id is None:
                add("mirror_of", "A mirror delivers to a (shadow) consumer.")
        if errors:
            raise ValidationError(errors)


class Rule(models.Model):
    bus = models.ForeignKey(MessageChannel, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    event_pattern = models.JSONField(help_text="An EventBridge event pattern (a JSON object).")
    enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Raised on every saved change."
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["bus", "name"]
        constraints = [
            models.UniqueConstraint(fields=["bus", "name"], name="rule_unique_name_per_bus"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.bus_id is not None and self.bus.kind != ChannelKind.BUS:
            errors["bus"] = [f"Rules belong on an event bus; {self.bus.name} is a {self.bus.kind}."]
        pattern_errors = validators.event_pattern_errors(self.event_pattern)
        if pattern_errors:
            errors["event_pattern"] = pattern_errors
        if errors:
            raise ValidationError(errors)


class Target(models.Model):
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="targets")
    api_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The target's Id in the EventBridge API (empty: its number is used).",
    )
    channel = models.ForeignKey(
        MessageChannel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_targets",
        help_text="A queue, topic or another bus.",
    )
    consumer = models.ForeignKey(
        Consumer, null=True, blank=True, on_delete=models.CASCADE, related_name="rule_targets"
    )
    input_paths_map = models.JSONField(null=True, blank=True, help_text="InputPathsMap.")
    input_template = models.TextField(
        blank=True, help_text="InputTemplate with <name> placeholders."
    )
    max_retries = models.PositiveIntegerField(default=3, validators=[MaxValueValidator(185)])
    max_event_age = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(60), MaxValueValidator(86400)],
        help_text="RetryPolicy MaximumEventAgeInSeconds, kept for the API; the simulation "
        "retries by count.",
    )
    dead_letter_queue = models.ForeignKey(
        MessageChannel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dead_letter_targets",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["rule", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(consumer__isnull=False) & Q(channel__isnull=True))
                | (Q(consumer__isnull=True) & Q(channel__isnull=False)),
                name="target_exactly_one_destination",
            ),
            models.UniqueConstraint(
                fields=["rule", "channel"],
                condition=Q(channel__isnull=False),
                name="target_unique_channel",
            ),
            models.UniqueConstraint(
                fields=["rule", "consumer"],
                condition=Q(consumer__isnull=False),
                name="target_unique_consumer",
            ),
            models.UniqueConstraint(
                fields=["rule", "api_id"], condition=~Q(api_id=""), name="target_unique_api_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule.name} → {self.destination_name}"

    @property
    def destination_name(self) -> str:
        if self.consumer_id:
            return self.consumer.name
        if self.channel_id:
            return self.channel.name
        return "?"

    @property
    def edge_id(self) -> str:
        return ids.target_edge(self.pk)

    @property
    def has_transformer(self) -> bool:
        return bool(self.input_template)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if (self.consumer_id is None) == (self.channel_id is None):
            errors["channel"] = ["Choose exactly one destination: a channel or a consumer."]
        if self.channel_id is not None and self.rule_id is not None:
            if self.channel.topology_id != self.rule.bus.topology_id:
                errors["channel"] = ["The target must belong to the same topology."]
            elif self.channel.kind == ChannelKind.DIRECT:
                errors["channel"] = ["A rule cannot target a direct call; target its consumer."]
            elif self.channel_id == self.rule.bus_id:
                errors["channel"] = ["A rule cannot target its own bus."]
        if (
            self.dead_letter_queue_id is not None
            and self.dead_letter_queue.kind != ChannelKind.QUEUE
        ):
            errors["dead_letter_queue"] = ["The dead-letter queue must be a queue."]
        if self.input_paths_map and not self.input_template:
            errors["input_template"] = ["An InputPathsMap needs an InputTemplate."]
        if self.input_template:
            transformer_errors = validators.transformer_errors(
                self.input_paths_map, self.input_template
            )
            if transformer_errors:
                errors["input_template"] = transformer_errors
        if errors:
            raise ValidationError(errors)


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class Run(models.Model):
    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="runs")
    seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.BigIntegerField(default=0)
    counters = models.JSONField(default=dict, blank=True, help_text="Counters when it stopped.")

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        constraints = [
            models.UniqueConstraint(
                fields=["topology"],
                condition=Q(status="running"),
                name="run_one_running_per_topology",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topology} run {self.pk} ({self.status})"


class HopStage(models.TextChoices):
    PUBLISHED = "published"
    ENQUEUED = "enqueued"
    RECEIVED = "received"
    DELIVERED = "delivered"
    PROCESSED = "processed"
    FAILED = "failed"
    REDELIVERED = "redelivered"
    DEAD_LETTERED = "dead_lettered"
    FILTERED = "filtered"
    UNMATCHED = "unmatched"
    TRANSFORMED = "transformed"
    MIRRORED = "mirrored"
    ARCHIVED = "archived"
    REPLAYED = "replayed"
    PURGED = "purged"  # PurgeQueue through the AWS API: a terminal state of its own


class Hop(models.Model):
    """A persisted hop event (docs/contracts.md); ``flows.live.frames.hop_from_row`` is its
    wire form."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="hops")
    seq = models.BigIntegerField()
    msg = models.UUIDField()
    type = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    stage = models.CharField(max_length=20, choices=HopStage.choices)
    from_node = models.CharField(max_length=100, blank=True)
    to_node = models.CharField(max_length=100, blank=True)
    edge = models.CharField(max_length=100, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    at = models.BigIntegerField(help_text="Epoch milliseconds.")
    detail = models.JSONField(
        default=dict, blank=True, help_text="Payload, reason, rule version, ... of this hop."
    )

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="hop_unique_seq_per_run"),
        ]
        indexes = [models.Index(fields=["msg", "seq"], name="hop_msg_seq")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.stage} {self.from_node}→{self.to_node}"


# Models of the AWS-compatible endpoint live with it; importing them here registers them.
from flows.aws.models import ApiKey, ApiKeyScope  # noqa: E402, F401
