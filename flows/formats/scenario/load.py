"""Loading a scenario: create or update its topology, idempotently."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from flows.engine import script
from flows.formats.scenario.schema import MAX_SCENARIO_BYTES, ScenarioError, read
from flows.formats.yamldoc import Document, KeyPath
from flows.models import (
    Consumer,
    Emission,
    FilterScope,
    MessageChannel,
    MessageKind,
    MessageType,
    Producer,
    Rule,
    Subscription,
    Target,
    Topology,
)
from flows.rules import rule_save


def resolve(path_or_name: str) -> Path:
    """A path to a YAML file, or the name of a shipped scenario (``shop``)."""
    candidate = Path(path_or_name)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.exists():
            raise ScenarioError(f"{path_or_name}: no such file")
        return candidate
    for directory in settings.EVENTVIZ_SCENARIO_DIRS:
        for suffix in (".yaml", ".yml"):
            shipped = Path(directory) / f"{path_or_name}{suffix}"
            if shipped.exists():
                return shipped
    names = ", ".join(sorted(p.stem for p in shipped_scenarios()))
    raise ScenarioError(f"{path_or_name}: no such file or shipped scenario (shipped: {names})")


def shipped_scenarios() -> list[Path]:
    found: list[Path] = []
    for directory in settings.EVENTVIZ_SCENARIO_DIRS:
        found.extend(sorted(Path(directory).glob("*.yaml")))
    return found


def scenario_load_file(path_or_name: str) -> Topology:
    path = resolve(path_or_name)
    size = path.stat().st_size
    if size > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"{path.name}: the file is {size:,} bytes; a scenario is at most {MAX_SCENARIO_BYTES:,}"
        )
    return scenario_load(text=path.read_text(encoding="utf-8"), origin=path.name)


def scenario_load(*, text: str, origin: str = "<scenario>") -> Topology:
    """Create or update the topology the scenario describes; loading twice changes nothing."""
    doc = read(text, origin)
    with transaction.atomic():
        return _Loader(doc).load()


class _Loader:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data

    def load(self) -> Topology:
        data = self.data
        self.topology, _ = Topology.objects.update_or_create(
            slug=data["slug"],
            defaults={
                "name": data["name"],
                "description": data.get("description", ""),
                "is_public": data.get("public", True),
                "featured": data.get("featured", False),
            },
        )
        self.types = self._message_types()
        self.channels = self._channels()
        self.consumers = self._consumers()
        self._producers()
        self._subscriptions()
        self._rules()
        self._script()
        return self.topology

    # helpers

    def _save(self, obj: models.Model, path: KeyPath) -> None:
        self._check(obj, path)
        obj.save()

    def _check(self, obj: models.Model, path: KeyPath) -> None:
        try:
            # Constraints are checked by clean() in words, and by the database: not by a query each.
            obj.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            parts = []
            for field, messages in exc.message_dict.items():
                label = "" if field == "__all__" else f"{field}: "
                parts.append(label + " ".join(messages))
            raise self.doc.error(path, "; ".join(parts)) from None

    def _prune(self, queryset: models.QuerySet[Any], keep: list[int]) -> None:
        queryset.exclude(pk__in=keep).delete()

    def _ref(self, table: dict[str, Any], name: str, path: KeyPath, what: str) -> Any:
        try:
            return table[name]
        except KeyError:
            known = ", ".join(sorted(table)) or "none defined"
            raise self.doc.error(path, f"unknown {what} {name!r} (known: {known})") from None

    def _type_ref(self, name: str, version: int | None, path: KeyPath) -> MessageType:
        if version is None:
            versions = [v for (n, v) in self.types if n == name]
            if not versions:
                known = ", ".join(sorted({n for n, _ in self.types})) or "none defined"
                raise self.doc.error(path, f"unknown message type {name!r} (known: {known})")
            version = max(versions)
        key = (name, version)
        if key not in self.types:
            raise self.doc.error(path, f"unknown message type {name!r} version {version}")
        return self.types[key]

    # sections

    def _script(self) -> None:
        steps = self.data.get("script", [])
        tables = {"consumer": self.consumers, "channel": self.channels}
        producers = set(self.topology.producers.values_list("name", flat=True))
        for i, step in enumerate(steps):
            path: KeyPath = ("script", i)
            problems = script.step_errors(step)
            if problems:
                raise self.doc.error(path, "; ".join(problems))
            for kind, name in script.step_names(step):
                if kind == "producer":
                    if name not in producers:
                        known = ", ".join(sorted(producers)) or "none defined"
                        raise self.doc.error(
                            (*path, kind), f"unknown producer {name!r} (known: {known})"
                        )
                else:
                    self._ref(tables[kind], name, path, kind)
            if "emit" in step:
                self._type_ref(step["emit"]["type"], step["emit"]["version"], (*path, "emit"))
        self.topology.script = steps
        self.topology.save(update_fields=["script"])

    def _message_types(self) -> dict[tuple[str, int], MessageType]:
        table: dict[tuple[str, int], MessageType] = {}
        for i, item in enumerate(self.data.get("message_types", [])):
            path: KeyPath = ("message_types", i)
            key = (item["name"], item.get("version", 1))
            if key in table:
                raise self.doc.error(path, f"message type {key[0]!r} v{key[1]} defined twice")
            obj = MessageType.objects.filter(
                topology=self.topology, name=key[0], version=key[1]
            ).first() or MessageType(topology=self.topology, name=key[0], version=key[1])
            obj.kind = item.get("kind", MessageKind.EVENT)
            obj.source = item.get("source", "")
            obj.json_schema = item.get("schema", {})
            self._save(obj, path)
            table[key] = obj
        self._prune(self.topology.message_types.all(), [t.pk for t in table.values()])
        return table

    def _channels(self) -> dict[str, MessageChannel]:
        table: dict[str, MessageChannel] = {}
        items = self.data.get("channels", [])
        for i, item in enumerate(items):
            path: KeyPath = ("channels", i)
            if item["name"] in table:
                raise self.doc.error(path, f"channel {item['name']!r} defined twice")
            obj = MessageChannel.objects.filter(
                topology=self.topology, name=item["name"]
            ).first() or MessageChannel(topology=self.topology, name=item["name"])
            archive = item.get("archive")
            obj.kind = item["kind"]
            obj.description = item.get("description", "")
            obj.visibility_timeout = item.get("visibility_timeout", 30.0)
            obj.max_receives = item.get("max_receives")
            obj.fifo = item.get("fifo", False)
            obj.archive_enabled = archive is not None
            obj.archive_pattern = (archive or {}).get("pattern")
            obj.archive_retention_days = (archive or {}).get("retention_days", 0)
            obj.dead_letter_queue = None
            self._save(obj, path)
            table[item["name"]] = obj
        # Second pass: dead-letter queues may be declared after the queues that use them.
        for i, item in enumerate(items):
            if "dead_letter_queue" in item:
                path = ("channels", i, "dead_letter_queue")
                obj = table[item["name"]]
                obj.dead_letter_queue = self._ref(table, item["dead_letter_queue"], path, "channel")
                self._save(obj, ("channels", i))
        self._prune(self.topology.channels.all(), [c.pk for c in table.values()])
        return table

    def _consumers(self) -> dict[str, Consumer]:
        table: dict[str, Consumer] = {}
        for i, item in enumerate(self.data.get("consumers", [])):
            path: KeyPath = ("consumers", i)
            if item["name"] in table:
                raise self.doc.error(path, f"consumer {item['name']!r} defined twice")
            obj = Consumer.objects.filter(topology=self.topology, name=item["name"]).first() or (
                Consumer(topology=self.topology, name=item["name"])
            )
            latency = item.get("latency_ms", {})
            obj.service = item.get("service", item["name"])
            obj.latency_mean_ms = latency.get("mean", 50.0)
            obj.latency_jitter_ms = latency.get("jitter", 10.0)
            obj.failure_rate = item.get("failure_rate", 0.0)
            obj.concurrency = item.get("concurrency", 1)
            obj.online = item.get("online", True)
            obj.idempotent = item.get("idempotent", True)
            expects = item.get("expects")
            obj.expected_type = (
                self._type_ref(expects["type"], expects.get("version"), (*path, "expects"))
                if expects
                else None
            )
            self._save(obj, path)
            table[item["name"]] = obj
        self._prune(self.topology.consumers.all(), [c.pk for c in table.values()])
        return table

    def _producers(self) -> None:
        keep: list[int] = []
        seen: set[str] = set()
        for i, item in enumerate(self.data.get("producers", [])):
            path: KeyPath = ("producers", i)
            if item["name"] in seen:
                raise self.doc.error(path, f"producer {item['name']!r} defined twice")
            seen.add(item["name"])
            obj = Producer.objects.filter(topology=self.topology, name=item["name"]).first() or (
                Producer(topology=self.topology, name=item["name"])
            )
            burst = item.get("burst", {})
            obj.channel = self._ref(self.channels, item["channel"], (*path, "channel"), "channel")
            obj.rate = item.get("rate", 1.0)
            obj.jitter = item.get("jitter", 0.0)
            obj.burst_size = burst.get("size", 0)
            obj.burst_every = burst.get("every", 0.0)
            obj.paused = item.get("paused", False)
            self._save(obj, path)
            keep.append(obj.pk)
            emissions: list[int] = []
            for j, emit in enumerate(item["emits"]):
                epath: KeyPath = (*path, "emits", j)
                mtype = self._type_ref(emit["type"], emit.get("version"), (*epath, "type"))
                emission = Emission.objects.filter(producer=obj, message_type=mtype).first() or (
                    Emission(producer=obj, message_type=mtype)
                )
                emission.weight = emit.get("weight", 1.0)
                emission.payload_template = emit.get("payload", {})
                emission.attributes = emit.get("attributes", {})
                self._save(emission, epath)
                emissions.append(emission.pk)
            self._prune(obj.emissions.all(), emissions)
        self._prune(self.topology.producers.all(), keep)

    def _subscriptions(self) -> None:
        keep: list[int] = []
        items = self.data.get("subscriptions", [])
        by_key: dict[tuple[str, str], Subscription] = {}
        for i, item in enumerate(items):
            path: KeyPath = ("subscriptions", i)
            channel = self._ref(self.channels, item["channel"], (*path, "channel"), "channel")
            lookup: dict[str, Any] = {"channel": channel}
            if "consumer" in item:
                consumer = self._ref(
                    self.consumers, item["consumer"], (*path, "consumer"), "consumer"
                )
                lookup.update(consumer=consumer, target_channel=None)
                key = (item["channel"], "consumer:" + item["consumer"])
            else:
                target = self._ref(
                    self.channels, item["target_channel"], (*path, "target_channel"), "channel"
                )
                lookup.update(consumer=None, target_channel=target)
                key = (item["channel"], "channel:" + item["target_channel"])
            if key in by_key:
                raise self.doc.error(path, "the same subscription is defined twice")
            obj = Subscription.objects.filter(**lookup).first() or Subscription(**lookup)
            obj.filter_policy = item.get("filter_policy")
            obj.filter_scope = item.get("filter_scope", FilterScope.ATTRIBUTES)
            obj.max_retries = item.get("max_retries", 3)
            obj.dead_letter_queue = (
                self._ref(
                    self.channels,
                    item["dead_letter_queue"],
                    (*path, "dead_letter_queue"),
                    "channel",
                )
                if "dead_letter_queue" in item
                else None
            )
            obj.mirror_of = None
            self._save(obj, path)
            by_key[key] = obj
            keep.append(obj.pk)
        # Mirrors point at the primary subscription (by its consumer) on the same channel.
        for i, item in enumerate(items):
            if "mirror_of" not in item:
                continue
            path = ("subscriptions", i, "mirror_of")
            if "consumer" not in item:
                raise self.doc.error(path, "a mirror delivers to a (shadow) consumer")
            primary = by_key.get((item["channel"], "consumer:" + item["mirror_of"]))
            if primary is None:
                raise self.doc.error(
                    path,
                    f"no subscription of consumer {item['mirror_of']!r} on {item['channel']!r} "
                    "to mirror",
                )
            mirror = by_key[(item["channel"], "consumer:" + item["consumer"])]
            mirror.mirror_of = primary
            self._save(mirror, ("subscriptions", i))
        self._prune(Subscription.objects.filter(channel__topology=self.topology), keep)

    def _rules(self) -> None:
        keep: list[int] = []
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(self.data.get("rules", [])):
            path: KeyPath = ("rules", i)
            bus = self._ref(self.channels, item["bus"], (*path, "bus"), "channel")
            if (item["bus"], item["name"]) in seen:
                raise self.doc.error(path, f"rule {item['name']!r} defined twice on {bus.name}")
            seen.add((item["bus"], item["name"]))
            obj = Rule.objects.filter(bus=bus, name=item["name"]).first() or Rule(
                bus=bus, name=item["name"]
            )
            obj.description = item.get("description", "")
            obj.event_pattern = item["pattern"]
            obj.enabled = item.get("enabled", True)
            self._check(obj, path)
            # rule_save decides the version, from the rule and its targets together.
            rule_save(
                rule=obj,
                save_targets=partial(self._rule_targets, item=item, path=path),
                reason=f"scenario {self.doc.origin}",
            )
            keep.append(obj.pk)
        self._prune(Rule.objects.filter(bus__topology=self.topology), keep)

    def _rule_targets(self, obj: Rule, *, item: dict[str, Any], path: KeyPath) -> None:
        targets: list[int] = []
        for j, target_item in enumerate(item.get("targets", [])):
            tpath: KeyPath = (*path, "targets", j)
            if "channel" in target_item:
                dest = self._ref(
                    self.channels, target_item["channel"], (*tpath, "channel"), "channel"
                )
                lookup: dict[str, Any] = {"rule": obj, "channel": dest, "consumer": None}
            else:
                dest = self._ref(
                    self.consumers, target_item["consumer"], (*tpath, "consumer"), "consumer"
                )
                lookup = {"rule": obj, "consumer": dest, "channel": None}
            target = Target.objects.filter(**lookup).first() or Target(**lookup)
            transformer = target_item.get("input_transformer") or {}
            target.input_paths_map = transformer.get("InputPathsMap")
            target.input_template = transformer.get("InputTemplate", "")
            target.max_retries = target_item.get("max_retries", 3)
            target.dead_letter_queue = (
                self._ref(
                    self.channels,
                    target_item["dead_letter_queue"],
                    (*tpath, "dead_letter_queue"),
                    "channel",
                )
                if "dead_letter_queue" in target_item
                else None
            )
            self._save(target, tpath)
            targets.append(target.pk)
        self._prune(obj.targets.all(), targets)
