"""Loading a scenario: create or update its topology, idempotently."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

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
    """Writes a checked scenario document into its topology.

    Cost matters here (an imported template can hold a thousand resources, and every
    importer loads through this class): each section reads the rows it may update in one
    query, creates the new ones in one bulk insert (with their history records, for the
    models that keep history) and saves only the stored rows whose values changed, so
    loading an unchanged scenario again writes nothing but the topology. Every object is
    still checked with ``full_clean`` in document order, so errors and their order are
    those of a row-by-row load. Foreign keys are checked by the loader (every reference
    comes from a table of this load), not by one existence query each.
    """

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

    def _check(self, obj: models.Model, path: KeyPath) -> None:
        try:
            # Constraints are checked by clean() in words, and by the database: not by a
            # query each; foreign keys come from this load's own tables.
            obj.full_clean(
                exclude=_foreign_keys(type(obj)), validate_unique=False, validate_constraints=False
            )
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
        if self.topology.script != steps:
            self.topology.script = steps
            self.topology.save(update_fields=["script"])

    def _message_types(self) -> dict[tuple[str, int], MessageType]:
        table: dict[tuple[str, int], MessageType] = {}
        stored = {(t.name, t.version): t for t in self.topology.message_types.all()}
        rows = _Rows(MessageType)
        for i, item in enumerate(self.data.get("message_types", [])):
            path: KeyPath = ("message_types", i)
            key = (item["name"], item.get("version", 1))
            if key in table:
                raise self.doc.error(path, f"message type {key[0]!r} v{key[1]} defined twice")
            obj = rows.get(stored, key) or MessageType(
                topology=self.topology, name=key[0], version=key[1]
            )
            obj.kind = item.get("kind", MessageKind.EVENT)
            obj.source = item.get("source", "")
            obj.json_schema = item.get("schema", {})
            self._check(obj, path)
            rows.keep(obj)
            table[key] = obj
        rows.write()
        self._prune(self.topology.message_types.all(), [t.pk for t in table.values()])
        return table

    def _channels(self) -> dict[str, MessageChannel]:
        table: dict[str, MessageChannel] = {}
        items = self.data.get("channels", [])
        stored = {c.name: c for c in self.topology.channels.all()}
        rows = _Rows(MessageChannel)
        for i, item in enumerate(items):
            path: KeyPath = ("channels", i)
            if item["name"] in table:
                raise self.doc.error(path, f"channel {item['name']!r} defined twice")
            obj = rows.get(stored, item["name"]) or MessageChannel(
                topology=self.topology, name=item["name"]
            )
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
            self._check(obj, path)
            rows.keep(obj)
            table[item["name"]] = obj
        # Second pass: dead-letter queues may be declared after the queues that use them.
        for i, item in enumerate(items):
            if "dead_letter_queue" in item:
                path = ("channels", i, "dead_letter_queue")
                obj = table[item["name"]]
                obj.dead_letter_queue = self._ref(table, item["dead_letter_queue"], path, "channel")
                self._check(obj, ("channels", i))
        rows.write(later=("dead_letter_queue",))
        self._prune(self.topology.channels.all(), [c.pk for c in table.values()])
        return table

    def _consumers(self) -> dict[str, Consumer]:
        table: dict[str, Consumer] = {}
        stored = {c.name: c for c in self.topology.consumers.all()}
        rows = _Rows(Consumer)
        for i, item in enumerate(self.data.get("consumers", [])):
            path: KeyPath = ("consumers", i)
            if item["name"] in table:
                raise self.doc.error(path, f"consumer {item['name']!r} defined twice")
            obj = rows.get(stored, item["name"]) or Consumer(
                topology=self.topology, name=item["name"]
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
            self._check(obj, path)
            rows.keep(obj)
            table[item["name"]] = obj
        rows.write()
        self._prune(self.topology.consumers.all(), [c.pk for c in table.values()])
        return table

    def _producers(self) -> None:
        seen: dict[str, Producer] = {}
        stored = {p.name: p for p in self.topology.producers.all()}
        stored_emissions = {
            (e.producer_id, e.message_type_id): e
            for e in Emission.objects.filter(producer__topology=self.topology)
        }
        producers = _Rows(Producer)
        emissions = _Rows(Emission)
        planned: list[tuple[Producer, list[Emission]]] = []
        for i, item in enumerate(self.data.get("producers", [])):
            path: KeyPath = ("producers", i)
            if item["name"] in seen:
                raise self.doc.error(path, f"producer {item['name']!r} defined twice")
            obj = producers.get(stored, item["name"]) or Producer(
                topology=self.topology, name=item["name"]
            )
            seen[item["name"]] = obj
            burst = item.get("burst", {})
            obj.channel = self._ref(self.channels, item["channel"], (*path, "channel"), "channel")
            obj.rate = item.get("rate", 1.0)
            obj.jitter = item.get("jitter", 0.0)
            obj.burst_size = burst.get("size", 0)
            obj.burst_every = burst.get("every", 0.0)
            obj.paused = item.get("paused", False)
            self._check(obj, path)
            producers.keep(obj)
            mine: list[Emission] = []
            for j, emit in enumerate(item["emits"]):
                epath: KeyPath = (*path, "emits", j)
                mtype = self._type_ref(emit["type"], emit.get("version"), (*epath, "type"))
                emission = (
                    emissions.get(stored_emissions, (obj.pk, mtype.pk)) if obj.pk else None
                ) or Emission(producer=obj, message_type=mtype)
                emission.producer, emission.message_type = obj, mtype
                emission.weight = emit.get("weight", 1.0)
                emission.payload_template = emit.get("payload", {})
                emission.attributes = emit.get("attributes", {})
                self._check(emission, epath)
                mine.append(emission)
            planned.append((obj, mine))
        producers.write()
        for obj, mine in planned:
            for emission in mine:
                emission.producer = obj  # the producer has its primary key now
                emissions.keep(emission)
        emissions.write()
        kept = [e.pk for _, mine in planned for e in mine]
        self._prune(Emission.objects.filter(producer__topology=self.topology), kept)
        self._prune(self.topology.producers.all(), [p.pk for p in seen.values()])

    def _subscriptions(self) -> None:
        items = self.data.get("subscriptions", [])
        by_key: dict[tuple[str, str], Subscription] = {}
        stored = {
            (s.channel_id, s.consumer_id, s.target_channel_id): s
            for s in Subscription.objects.filter(channel__topology=self.topology)
        }
        rows = _Rows(Subscription)
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
                row_key = (channel.pk, consumer.pk, None)
            else:
                target = self._ref(
                    self.channels, item["target_channel"], (*path, "target_channel"), "channel"
                )
                lookup.update(consumer=None, target_channel=target)
                key = (item["channel"], "channel:" + item["target_channel"])
                row_key = (channel.pk, None, target.pk)
            if key in by_key:
                raise self.doc.error(path, "the same subscription is defined twice")
            obj = rows.get(stored, row_key) or Subscription(**lookup)
            for name, value in lookup.items():  # a stored row: its relations without a query
                setattr(obj, name, value)
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
            self._check(obj, path)
            rows.keep(obj)
            by_key[key] = obj
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
            self._check(mirror, ("subscriptions", i))
        # A new mirror is created after its primary, so its first history record has it.
        rows.write(after=("mirror_of",))
        self._prune(
            Subscription.objects.filter(channel__topology=self.topology),
            [s.pk for s in by_key.values()],
        )

    def _rules(self) -> None:
        keep: list[int] = []
        seen: set[tuple[str, str]] = set()
        stored = {(r.bus_id, r.name): r for r in Rule.objects.filter(bus__topology=self.topology)}
        self.stored_targets: dict[int, dict[tuple[Any, Any], Target]] = {}
        for t in Target.objects.filter(rule__bus__topology=self.topology):
            self.stored_targets.setdefault(t.rule_id, {})[(t.channel_id, t.consumer_id)] = t
        for i, item in enumerate(self.data.get("rules", [])):
            path: KeyPath = ("rules", i)
            bus = self._ref(self.channels, item["bus"], (*path, "bus"), "channel")
            if (item["bus"], item["name"]) in seen:
                raise self.doc.error(path, f"rule {item['name']!r} defined twice on {bus.name}")
            seen.add((item["bus"], item["name"]))
            obj = stored.get((bus.pk, item["name"])) or Rule(bus=bus, name=item["name"])
            obj.bus = bus
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
        stored = self.stored_targets.get(obj.pk, {})
        rows = _Rows(Target)
        kept: list[Target] = []
        for j, target_item in enumerate(item.get("targets", [])):
            tpath: KeyPath = (*path, "targets", j)
            if "channel" in target_item:
                dest = self._ref(
                    self.channels, target_item["channel"], (*tpath, "channel"), "channel"
                )
                lookup: dict[str, Any] = {"rule": obj, "channel": dest, "consumer": None}
                row_key: tuple[Any, Any] = (dest.pk, None)
            else:
                dest = self._ref(
                    self.consumers, target_item["consumer"], (*tpath, "consumer"), "consumer"
                )
                lookup = {"rule": obj, "consumer": dest, "channel": None}
                row_key = (None, dest.pk)
            target = rows.get(stored, row_key) or Target(**lookup)
            for name, value in lookup.items():
                setattr(target, name, value)
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
            self._check(target, tpath)
            rows.keep(target)
            kept.append(target)
        rows.write()
        gone = [t.pk for t in stored.values() if t not in kept]
        if gone:
            Target.objects.filter(pk__in=gone).delete()


def _foreign_keys(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.is_relation]


def _values(obj: models.Model) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.attname) for f in obj._meta.concrete_fields)


def _history_user() -> Any:
    """Who a bulk-created history record names: the request's user, as a save would."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


class _Rows:
    """The rows of one model a load writes: new ones created in bulk, changed ones saved.

    ``get`` hands out a stored row and remembers its values; ``write`` creates the rows
    without a primary key in one insert (with their history records when the model keeps
    history) and saves each stored row whose values differ from what was read. ``later``
    names self-references (a queue's dead-letter queue) a new row can only get once every
    new row has a primary key; ``after`` names those that make a new row wait for the
    others to be created first (a mirror and its primary), so its one creation is whole.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.before: dict[int, tuple[Any, ...]] = {}
        self.rows: list[models.Model] = []
        self.history = hasattr(model, "history")

    def get(self, stored: dict[Any, Any], key: Any) -> Any:
        obj = stored.get(key)
        if obj is not None:
            self.before[id(obj)] = _values(obj)
        return obj

    def keep(self, obj: models.Model) -> None:
        self.rows.append(obj)

    def write(self, *, later: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> None:
        new = [o for o in self.rows if o.pk is None]
        waiting = [o for o in new if any(getattr(o, name) is not None for name in after)]
        first = [o for o in new if o not in waiting]
        deferred: dict[int, dict[str, Any]] = {}
        for obj in first:
            values = {name: getattr(obj, name) for name in later if getattr(obj, name)}
            if values:
                deferred[id(obj)] = values
                for name in values:
                    setattr(obj, name, None)
        self._create(first)
        if waiting:
            for obj in waiting:  # point at the rows just created
                for name in after:
                    setattr(obj, name, getattr(obj, name))
            self._create(waiting)
        fixed = []
        for obj in first:
            for name, value in deferred.get(id(obj), {}).items():
                setattr(obj, name, value)
                fixed.append(obj)
        if fixed:
            self.model._default_manager.bulk_update(fixed, list(later))
        for obj in self.rows:
            before = self.before.get(id(obj))
            if before is None:
                continue
            # A reference to a row created above: its id is known only now.
            for field in obj._meta.concrete_fields:
                related = field.get_cached_value(obj, None) if field.is_relation else None
                if related is not None and getattr(obj, field.attname) != related.pk:
                    setattr(obj, field.attname, related.pk)
            if before != _values(obj):
                obj.save()
        self.rows = []

    def _create(self, objs: list[models.Model]) -> None:
        if not objs:
            return
        if self.history:
            bulk_create_with_history(objs, self.model, default_user=_history_user())
        else:
            self.model._default_manager.bulk_create(objs)
