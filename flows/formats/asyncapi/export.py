"""A topology as an AsyncAPI 3.0 document that validates against the official schema.

What AsyncAPI says, it says in its own words: channels with the ``sqs`` binding (queue
name, FIFO, visibility timeout, redrive policy) or the ``sns`` binding (topic name);
``send`` operations for producers and ``receive`` operations for subscriptions, a topic's
subscribers in the ``sns`` operation binding's ``consumers`` (protocol ``lambda`` for a
consumer, ``sqs`` for a queue, with filter policy, scope and redrive policy); messages
with their JSON Schema payloads and an example rendered from each producer's template.

What it has no words for travels as ``x-eventviz-...`` extensions, which every AsyncAPI
tool keeps and ignores: the kind of a bus or direct channel and a bus's rules
(``x-eventviz-kind``, ``x-eventviz-rules``), a message's kind, version and source, a
producer's rate and payload templates, consumer settings, and a subscription's retries
and mirror. A filter policy the sns binding's schema refuses (numbers, ``$or``) goes
there too. So ``asyncapi_import`` reads the export back to the same topology.
"""

from __future__ import annotations

import random
import re
from typing import Any

import yaml

from flows.engine import generators
from flows.formats.asyncapi.messages import EXT
from flows.formats.scenario import scenario_dump
from flows.models import Topology

SQS_BINDING = "0.2.0"
SNS_BINDING = "0.1.0"
_EXAMPLE_TIME = "2026-01-01T00:00:00Z"


class _Keys:
    """Map keys (``^[\\w\\d.\\-_]+$``, unique) from names."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, name: str) -> str:
        base = re.sub(r"[^\w.\-]+", "_", name).strip("_") or "x"
        key, n = base, 2
        while key in self.taken:
            key, n = f"{base}_{n}", n + 1
        self.taken.add(key)
        return key


def binding_policy_ok(policy: Any) -> bool:
    """Whether the sns binding's schema takes ``policy`` (strings, lists of strings, objects)."""
    if not isinstance(policy, dict):
        return False
    for key, value in policy.items():
        if key.startswith("x-") or key == "$or":
            return False
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return False
        if not isinstance(value, str | list | dict):
            return False
    return True


def asyncapi_export(topology: Topology) -> str:
    return yaml.safe_dump(
        asyncapi_document(topology), sort_keys=False, allow_unicode=True, width=100
    )


def asyncapi_document(topology: Topology) -> dict[str, Any]:
    dump = scenario_dump(topology)
    info: dict[str, Any] = {"title": dump["name"], "version": "1.0.0"}
    if dump.get("description"):
        info["description"] = dump["description"]
    extra = {k: dump[k] for k in ("public", "featured", "script") if k in dump}
    if extra:
        info[EXT + "topology"] = extra
    doc: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": info,
        "defaultContentType": "application/json",
        "channels": {},
        "operations": {},
        "components": {"messages": {}},
    }
    kinds = {c["name"]: c["kind"] for c in dump.get("channels", [])}

    # Messages: one component each; a name held by several versions gets the version in its key.
    message_keys = _Keys()
    versions: dict[str, int] = {}
    for t in dump.get("message_types", []):
        versions[t["name"]] = versions.get(t["name"], 0) + 1
    type_key: dict[tuple[str, int], str] = {}
    examples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for producer in dump.get("producers", []):
        for i, emit in enumerate(producer.get("emits", [])):
            version = emit.get("version") or max(
                t.get("version", 1) for t in dump["message_types"] if t["name"] == emit["type"]
            )
            examples.setdefault((emit["type"], version), []).append(
                _example(producer["name"], emit, i)
            )
    for t in dump.get("message_types", []):
        version = t.get("version", 1)
        key = message_keys(t["name"] if versions[t["name"]] == 1 else f"{t['name']}.v{version}")
        type_key[(t["name"], version)] = key
        message: dict[str, Any] = {"name": t["name"], "contentType": "application/json"}
        if t.get("schema"):
            message["payload"] = t["schema"]
        if examples.get((t["name"], version)):
            message["examples"] = examples[(t["name"], version)]
        message[EXT + "message"] = {k: t[k] for k in ("kind", "version", "source") if k in t}
        doc["components"]["messages"][key] = message

    # Channels.
    channel_keys = _Keys()
    channel_key: dict[str, str] = {}
    for channel in dump.get("channels", []):
        kind, name = channel["kind"], channel["name"]
        key = channel_keys(name)
        channel_key[name] = key
        item: dict[str, Any] = {"address": name, "messages": {}}
        if channel.get("description"):
            item["description"] = channel["description"]
        extra: dict[str, Any] = {}
        if kind == "queue":
            queue: dict[str, Any] = {"name": name, "fifoQueue": bool(channel.get("fifo"))}
            timeout = channel.get("visibility_timeout", 30.0)
            if float(timeout).is_integer():
                queue["visibilityTimeout"] = int(timeout)
            else:
                extra["visibility_timeout"] = timeout
            if "dead_letter_queue" in channel and "max_receives" in channel:
                queue["redrivePolicy"] = {
                    "deadLetterQueue": {"name": channel["dead_letter_queue"]},
                    "maxReceiveCount": channel["max_receives"],
                }
            else:  # half a redrive policy, which SQS has no form for
                for k in ("dead_letter_queue", "max_receives"):
                    if k in channel:
                        extra[k] = channel[k]
            item["bindings"] = {"sqs": {"queue": queue, "bindingVersion": SQS_BINDING}}
        elif kind == "topic":
            item["bindings"] = {"sns": {"name": name, "bindingVersion": SNS_BINDING}}
        if "archive" in channel:
            extra["archive"] = channel["archive"]
        item[EXT + "kind"] = kind
        if extra:
            item[EXT + "channel"] = extra
        rules = [
            {k: v for k, v in rule.items() if k != "bus"}
            for rule in dump.get("rules", [])
            if rule["bus"] == name
        ]
        if rules:
            item[EXT + "rules"] = rules
        doc["channels"][key] = item

    def channel_message(channel: str, t: tuple[str, int]) -> dict[str, str]:
        key = type_key[t]
        doc["channels"][channel_key[channel]]["messages"][key] = {
            "$ref": f"#/components/messages/{key}"
        }
        return {"$ref": f"#/channels/{channel_key[channel]}/messages/{key}"}

    def channel_ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/channels/{channel_key[name]}"}

    operation_keys = _Keys()
    latest = {}
    for t in dump.get("message_types", []):
        latest[t["name"]] = max(latest.get(t["name"], 0), t.get("version", 1))
    for producer in dump.get("producers", []):
        refs = []
        for emit in producer.get("emits", []):
            t = (emit["type"], emit.get("version") or latest[emit["type"]])
            ref = channel_message(producer["channel"], t)
            if ref not in refs:
                refs.append(ref)
        doc["operations"][operation_keys(f"send-{producer['name']}")] = {
            "action": "send",
            "channel": channel_ref(producer["channel"]),
            "messages": refs,
            EXT + "producer": {k: v for k, v in producer.items() if k != "channel"},
        }

    for sub in dump.get("subscriptions", []):
        channel = sub["channel"]
        who = sub.get("consumer") or sub["target_channel"]
        operation: dict[str, Any] = {"action": "receive", "channel": channel_ref(channel)}
        extra = {k: sub[k] for k in ("max_retries", "mirror_of") if k in sub}
        if kinds[channel] == "topic":
            entry: dict[str, Any] = {
                "protocol": "sqs" if "target_channel" in sub else "lambda",
                "endpoint": {"name": who},
                "rawMessageDelivery": False,
            }
            if "filter_policy" in sub:
                if binding_policy_ok(sub["filter_policy"]):
                    entry["filterPolicy"] = sub["filter_policy"]
                    entry["filterPolicyScope"] = sub.get("filter_scope", "MessageAttributes")
                else:
                    extra["filter_policy"] = sub["filter_policy"]
                    if "filter_scope" in sub:
                        extra["filter_scope"] = sub["filter_scope"]
            if "dead_letter_queue" in sub:
                entry["redrivePolicy"] = {"deadLetterQueue": {"name": sub["dead_letter_queue"]}}
            if extra:
                entry[EXT + "subscription"] = extra
            operation["bindings"] = {"sns": {"consumers": [entry], "bindingVersion": SNS_BINDING}}
        else:
            extra.update(
                {
                    k: sub[k]
                    for k in ("filter_policy", "filter_scope", "dead_letter_queue")
                    if k in sub
                }
            )
            operation[EXT + "consumer"] = who
            if extra:
                operation[EXT + "subscription"] = extra
        doc["operations"][operation_keys(f"receive-{who}-from-{channel}")] = operation

    if dump.get("consumers"):
        doc[EXT + "consumers"] = dump["consumers"]
    for section in ("channels", "operations"):
        if not doc[section]:
            del doc[section]
    for item in doc.get("channels", {}).values():
        if not item["messages"]:
            del item["messages"]
    if not doc["components"]["messages"]:
        del doc["components"]
    return doc


def _example(producer: str, emit: dict[str, Any], i: int) -> dict[str, Any]:
    """One message the producer's template renders (seeded: the same every export)."""
    example: dict[str, Any] = {"name": f"{producer}-{i}"[:200]}
    rng = random.Random(f"{producer}/{i}")
    try:
        example["payload"] = generators.render(
            emit.get("payload", {}), rng=rng, number=0, time=_EXAMPLE_TIME
        )
        if emit.get("attributes"):
            example["headers"] = generators.render(
                emit["attributes"], rng=rng, number=0, time=_EXAMPLE_TIME
            )
    except generators.TemplateError:
        example["payload"] = {}
    example["summary"] = f"from producer {producer}"
    return example
