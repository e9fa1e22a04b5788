"""Scenario files: a topology as YAML, loaded idempotently and dumped back.

Errors name the file, the line and the key path at fault, e.g.
``shop.yaml line 14: channels[2].kind: 'queu' is not one of ['queue', 'topic', ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from flows.engine import script
from flows.models import (
    ChannelKind,
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

KeyPath = tuple[str | int, ...]


class ScenarioError(ValueError):
    """A scenario file that cannot be loaded; the message names the line and key."""


_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_JSON_OBJECT = {"type": "object"}
_NUMBER = {"type": "number", "minimum": 0}

SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "name"],
    "properties": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "name": _NAME,
        "description": {"type": "string"},
        "public": {"type": "boolean"},
        "script": {"type": "array", "items": {"type": "object"}},
        "message_types": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _NAME,
                    "kind": {"enum": list(MessageKind.values)},
                    "version": {"type": "integer", "minimum": 1},
                    "source": {"type": "string"},
                    "schema": _JSON_OBJECT,
                },
            },
        },
        "channels": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "kind"],
                "properties": {
                    "name": _NAME,
                    "kind": {"enum": list(ChannelKind.values)},
                    "description": {"type": "string"},
                    "visibility_timeout": _NUMBER,
                    "max_receives": {"type": "integer", "minimum": 1},
                    "dead_letter_queue": _NAME,
                    "fifo": {"type": "boolean"},
                    "archive": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "pattern": _JSON_OBJECT,
                            "retention_days": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
        "consumers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _NAME,
                    "service": {"type": "string"},
                    "latency_ms": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"mean": _NUMBER, "jitter": _NUMBER},
                    },
                    "failure_rate": {"type": "number", "minimum": 0, "maximum": 1},
                    "concurrency": {"type": "integer", "minimum": 1},
                    "online": {"type": "boolean"},
                    "idempotent": {"type": "boolean"},
                    "expects": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type"],
                        "properties": {
                            "type": _NAME,
                            "version": {"type": "integer", "minimum": 1},
                        },
                    },
                },
            },
        },
        "producers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "channel", "emits"],
                "properties": {
                    "name": _NAME,
                    "channel": _NAME,
                    "rate": _NUMBER,
                    "jitter": {"type": "number", "minimum": 0, "maximum": 1},
                    "burst": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "size": {"type": "integer", "minimum": 0},
                            "every": _NUMBER,
                        },
                    },
                    "paused": {"type": "boolean"},
                    "emits": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["type"],
                            "properties": {
                                "type": _NAME,
                                "version": {"type": "integer", "minimum": 1},
                                "weight": _NUMBER,
                                "payload": _JSON_OBJECT,
                                "attributes": _JSON_OBJECT,
                            },
                        },
                    },
                },
            },
        },
        "subscriptions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["channel"],
                "oneOf": [{"required": ["consumer"]}, {"required": ["target_channel"]}],
                "properties": {
                    "channel": _NAME,
                    "consumer": _NAME,
                    "target_channel": _NAME,
                    "filter_policy": _JSON_OBJECT,
                    "filter_scope": {"enum": list(FilterScope.values)},
                    "dead_letter_queue": _NAME,
                    "max_retries": {"type": "integer", "minimum": 0},
                    "mirror_of": _NAME,
                },
            },
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "bus", "pattern"],
                "properties": {
                    "name": _NAME,
                    "bus": _NAME,
                    "description": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    "pattern": {},
                    "targets": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "oneOf": [{"required": ["channel"]}, {"required": ["consumer"]}],
                            "properties": {
                                "channel": _NAME,
                                "consumer": _NAME,
                                "input_transformer": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["InputTemplate"],
                                    "properties": {
                                        "InputPathsMap": _JSON_OBJECT,
                                        "InputTemplate": {"type": "string"},
                                    },
                                },
                                "max_retries": {"type": "integer", "minimum": 0},
                                "dead_letter_queue": _NAME,
                            },
                        },
                    },
                },
            },
        },
    },
}


# --- YAML with line numbers ------------------------------------------------------


@dataclass
class Document:
    """Parsed YAML plus the line (1-based) where each key path starts."""

    data: Any
    lines: dict[KeyPath, int]
    origin: str

    def where(self, path: KeyPath) -> str:
        line = None
        for depth in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:depth]))
            if line is not None:
                break
        dotted = format_path(path)
        location = f"{self.origin} line {line}" if line else self.origin
        return f"{location}: {dotted}" if dotted else location

    def error(self, path: KeyPath, message: str) -> ScenarioError:
        return ScenarioError(f"{self.where(path)}: {message}")


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(text: str, origin: str = "<scenario>") -> Document:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin} line {mark.line + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}: not valid YAML: {problem}") from None
    if node is None:
        raise ScenarioError(f"{origin}: the file is empty")
    lines: dict[KeyPath, int] = {}
    data = _construct(node, (), lines, yaml.SafeLoader(""))
    return Document(data=data, lines=lines, origin=origin)


def _construct(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], loader: yaml.SafeLoader
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise ScenarioError(
                    f"line {key_node.start_mark.line + 1}: {format_path((*path, key))}: "
                    "duplicate key"
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*path, key), lines, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


# --- loading -----------------------------------------------------------------------


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
    return scenario_load(text=path.read_text(encoding="utf-8"), origin=path.name)


def scenario_load(*, text: str, origin: str = "<scenario>") -> Topology:
    """Create or update the topology the scenario describes; loading twice changes nothing."""
    doc = parse(text, origin)
    _validate_shape(doc)
    with transaction.atomic():
        return _Loader(doc).load()


def _validate_shape(doc: Document) -> None:
    validator = jsonschema.Draft202012Validator(SCENARIO_SCHEMA)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path = tuple(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties":
        message = f"unknown key ({error.message})"
    elif error.validator == "oneOf":
        message = "give exactly one of " + " or ".join(
            repr(option["required"][0]) for option in error.validator_value
        )
    raise doc.error(path, message)


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
            obj.full_clean(validate_unique=False)
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


# --- dumping -----------------------------------------------------------------------


def scenario_dump(topology: Topology) -> dict[str, Any]:
    """The scenario dict of a topology; ``scenario_load`` of its YAML recreates it."""
    out: dict[str, Any] = {"slug": topology.slug, "name": topology.name}
    if topology.description:
        out["description"] = topology.description
    if not topology.is_public:
        out["public"] = False
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
                    for e in p.emissions.select_related("message_type").order_by("pk")
                ],
            }
        )
        for p in topology.producers.select_related("channel").order_by("pk")
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
    rules = Rule.objects.filter(bus__topology=topology).select_related("bus").order_by("pk")
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
                    for t in r.targets.select_related(
                        "channel", "consumer", "dead_letter_queue"
                    ).order_by("pk")
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
