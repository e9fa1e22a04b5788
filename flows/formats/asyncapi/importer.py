"""AsyncAPI 2.x and 3.0 documents -> a topology in the scenario shape.

How a document maps (``README.md`` tells a person the same):

- A channel with an ``sqs`` binding is a queue (its ``queue``: FIFO, visibility timeout,
  redrive policy -> dead-letter queue and max receives; its ``deadLetterQueue``), one with
  an ``sns`` binding a topic; ``x-eventviz-kind`` says ``bus`` or ``direct`` (AsyncAPI has
  no binding for those). A channel with neither is a topic: AsyncAPI channels are
  publish-subscribe unless a binding says otherwise.
- A ``send`` operation (2.x: ``subscribe``, "the application sends") is a producer of its
  messages into its channel; a ``receive`` operation (2.x: ``publish``) is a consumer
  subscribed to its channel. An ``sns`` operation binding's ``consumers`` are the topic's
  subscriptions (filter policy and scope, redrive policy), to queues (protocol ``sqs``)
  or to consumers (any other protocol).
- Messages are message types; their payload is the type's JSON Schema, ``$ref``s
  resolved (``refs.Refs``), and their examples become the producers' payloads (headers
  become message attributes, for topic filter policies). A message without examples
  gets a payload template built from its schema.
- EventBridge buses and rules travel as ``x-eventviz-...`` extensions, as does what the
  specification has no field for (a consumer's latency, a producer's rate); a document
  EventViz exported carries them all, so it imports back to the same topology.

Every part ends up in the report: imported as what, not modelled, or refused.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import yaml
from django.utils.text import slugify

from flows.formats import apply as apply_mod
from flows.formats import yamldoc
from flows.formats.asyncapi.messages import EXT, Messages, as_dict, ext
from flows.formats.asyncapi.refs import RefError, Refs
from flows.formats.report import IMPORTED, INFERRED, NOT_MODELLED, REFUSED, ImportReport
from flows.formats.yamldoc import KeyPath, format_path
from flows.routing import (
    EventPattern,
    FilterPolicy,
    InputTransformer,
    InvalidFilterPolicy,
    InvalidPattern,
    InvalidTransformer,
)

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
KINDS = ("queue", "topic", "bus", "direct")
CHANNEL_KEYS = ("description", "visibility_timeout", "max_receives", "dead_letter_queue", "fifo")
# SQS queue attributes the binding describes that the simulation has no notion of.
_QUEUE_NOT_MODELLED = (
    "deliveryDelay",
    "receiveMessageWaitTime",
    "messageRetentionPeriod",
    "deduplicationScope",
    "fifoThroughputLimit",
    "policy",
)

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AsyncAPIError(yamldoc.DocumentError):
    """A document that cannot be read as AsyncAPI at all (nothing is imported)."""


def document_read(text: str | bytes, origin: str) -> dict[str, Any]:
    """The document as plain JSON values, within yamldoc's bounds."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise AsyncAPIError(f"{origin}: not UTF-8 text") from None
    doc = yamldoc.parse(
        text, origin, loader=_Loader, max_bytes=MAX_DOCUMENT_BYTES, error=AsyncAPIError
    )
    data = _plain(doc.data)
    if not isinstance(data, dict) or "asyncapi" not in data:
        raise AsyncAPIError(f"{origin}: no 'asyncapi' field: this is not an AsyncAPI document")
    return data


def _plain(value: Any) -> Any:
    """YAML dates as the text they were (JSON has no dates)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def asyncapi_import(
    *, text: str | bytes, origin: str = "asyncapi.yaml", slug: str | None = None
) -> ImportReport:
    """Import an AsyncAPI 2.x/3.0 document into the topology ``slug`` (default: file name)."""
    report = ImportReport(origin=origin)
    slug = slug or slugify(Path(origin).stem) or "imported"
    try:
        document = document_read(text, origin)
        builder = _Builder(document, report, slug)
        data = builder.build()
    except (AsyncAPIError, RefError) as exc:
        report.error = str(exc)
        return report
    if not data.get("channels"):
        report.error = "no channel EventViz can model"
        return report
    try:
        applied = apply_mod.topology_apply(data=data, origin=origin, sources=builder.sources)
    except apply_mod.ImportError_ as exc:
        report.error = str(exc)
        return report
    report.topology, report.created, report.changes = (
        applied.topology,
        applied.created,
        applied.changes,
    )
    return report


def _arn_name(value: Any) -> str | None:
    """The last part of an ARN (``arn:aws:sqs:eu-west-1:123:orders`` -> ``orders``)."""
    if isinstance(value, str) and value.startswith("arn:"):
        return re.split(r"[:/]", value)[-1] or None
    return None


def _identifier(value: Any) -> str | None:
    """A binding's identifier object (name, arn, url, ...) as a name."""
    value = as_dict(value)
    if isinstance(value.get("name"), str):
        return value["name"]
    return _arn_name(value.get("arn"))


class _Builder:
    def __init__(self, document: dict[str, Any], report: ImportReport, slug: str) -> None:
        self.doc = document
        self.report = report
        self.refs = Refs(document)
        self.messages = Messages(self.refs, self.add, self.refused)
        version = str(document.get("asyncapi", ""))
        if re.match(r"^3\.0(\.\d+)?$", version):
            self.v3 = True
        elif re.match(r"^2\.[0-6](\.\d+)?$", version):
            self.v3 = False
        else:
            raise AsyncAPIError(
                f"{report.origin}: asyncapi {version!r}: EventViz reads AsyncAPI 2.0-2.6 and 3.0"
            )
        self.data: dict[str, Any] = {
            "slug": slug,
            "message_types": [],
            "channels": [],
            "consumers": [],
            "producers": [],
            "subscriptions": [],
            "rules": [],
        }
        self.sources: dict[KeyPath, str] = {}
        self.channel_by_key: dict[str, dict[str, Any]] = {}  # document key -> channel item
        self.channel_messages: dict[str, list[tuple[str, int]]] = {}  # channel key -> types
        self.kinds: dict[str, str] = {}  # channel name -> kind
        self.consumers: dict[str, dict[str, Any]] = {}
        self.subscribed: set[tuple[str, str, str]] = set()
        self.producer_names: set[str] = set()

    # report helpers -------------------------------------------------------------------

    def add(self, status: str, path: KeyPath, kind: str, detail: str) -> None:
        self.report.add(status, format_path(path) or "(document)", kind, detail)

    def refused(self, path: KeyPath, kind: str, exc: RefError) -> None:
        same = exc.where == format_path(path)
        self.add(REFUSED, path, kind, exc.detail if same else str(exc))

    def shallow(self, node: Any, path: KeyPath, kind: str) -> Any:
        """``node`` with its ``$ref`` followed; None (reported as refused) when it cannot be."""
        try:
            return self.refs.shallow(node, path)
        except RefError as exc:
            self.refused(path, kind, exc)
            return None

    # build ----------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        info = as_dict(self.doc.get("info"))
        self.data["name"] = str(info.get("title") or self.data["slug"]).strip()[:200]
        if isinstance(info.get("description"), str) and info["description"].strip():
            self.data["description"] = info["description"]
        topology = as_dict(ext(info, "topology"))
        for key in ("public", "featured", "script"):
            if key in topology:
                self.data[key] = topology[key]
        for name in as_dict(self.doc.get("servers")):
            self.add(
                NOT_MODELLED, ("servers", name), "server", "EventViz simulates the broker itself"
            )
        # Every message under components is a message type, used by a channel or not.
        components = as_dict(self.doc.get("components"))
        for key, raw in as_dict(components.get("messages")).items():
            self.messages.read(("components", "messages", key), raw, key)
        channels, operations = self._v3_parts() if self.v3 else self._v2_parts()
        for key, path, obj in channels:
            self._channel(key, path, obj)
        for key, path, obj in channels:
            self._sqs_dead_letter_queue(key, path, obj)
        for op in operations:
            self._operation(*op)
        self._declared_consumers()
        for key, path, obj in channels:
            self._rules(key, path, obj)
        self._check_references()
        self.data["message_types"] = list(self.messages.types.values())
        self.data["consumers"] = list(self.consumers.values())
        return {k: v for k, v in self.data.items() if v != []}

    # the two versions' shapes -> (channels, operations) --------------------------------

    def _v3_parts(self) -> tuple[list[Any], list[Any]]:
        channels: list[tuple[str, KeyPath, dict[str, Any]]] = []
        for key, raw in as_dict(self.doc.get("channels")).items():
            path: KeyPath = ("channels", key)
            obj = self.shallow(raw, path, "channel")
            if isinstance(obj, dict):
                channels.append((key, path, obj))
                messages = []
                for mkey, mraw in as_dict(obj.get("messages")).items():
                    found = self.messages.read((*path, "messages", mkey), mraw, mkey)
                    if found:
                        messages.append(found)
                self.channel_messages[key] = messages
        operations: list[Any] = []
        for key, raw in as_dict(self.doc.get("operations")).items():
            path = ("operations", key)
            obj = self.shallow(raw, path, "operation")
            if not isinstance(obj, dict):
                continue
            ref = as_dict(obj.get("channel")).get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/channels/"):
                self.add(REFUSED, (*path, "channel"), "operation", "no '#/channels/...' $ref")
                continue
            channel_key = ref[len("#/channels/") :].replace("~1", "/").replace("~0", "~")
            if channel_key not in self.channel_messages:
                self.add(REFUSED, (*path, "channel"), "operation", f"$ref {ref!r}: no such channel")
                continue
            action = obj.get("action")
            if action not in ("send", "receive"):
                self.add(REFUSED, (*path, "action"), "operation", f"unknown action {action!r}")
                continue
            if obj.get("reply"):
                self.add(NOT_MODELLED, (*path, "reply"), "operation", "request/reply")
            messages = None
            if "messages" in obj:
                messages = []
                for i, mraw in enumerate(obj.get("messages") or []):
                    mkey = str(as_dict(mraw).get("$ref", f"message{i}")).rsplit("/", 1)[-1]
                    found = self.messages.read((*path, "messages", i), mraw, mkey)
                    if found:
                        messages.append(found)
            operations.append((key, path, action, channel_key, obj, messages))
        return channels, operations

    def _v2_parts(self) -> tuple[list[Any], list[Any]]:
        channels: list[tuple[str, KeyPath, dict[str, Any]]] = []
        operations: list[Any] = []
        for key, raw in as_dict(self.doc.get("channels")).items():
            path: KeyPath = ("channels", key)
            obj = self.shallow(raw, path, "channel")
            if not isinstance(obj, dict):
                continue
            channels.append((key, path, obj))
            self.channel_messages[key] = []
            # 2.x names operations from the side of the application's clients:
            # "subscribe" documents messages the application sends (clients subscribe to
            # them), "publish" the messages it receives. 3.0 says send and receive.
            for verb, action in (("subscribe", "send"), ("publish", "receive")):
                if verb not in obj:
                    continue
                opath = (*path, verb)
                op = self.shallow(obj[verb], opath, "operation")
                if not isinstance(op, dict):
                    continue
                messages = []
                raw_message = self.shallow(op.get("message"), (*opath, "message"), "message")
                if isinstance(raw_message, dict) and isinstance(raw_message.get("oneOf"), list):
                    listed = [
                        ((*opath, "message", "oneOf", i), m)
                        for i, m in enumerate(raw_message["oneOf"])
                    ]
                elif raw_message is not None:
                    listed = [((*opath, "message"), op.get("message"))]
                else:
                    listed = []
                for mpath, mraw in listed:
                    mkey = str(as_dict(mraw).get("$ref", "")).rsplit("/", 1)[-1]
                    found = self.messages.read(mpath, mraw, mkey or f"{key}-{verb}")
                    if found:
                        messages.append(found)
                        if found not in self.channel_messages[key]:
                            self.channel_messages[key].append(found)
                opkey = op.get("operationId") if isinstance(op.get("operationId"), str) else None
                operations.append(
                    (opkey or f"{key} {verb}", opath, action, key, op, messages or None)
                )
        return channels, operations

    # channels -------------------------------------------------------------------------

    def _channel(self, key: str, path: KeyPath, obj: dict[str, Any]) -> None:
        bindings = as_dict(self.shallow(obj.get("bindings"), (*path, "bindings"), "channel"))
        sqs = as_dict(bindings.get("sqs"))
        sns = as_dict(bindings.get("sns"))
        declared = ext(obj, "kind")
        notes: list[str] = []
        if declared in KINDS:
            kind = declared
        elif "sqs" in bindings:
            kind = "queue"
        elif "sns" in bindings:
            kind = "topic"
        else:
            kind = "topic"
            notes.append("no sqs or sns binding: a publish-subscribe channel")
        for other in bindings:
            if other not in ("sqs", "sns") and not other.startswith("x-"):
                self.add(NOT_MODELLED, (*path, "bindings", other), "channel binding", other)
        queue = as_dict(sqs.get("queue"))
        address = obj.get("address") if self.v3 else key
        candidates = [
            queue.get("name") if kind == "queue" else None,
            sns.get("name") if kind == "topic" else None,
            address,
            key,
        ]
        name = next(str(c) for c in candidates if isinstance(c, str) and c)[:200]
        if name in self.kinds:
            name = key if key not in self.kinds else f"{key}-{len(self.kinds)}"
        item: dict[str, Any] = {"name": name, "kind": kind}
        if isinstance(obj.get("description"), str) and obj["description"]:
            item["description"] = obj["description"]
        if kind == "queue":
            item.update(self._queue_attributes(queue, (*path, "bindings", "sqs", "queue"), notes))
        if kind == "topic" and as_dict(sns.get("ordering")).get("type") == "FIFO":
            notes.append("FIFO topic: its ordering is not modelled")
        extra = as_dict(ext(obj, "channel"))
        item.update({k: v for k, v in extra.items() if k in CHANNEL_KEYS})
        if kind == "bus" and isinstance(extra.get("archive"), dict):
            item["archive"] = extra["archive"]
        self.sources[("channels", len(self.data["channels"]))] = format_path(path)
        self.data["channels"].append(item)
        self.channel_by_key[key] = item
        self.kinds[name] = kind
        detail = f"{kind} {name!r}" + (f" ({'; '.join(notes)})" if notes else "")
        self.add(IMPORTED, path, "channel", detail)

    def _queue_attributes(
        self, queue: dict[str, Any], path: KeyPath, notes: list[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if queue.get("fifoQueue") is True:
            out["fifo"] = True
            notes.append("FIFO")
        timeout = queue.get("visibilityTimeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            out["visibility_timeout"] = float(timeout)
        redrive = as_dict(queue.get("redrivePolicy"))
        dead = _identifier(redrive.get("deadLetterQueue"))
        if dead:
            out["dead_letter_queue"] = dead
            count = redrive.get("maxReceiveCount", 10)  # the binding's default
            if isinstance(count, int) and not isinstance(count, bool):
                out["max_receives"] = max(1, min(1000, count))
            notes.append(f"dead-letter queue {dead} after {out.get('max_receives')} receives")
        for attribute in _QUEUE_NOT_MODELLED:
            if attribute in queue and queue[attribute] not in (0, False, None):
                self.add(NOT_MODELLED, (*path, attribute), "queue attribute", attribute)
        return out

    def _sqs_dead_letter_queue(self, key: str, path: KeyPath, obj: dict[str, Any]) -> None:
        """An sqs binding's ``deadLetterQueue``: a queue of its own, unless already a channel."""
        item = self.channel_by_key.get(key)
        if item is None or item["kind"] != "queue":
            return
        bindings = as_dict(self.refs.shallow(obj.get("bindings"), (*path, "bindings")))
        queue = as_dict(as_dict(bindings.get("sqs")).get("deadLetterQueue"))
        name = queue.get("name")
        if not isinstance(name, str) or not name:
            return
        if name not in self.kinds:
            notes: list[str] = []
            dlq: dict[str, Any] = {"name": name, "kind": "queue"}
            dpath = (*path, "bindings", "sqs", "deadLetterQueue")
            dlq.update(self._queue_attributes(queue, dpath, notes))
            self.data["channels"].append(dlq)
            self.kinds[name] = "queue"
            self.add(
                IMPORTED,
                dpath,
                "channel",
                f"queue {name!r} (dead-letter queue of {item['name']!r})",
            )
        if self.kinds[name] == "queue" and name != item["name"]:
            item.setdefault("dead_letter_queue", name)
            item.setdefault("max_receives", 10)

    def _queue_definitions(self, path: KeyPath, queues: Any) -> None:
        """An sqs operation binding's ``queues``: queues the operation uses, defined there."""
        for i, queue in enumerate(queues if isinstance(queues, list) else []):
            queue = as_dict(queue)
            name = queue.get("name")
            if not isinstance(name, str) or not name or name in self.kinds:
                continue
            notes: list[str] = []
            item: dict[str, Any] = {"name": name, "kind": "queue"}
            item.update(self._queue_attributes(queue, (*path, i), notes))
            self.data["channels"].append(item)
            self.kinds[name] = "queue"
            self.add(IMPORTED, (*path, i), "channel", f"queue {name!r} (from an operation binding)")

    # operations -----------------------------------------------------------------------

    def _operation(
        self,
        key: str,
        path: KeyPath,
        action: str,
        channel_key: str,
        obj: dict[str, Any],
        messages: list[tuple[str, int]] | None,
    ) -> None:
        channel = self.channel_by_key.get(channel_key)
        if channel is None:
            self.add(REFUSED, path, "operation", f"its channel {channel_key!r} is not imported")
            return
        types = messages if messages is not None else self.channel_messages.get(channel_key, [])
        bindings = as_dict(self.shallow(obj.get("bindings"), (*path, "bindings"), "operation"))
        for other in bindings:
            if other not in ("sqs", "sns") and not other.startswith("x-"):
                self.add(NOT_MODELLED, (*path, "bindings", other), "operation binding", other)
        self._queue_definitions(
            (*path, "bindings", "sqs", "queues"), as_dict(bindings.get("sqs")).get("queues")
        )
        sns_consumers = as_dict(bindings.get("sns")).get("consumers")
        if isinstance(sns_consumers, list) and sns_consumers:
            if channel["kind"] == "topic":
                for i, entry in enumerate(sns_consumers):
                    self._sns_subscription(
                        (*path, "bindings", "sns", "consumers", i), channel["name"], as_dict(entry)
                    )
            else:
                self.add(
                    REFUSED,
                    (*path, "bindings", "sns"),
                    "operation binding",
                    f"sns consumers on {channel['name']!r}, which is a {channel['kind']}",
                )
        if action == "send":
            self._producer(key, path, channel, obj, types)
        elif not (isinstance(sns_consumers, list) and sns_consumers):
            self._receiver(key, path, channel, obj, types)

    def _producer(
        self,
        key: str,
        path: KeyPath,
        channel: dict[str, Any],
        obj: dict[str, Any],
        types: list[tuple[str, int]],
    ) -> None:
        extra = as_dict(ext(obj, "producer"))
        name = str(extra.get("name") or key)[:200]
        while name in self.producer_names:
            name = f"{name} 2"
        self.producer_names.add(name)
        item: dict[str, Any] = {"name": name, "channel": channel["name"]}
        item.update({k: v for k, v in extra.items() if k in ("rate", "jitter", "burst", "paused")})
        if isinstance(extra.get("emits"), list) and extra["emits"]:
            item["emits"] = extra["emits"]
        else:
            item["emits"] = self.messages.emits(types, channel["kind"], path)
        self.sources[("producers", len(self.data["producers"]))] = format_path(path)
        self.data["producers"].append(item)
        emitted = ", ".join(e["type"] for e in item["emits"])
        self.add(
            IMPORTED, path, "operation", f"producer {name!r} → {channel['name']} emitting {emitted}"
        )

    def _consumer(self, name: str) -> str:
        if name not in self.consumers:
            self.consumers[name] = {"name": name}
        return name

    def _subscribe(self, path: KeyPath, item: dict[str, Any], what: str) -> None:
        key = (
            item["channel"],
            "consumer" if "consumer" in item else "channel",
            item.get("consumer") or item["target_channel"],
        )
        if key in self.subscribed:
            return
        self.subscribed.add(key)
        self.sources[("subscriptions", len(self.data["subscriptions"]))] = format_path(path)
        self.data["subscriptions"].append(item)
        self.add(IMPORTED, path, what, f"subscription {item['channel']} → {key[2]}")

    def _receiver(
        self,
        key: str,
        path: KeyPath,
        channel: dict[str, Any],
        obj: dict[str, Any],
        types: list[tuple[str, int]],
    ) -> None:
        named = ext(obj, "consumer")
        consumer = self._consumer(str(named if isinstance(named, str) and named else key)[:200])
        if channel["kind"] == "bus":
            names = sorted({t[0] for t in types})
            pattern: dict[str, Any] = (
                {"detail-type": names} if names else {"detail-type": [{"exists": True}]}
            )
            rule = {
                "name": str(key)[:200],
                "bus": channel["name"],
                "pattern": pattern,
                "targets": [{"consumer": consumer}],
            }
            self.sources[("rules", len(self.data["rules"]))] = format_path(path)
            self.data["rules"].append(rule)
            self.add(
                INFERRED,
                path,
                "operation",
                f"rule {key!r} on {channel['name']} → {consumer} "
                f"for {', '.join(names) or 'every event'}",
            )
            return
        item: dict[str, Any] = {"channel": channel["name"], "consumer": consumer}
        item.update(self._subscription_extra(ext(obj, "subscription"), path))
        self._subscribe(path, item, "operation")

    def _subscription_extra(self, extra: Any, path: KeyPath) -> dict[str, Any]:
        allowed = ("filter_policy", "filter_scope", "dead_letter_queue", "max_retries", "mirror_of")
        out = {k: v for k, v in as_dict(extra).items() if k in allowed}
        if "filter_policy" in out and not self._policy_ok(
            path, out["filter_policy"], out.get("filter_scope", "MessageAttributes")
        ):
            out.pop("filter_policy")
            out.pop("filter_scope", None)
        return out

    def _policy_ok(self, path: KeyPath, policy: Any, scope: Any) -> bool:
        try:
            FilterPolicy(policy, scope=scope)
        except (InvalidFilterPolicy, ValueError, TypeError) as exc:
            self.add(REFUSED, path, "filter policy", f"SNS would refuse it: {exc} (left out)")
            return False
        return True

    def _sns_subscription(self, path: KeyPath, topic: str, entry: dict[str, Any]) -> None:
        protocol = str(entry.get("protocol", "")).lower()
        endpoint = as_dict(entry.get("endpoint"))
        item: dict[str, Any] = {"channel": topic}
        if protocol == "sqs":
            queue = _identifier(endpoint)
            if queue is None or self.kinds.get(queue) != "queue":
                self.add(
                    REFUSED,
                    path,
                    "sns consumer",
                    f"sqs endpoint {queue or endpoint!r} is not a queue of this document",
                )
                return
            item["target_channel"] = queue
        policy = entry.get("filterPolicy")
        scope = entry.get("filterPolicyScope", "MessageAttributes")
        if policy is not None and not self._policy_ok(path, policy, scope):
            return
        if protocol != "sqs":
            name = _identifier(endpoint)
            if name is None:
                for field in ("url", "email", "phone"):
                    if isinstance(endpoint.get(field), str):
                        value = endpoint[field]
                        name = value if field == "url" else f"{protocol}:{value}"
                        break
            if not name:
                self.add(
                    REFUSED,
                    path,
                    "sns consumer",
                    "an endpoint with no name, arn, url, email or phone",
                )
                return
            item["consumer"] = self._consumer(name[:200])
        if policy is not None:
            item["filter_policy"] = policy
            if scope != "MessageAttributes":
                item["filter_scope"] = scope
        dead = _identifier(as_dict(entry.get("redrivePolicy")).get("deadLetterQueue"))
        if dead:
            item["dead_letter_queue"] = dead
        if entry.get("rawMessageDelivery") is True:
            self.add(
                NOT_MODELLED,
                (*path, "rawMessageDelivery"),
                "sns consumer",
                "raw delivery (the envelope is always kept)",
            )
        item.update(self._subscription_extra(ext(entry, "subscription"), path))
        self._subscribe(path, item, "sns consumer")

    def _declared_consumers(self) -> None:
        """Consumer settings the document carries (an EventViz export: ``x-eventviz-consumers``)."""
        for i, extra in enumerate(ext(self.doc, "consumers") or []):
            extra = as_dict(extra)
            name = extra.get("name")
            if not isinstance(name, str) or not name:
                continue
            self.consumers[self._consumer(name)].update(extra)
            self.sources[("consumers", list(self.consumers).index(name))] = format_path(
                (EXT + "consumers", i)
            )

    # buses ----------------------------------------------------------------------------

    def _rules(self, key: str, path: KeyPath, obj: dict[str, Any]) -> None:
        channel = self.channel_by_key.get(key)
        rules = ext(obj, "rules")
        if channel is None or rules is None:
            return
        rpath: KeyPath = (*path, EXT + "rules")
        if channel["kind"] != "bus":
            self.add(
                REFUSED, rpath, "rules", f"{channel['name']!r} is a {channel['kind']}, not a bus"
            )
            return
        for i, raw in enumerate(rules if isinstance(rules, list) else []):
            self._rule((*rpath, i), channel["name"], as_dict(raw))

    def _rule(self, path: KeyPath, bus: str, raw: dict[str, Any]) -> None:
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            self.add(REFUSED, path, "rule", "a rule has a name")
            return
        try:
            EventPattern(raw.get("pattern"))
        except (InvalidPattern, TypeError, ValueError) as exc:
            self.add(
                REFUSED, path, "rule", f"{name!r}: EventBridge would refuse its pattern: {exc}"
            )
            return
        item: dict[str, Any] = {"name": name, "bus": bus, "pattern": raw["pattern"]}
        for key in ("description", "enabled"):
            if key in raw:
                item[key] = raw[key]
        targets = []
        for j, target in enumerate(raw.get("targets") or []):
            target = as_dict(target)
            tpath = (*path, "targets", j)
            if "channel" in target:
                if self.kinds.get(target["channel"]) is None or target["channel"] == bus:
                    self.add(
                        REFUSED,
                        tpath,
                        "rule target",
                        f"{target['channel']!r} is not another channel of this document",
                    )
                    continue
            elif isinstance(target.get("consumer"), str):
                self._consumer(target["consumer"])
            else:
                self.add(REFUSED, tpath, "rule target", "a target names a channel or a consumer")
                continue
            transformer = as_dict(target.get("input_transformer"))
            if transformer:
                try:
                    InputTransformer(
                        transformer.get("InputPathsMap") or {}, transformer.get("InputTemplate", "")
                    )
                except (InvalidTransformer, ValueError, TypeError) as exc:
                    self.add(
                        REFUSED,
                        tpath,
                        "rule target",
                        f"EventBridge would refuse the input transformer: {exc}",
                    )
                    continue
            targets.append(target)
        item["targets"] = targets
        self.sources[("rules", len(self.data["rules"]))] = format_path(path)
        self.data["rules"].append(item)
        self.add(IMPORTED, path, "rule", f"rule {name!r} on {bus}, {len(targets)} target(s)")

    def _check_references(self) -> None:
        """Dead-letter queues must be queues of the document: the rest is dropped, and said."""

        def dead_ok(holder: dict[str, Any], what: str) -> None:
            dead = holder.get("dead_letter_queue")
            if dead is not None and self.kinds.get(dead) != "queue":
                holder.pop("dead_letter_queue")
                self.report.add(
                    REFUSED,
                    what,
                    "dead-letter queue",
                    f"{dead!r} is not a queue of this document (left out)",
                )

        for channel in self.data["channels"]:
            dead_ok(channel, channel["name"])
        for sub in self.data["subscriptions"]:
            dead_ok(sub, f"{sub['channel']} → {sub.get('consumer') or sub.get('target_channel')}")
        for rule in self.data["rules"]:
            for target in rule["targets"]:
                dead_ok(target, f"{rule['bus']}/{rule['name']}")
