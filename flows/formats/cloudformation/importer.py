"""CloudFormation (and expanded SAM) resources -> a topology in the scenario shape.

``cfn_import`` reads the template (``decode``), expands SAM (``sam``), resolves intrinsic
functions (``intrinsics``), maps each resource it models, infers producers from IAM
permissions (``producers``), and applies the result by slug (``flows.formats.apply``).
Every resource ends up in the report: imported as what, not modelled, unresolved or refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from django.utils.text import slugify

from flows.formats import apply as apply_mod
from flows.formats.cloudformation.decode import TemplateError, template_read
from flows.formats.cloudformation.intrinsics import Resolver, Unresolved
from flows.formats.cloudformation.producers import infer as infer_producers
from flows.formats.cloudformation.producers import scheduled as scheduled_producer
from flows.formats.cloudformation.sam import is_sam, sam_expand
from flows.formats.report import (
    IMPORTED,
    NOT_MODELLED,
    REFUSED,
    UNRESOLVED,
    ImportReport,
)
from flows.formats.yamldoc import KeyPath, format_path
from flows.routing import (
    EventPattern,
    FilterPolicy,
    InputTransformer,
    InvalidFilterPolicy,
    InvalidPattern,
    InvalidTransformer,
)

META = "EventViz"  # the Metadata key an exported template keeps EventViz-only settings under
DEFAULT_BUS = "default"
CONSUMER_TYPES = {
    "AWS::Lambda::Function": "function",
    "AWS::StepFunctions::StateMachine": "state machine",
    "AWS::Events::ApiDestination": "API destination",
}
CHANNEL_TYPES = {
    "AWS::SQS::Queue": "queue",
    "AWS::SNS::Topic": "topic",
    "AWS::Events::EventBus": "bus",
}
# Resources read by the import although they become nothing of their own.
SUPPORTING = {
    "AWS::IAM::Role": "read for the permissions of its functions (producers)",
    "AWS::IAM::Policy": "read for the permissions it grants (producers)",
    "AWS::IAM::ManagedPolicy": "read for the permissions it grants (producers)",
}
_EXTERNAL_ARN = re.compile(
    r"^arn:[^:]+:(?P<service>lambda|states|events):[^:]*:[^:]*:"
    r"(?:function:|stateMachine:|api-destination/)(?P<name>[^:/]+)"
)


def cfn_import(
    *,
    text: str | bytes,
    origin: str = "template.yaml",
    slug: str | None = None,
    params: dict[str, str] | None = None,
) -> ImportReport:
    """Import a CloudFormation/SAM template into the topology ``slug`` (default: file name)."""
    report = ImportReport(origin=origin)
    params = dict(params or {})
    slug = slug or slugify(Path(origin).stem) or "imported"
    try:
        doc = template_read(text, origin)
        template = doc.data
        if is_sam(template):
            template = sam_expand(template, params, origin)
        builder = _Builder(template, params, report, origin, slug)
        data = builder.build()
    except TemplateError as exc:
        report.error = str(exc)
        return report
    if not any(data.get(section) for section in ("channels", "consumers")):
        report.error = "no resource of a kind EventViz models (queues, topics, buses, rules)"
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


def meta_of(holder: dict[str, Any]) -> dict[str, Any]:
    """An exported template's ``Metadata.EventViz`` (an object, or its JSON text)."""
    metadata = holder.get("Metadata")
    value = metadata.get(META) if isinstance(metadata, dict) else None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _json_value(value: Any) -> Any:
    """A property that CloudFormation takes as a JSON object or as its text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Builder:
    def __init__(
        self,
        template: dict[str, Any],
        params: dict[str, str],
        report: ImportReport,
        origin: str,
        slug: str,
    ) -> None:
        self.template = template
        self.report = report
        self.origin = origin
        self.slug = slug
        self.r = Resolver(template, params, stack=slug)
        self.resources: dict[str, dict[str, Any]] = {
            lid: res
            for lid, res in (template.get("Resources") or {}).items()
            if isinstance(res, dict)
        }
        self.meta: dict[str, Any] = meta_of(template)
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
        self.channel_of: dict[str, str] = {}  # logical id -> channel name
        self.channel_kind: dict[str, str] = {}  # channel name -> kind
        self.consumer_names: set[str] = set()
        self.handled: set[str] = set()
        self.active: dict[str, dict[str, Any]] = {}

    # helpers ----------------------------------------------------------------------------

    def props(self, lid: str) -> dict[str, Any]:
        """The resource's Properties, resolved; what does not resolve is reported and left out."""
        raw = self.resources[lid].get("Properties") or {}
        out: dict[str, Any] = {}
        for key, value in raw.items():
            resolved = self.value(lid, ("Properties", key), value)
            if resolved is not None:
                out[key] = resolved
        return out

    def value(self, lid: str, path: KeyPath, value: Any) -> Any:
        try:
            return self.r.resolve(value)
        except Unresolved as exc:
            self.report.add(UNRESOLVED, lid, self.type(lid), f"{format_path(path)}: {exc}")
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            self.report.add(UNRESOLVED, lid, self.type(lid), f"{format_path(path)}: {exc}")
        return None

    def type(self, lid: str) -> str:
        return str(self.resources.get(lid, {}).get("Type", "?"))

    def name(self, lid: str, name_property: str | None) -> str:
        """Metadata name (an exported template's), else the literal name property, else lid."""
        resource = self.resources[lid]
        meta = meta_of(resource)
        if isinstance(meta.get("name"), str):
            return meta["name"]
        raw = (resource.get("Properties") or {}).get(name_property or "")
        if isinstance(raw, str) and raw:
            return raw
        return lid

    def target_of(self, lid: str, path: KeyPath, value: Any) -> tuple[str, str] | None:
        """What an ARN/name/URL points at: ("channel"|"consumer", name), or None (reported)."""
        owner = self.r.owner(value)
        if owner is not None and owner in self.active:
            kind = self.type(owner)
            if owner in self.channel_of:
                return "channel", self.channel_of[owner]
            if kind in CONSUMER_TYPES:
                return "consumer", self.consumer(owner)
            self.report.add(
                NOT_MODELLED,
                lid,
                self.type(lid),
                f"{format_path(path)}: a {kind} ({owner}) as target",
            )
            return None
        match = _EXTERNAL_ARN.match(value) if isinstance(value, str) else None
        if match:
            name = match.group("name")
            if name not in self.consumer_names:
                self.consumer_names.add(name)
                self.data["consumers"].append({"name": name})
                self.report.add(
                    IMPORTED, name, "external", f"consumer {name!r} (outside this template)"
                )
            return "consumer", name
        self.report.add(
            REFUSED,
            lid,
            self.type(lid),
            f"{format_path(path)}: {value!r} refers to nothing in this template",
        )
        return None

    def consumer(self, lid: str) -> str:
        name_property = {
            "AWS::Lambda::Function": "FunctionName",
            "AWS::StepFunctions::StateMachine": "StateMachineName",
            "AWS::Events::ApiDestination": "Name",
        }[self.type(lid)]
        name = self.name(lid, name_property)
        if name not in self.consumer_names:
            self.consumer_names.add(name)
            item: dict[str, Any] = {"name": name}
            meta = meta_of(self.resources[lid])
            item.update(meta.get("consumer") or {})
            self.sources[("consumers", len(self.data["consumers"]))] = f"Resources.{lid}"
            self.data["consumers"].append(item)
            self.report.add(
                IMPORTED,
                lid,
                self.type(lid),
                f"consumer {name!r} ({CONSUMER_TYPES[self.type(lid)]})",
            )
            self.handled.add(lid)
        return name

    # build ------------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        for name in self.r.unknown_parameters:
            self.report.add(REFUSED, name, "--param", "no parameter of that name in the template")
        for lid, resource in self.resources.items():
            condition = resource.get("Condition")
            if condition is not None:
                try:
                    created = self.r.condition(str(condition))
                except Unresolved as exc:
                    self.report.add(UNRESOLVED, lid, self.type(lid), f"Condition: {exc}")
                    created = True
                if not created:
                    self.report.add(
                        NOT_MODELLED,
                        lid,
                        self.type(lid),
                        f"not created: condition {condition} is false",
                    )
                    continue
            self.active[lid] = resource
        self._channels()
        self._queue_redrives()
        self._topic_subscriptions()
        self._event_source_mappings()
        self._rules()
        self._pipes()
        infer_producers(self)
        self._metadata()
        refused = {e.source for e in self.report.entries if e.status == REFUSED}
        for lid in self.active:
            if lid in self.handled or lid in refused:
                continue
            kind = self.type(lid)
            if kind in SUPPORTING:
                continue
            if kind in CONSUMER_TYPES:
                self.report.add(NOT_MODELLED, lid, kind, "nothing delivers to it")
            else:
                self.report.add(NOT_MODELLED, lid, kind, "not a kind EventViz models")
        self.data["name"] = (
            self.meta.get("name") or self.template.get("Description", "") or self.slug
        )
        self.data["name"] = str(self.data["name"]).strip().split("\n")[0][:200]
        for key in ("description", "public", "featured"):
            if key in self.meta:
                self.data[key] = self.meta[key]
        return {k: v for k, v in self.data.items() if v != []}

    def _channels(self) -> None:
        taken: set[str] = set()
        for lid in self.active:
            kind = CHANNEL_TYPES.get(self.type(lid))
            if kind is None:
                continue
            name_property = {"queue": "QueueName", "topic": "TopicName", "bus": "Name"}[kind]
            name = self.name(lid, name_property)
            if name in taken:
                name = lid
            taken.add(name)
            self.channel_of[lid] = name
            self.channel_kind[name] = kind
            props = self.props(lid)
            item: dict[str, Any] = {"name": name, "kind": kind}
            notes: list[str] = []
            if kind == "queue":
                if "VisibilityTimeout" in props:
                    item["visibility_timeout"] = float(props["VisibilityTimeout"])
                if str(props.get("FifoQueue", "")).lower() == "true":
                    item["fifo"] = True
                    notes.append("FIFO")
                if props.get("DelaySeconds") not in (None, 0, "0"):
                    notes.append(f"DelaySeconds {props['DelaySeconds']} not modelled")
            meta = meta_of(self.resources[lid])
            item.update(meta.get("channel") or {})
            self.sources[("channels", len(self.data["channels"]))] = f"Resources.{lid}"
            self.data["channels"].append(item)
            self.handled.add(lid)
            detail = f"{kind} {name!r}" + (f" ({', '.join(notes)})" if notes else "")
            self.report.add(IMPORTED, lid, self.type(lid), detail)

    def _channel_item(self, name: str) -> dict[str, Any]:
        return next(c for c in self.data["channels"] if c["name"] == name)

    def default_bus(self, lid: str) -> str:
        if DEFAULT_BUS not in self.channel_kind:
            self.channel_kind[DEFAULT_BUS] = "bus"
            self.data["channels"].append({"name": DEFAULT_BUS, "kind": "bus"})
            self.report.add(
                IMPORTED, DEFAULT_BUS, "event bus", f"bus 'default' (the account's, used by {lid})"
            )
        return DEFAULT_BUS

    def _queue_redrives(self) -> None:
        for lid, name in self.channel_of.items():
            if self.channel_kind[name] != "queue":
                continue
            raw = (self.resources[lid].get("Properties") or {}).get("RedrivePolicy")
            if raw is None:
                continue
            policy = _json_value(self.value(lid, ("Properties", "RedrivePolicy"), raw))
            if not isinstance(policy, dict):
                continue
            item = self._channel_item(name)
            if "deadLetterTargetArn" in policy:
                found = self.target_of(
                    lid,
                    ("Properties", "RedrivePolicy", "deadLetterTargetArn"),
                    policy["deadLetterTargetArn"],
                )
                if found and found[0] == "channel" and self.channel_kind[found[1]] == "queue":
                    item["dead_letter_queue"] = found[1]
                elif found:
                    self.report.add(
                        REFUSED,
                        lid,
                        self.type(lid),
                        "RedrivePolicy: the dead-letter target is not a queue",
                    )
            if "maxReceiveCount" in policy:
                item["max_receives"] = max(1, min(1000, int(policy["maxReceiveCount"])))

    def _subscription(
        self,
        lid: str,
        path: KeyPath,
        topic: str,
        protocol: str,
        endpoint: Any,
        props: dict[str, Any],
    ) -> None:
        protocol = protocol.lower()
        item: dict[str, Any] = {"channel": topic}
        if protocol == "sqs":
            found = self.target_of(lid, (*path, "Endpoint"), endpoint)
            if found is None:
                return
            if found[0] != "channel" or self.channel_kind[found[1]] != "queue":
                self.report.add(
                    REFUSED,
                    lid,
                    self.type(lid),
                    f"{format_path(path)}: an sqs endpoint that is not a queue",
                )
                return
            item["target_channel"] = found[1]
        elif protocol == "lambda":
            found = self.target_of(lid, (*path, "Endpoint"), endpoint)
            if found is None:
                return
            item["consumer"] = found[1]
        elif protocol in ("http", "https", "email", "email-json", "sms", "application", "firehose"):
            name = f"{protocol}:{endpoint}" if protocol not in ("http", "https") else str(endpoint)
            name = name[:200]
            if name not in self.consumer_names:
                self.consumer_names.add(name)
                self.data["consumers"].append({"name": name})
            item["consumer"] = name
        else:
            self.report.add(NOT_MODELLED, lid, self.type(lid), f"protocol {protocol!r}")
            return
        notes: list[str] = []
        policy = _json_value(props.get("FilterPolicy"))
        scope = props.get("FilterPolicyScope", "MessageAttributes")
        if policy is not None:
            try:
                FilterPolicy(policy, scope=scope)
            except (InvalidFilterPolicy, ValueError) as exc:
                self.report.add(
                    REFUSED,
                    lid,
                    self.type(lid),
                    f"{format_path(path)}.FilterPolicy: SNS would refuse it: {exc}",
                )
                return
            item["filter_policy"] = policy
            if scope != "MessageAttributes":
                item["filter_scope"] = scope
        if str(props.get("RawMessageDelivery", "")).lower() == "true":
            notes.append("raw delivery")
        redrive = _json_value(props.get("RedrivePolicy"))
        if isinstance(redrive, dict) and "deadLetterTargetArn" in redrive:
            found = self.target_of(lid, (*path, "RedrivePolicy"), redrive["deadLetterTargetArn"])
            if found and found[0] == "channel" and self.channel_kind[found[1]] == "queue":
                item["dead_letter_queue"] = found[1]
        meta = meta_of(self.resources[lid])
        item.update(meta.get("subscription") or {})
        self.sources[("subscriptions", len(self.data["subscriptions"]))] = f"Resources.{lid}"
        self.data["subscriptions"].append(item)
        self.handled.add(lid)
        who = item.get("consumer") or item.get("target_channel")
        extra = f" ({', '.join(notes)})" if notes else ""
        self.report.add(IMPORTED, lid, self.type(lid), f"subscription {topic} → {who}{extra}")

    def _topic_subscriptions(self) -> None:
        for lid, name in list(self.channel_of.items()):
            if self.channel_kind[name] != "topic":
                continue
            inline = self.props(lid).get("Subscription") or []
            for i, sub in enumerate(inline if isinstance(inline, list) else []):
                self._subscription(
                    lid,
                    ("Properties", "Subscription", i),
                    name,
                    str(sub.get("Protocol", "")),
                    sub.get("Endpoint"),
                    {},
                )
        for lid in self.active:
            if self.type(lid) != "AWS::SNS::Subscription":
                continue
            props = self.props(lid)
            found = self.target_of(lid, ("Properties", "TopicArn"), props.get("TopicArn"))
            if found is None:
                continue
            if found[0] != "channel" or self.channel_kind[found[1]] != "topic":
                self.report.add(REFUSED, lid, self.type(lid), "TopicArn is not a topic")
                continue
            self._subscription(
                lid,
                ("Properties",),
                found[1],
                str(props.get("Protocol", "")),
                props.get("Endpoint"),
                props,
            )

    def _event_source_mappings(self) -> None:
        for lid in self.active:
            if self.type(lid) != "AWS::Lambda::EventSourceMapping":
                continue
            props = self.props(lid)
            source = self.r.owner(props.get("EventSourceArn"))
            if (
                source not in self.channel_of
                or self.channel_kind[self.channel_of[source]] != "queue"
            ):
                self.report.add(
                    NOT_MODELLED,
                    lid,
                    self.type(lid),
                    "its source is not an SQS queue of this template",
                )
                self.handled.add(lid)
                continue
            function = props.get("FunctionName")
            owner = self.r.owner(function)
            if owner is None and isinstance(function, str) and function in self.resources:
                owner = function
            if owner is None:
                found = self.target_of(lid, ("Properties", "FunctionName"), function)
                if found is None:
                    continue
                consumer = found[1]
            else:
                consumer = self.consumer(owner)
            queue = self.channel_of[source]
            notes = []
            if props.get("FilterCriteria"):
                notes.append("FilterCriteria not modelled: every message is delivered")
            if str(props.get("Enabled", "true")).lower() == "false":
                notes.append("disabled")
            self.sources[("subscriptions", len(self.data["subscriptions"]))] = f"Resources.{lid}"
            meta = meta_of(self.resources[lid])
            item = {"channel": queue, "consumer": consumer, **(meta.get("subscription") or {})}
            self.data["subscriptions"].append(item)
            self.handled.add(lid)
            self.report.add(
                IMPORTED,
                lid,
                self.type(lid),
                f"subscription {queue} → {consumer}" + (f" ({'; '.join(notes)})" if notes else ""),
            )

    def _rules(self) -> None:
        for lid in self.active:
            if self.type(lid) != "AWS::Events::Rule":
                continue
            props = self.props(lid)
            name = self.name(lid, "Name")
            pattern = _json_value(props.get("EventPattern"))
            schedule = props.get("ScheduleExpression")
            if pattern is None and schedule is None:
                self.report.add(
                    REFUSED, lid, self.type(lid), "neither EventPattern nor ScheduleExpression"
                )
                continue
            if pattern is not None:
                try:
                    EventPattern(pattern)
                except (InvalidPattern, TypeError, ValueError) as exc:
                    self.report.add(
                        REFUSED,
                        lid,
                        self.type(lid),
                        f"EventPattern: EventBridge would refuse it: {exc}",
                    )
                    self.handled.add(lid)
                    continue
            bus_value = props.get("EventBusName")
            if bus_value is None or bus_value == DEFAULT_BUS or schedule is not None:
                bus = self.default_bus(lid)
            else:
                found = self.target_of(lid, ("Properties", "EventBusName"), bus_value)
                if found is None and isinstance(bus_value, str):
                    owner = next((o for o, n in self.channel_of.items() if n == bus_value), None)
                    found = ("channel", bus_value) if owner else None
                if found is None or found[0] != "channel" or self.channel_kind[found[1]] != "bus":
                    self.report.add(
                        REFUSED,
                        lid,
                        self.type(lid),
                        f"EventBusName {bus_value!r} is not an event bus of this template",
                    )
                    self.handled.add(lid)
                    continue
                bus = found[1]
            if schedule is not None:
                pattern = {
                    "source": ["aws.events"],
                    "detail-type": ["Scheduled Event"],
                    "detail": {"schedule": [name]},
                }
                scheduled_producer(self, lid, name, bus, str(schedule))
            item: dict[str, Any] = {"name": name, "bus": bus, "pattern": pattern, "targets": []}
            if props.get("Description"):
                item["description"] = str(props["Description"])
            if str(props.get("State", "ENABLED")).upper() == "DISABLED":
                item["enabled"] = False
            for j, raw in enumerate(props.get("Targets") or []):
                target = self._target(lid, ("Properties", "Targets", j), raw, bus)
                if target is not None:
                    item["targets"].append(target)
            self.sources[("rules", len(self.data["rules"]))] = f"Resources.{lid}"
            self.data["rules"].append(item)
            self.handled.add(lid)
            what = f"scheduled rule ({schedule})" if schedule else "rule"
            self.report.add(
                IMPORTED,
                lid,
                self.type(lid),
                f"{what} {name!r} on {bus}, {len(item['targets'])} target(s)",
            )

    def _target(self, lid: str, path: KeyPath, raw: Any, bus: str) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            return None
        found = self.target_of(lid, (*path, "Arn"), raw.get("Arn"))
        if found is None:
            return None
        if found == ("channel", bus):
            self.report.add(
                REFUSED,
                lid,
                self.type(lid),
                f"{format_path(path)}: a rule cannot target its own bus",
            )
            return None
        target: dict[str, Any] = {found[0]: found[1]}
        transformer = raw.get("InputTransformer")
        if isinstance(transformer, dict):
            paths_map = transformer.get("InputPathsMap") or {}
            template = transformer.get("InputTemplate", "")
        elif "Input" in raw:
            paths_map, template = {}, str(raw["Input"])
        elif "InputPath" in raw:
            paths_map, template = {"input": str(raw["InputPath"])}, "<input>"
        else:
            paths_map, template = {}, ""
        if template:
            try:
                InputTransformer(paths_map, template)
            except (InvalidTransformer, ValueError) as exc:
                self.report.add(
                    REFUSED,
                    lid,
                    self.type(lid),
                    f"{format_path(path)}: EventBridge would refuse the input transformer: {exc}",
                )
                return None
            target["input_transformer"] = {"InputTemplate": template}
            if paths_map:
                target["input_transformer"]["InputPathsMap"] = paths_map
        retry = raw.get("RetryPolicy") or {}
        if "MaximumRetryAttempts" in retry:
            target["max_retries"] = max(0, min(185, int(retry["MaximumRetryAttempts"])))
        dlq = (raw.get("DeadLetterConfig") or {}).get("Arn")
        if dlq is not None:
            dead = self.target_of(lid, (*path, "DeadLetterConfig", "Arn"), dlq)
            if dead and dead[0] == "channel" and self.channel_kind[dead[1]] == "queue":
                target["dead_letter_queue"] = dead[1]
        return target

    def _pipes(self) -> None:
        for lid in self.active:
            if self.type(lid) != "AWS::Pipes::Pipe":
                continue
            props = self.props(lid)
            source = self.r.owner(props.get("Source"))
            self.handled.add(lid)
            if (
                source not in self.channel_of
                or self.channel_kind[self.channel_of[source]] != "queue"
            ):
                self.report.add(
                    NOT_MODELLED,
                    lid,
                    self.type(lid),
                    "its source is not an SQS queue of this template",
                )
                continue
            found = self.target_of(lid, ("Properties", "Target"), props.get("Target"))
            if found is None:
                continue
            queue = self.channel_of[source]
            notes = []
            if (props.get("SourceParameters") or {}).get("FilterCriteria"):
                notes.append("FilterCriteria not modelled")
            if found[0] == "consumer":
                consumer = found[1]
            else:
                # A queue delivers to consumers only: the pipe itself is the queue's consumer.
                consumer = self.name(lid, "Name")
                if consumer not in self.consumer_names:
                    self.consumer_names.add(consumer)
                    self.data["consumers"].append({"name": consumer})
                notes.append(f"its target {found[1]} is not modelled: the pipe is the consumer")
            self.data["subscriptions"].append({"channel": queue, "consumer": consumer})
            self.report.add(
                IMPORTED,
                lid,
                self.type(lid),
                f"pipe {queue} → {consumer}" + (f" ({'; '.join(notes)})" if notes else ""),
            )

    def _metadata(self) -> None:
        """An exported template's EventViz-only settings (Metadata.EventViz) take precedence."""
        meta = self.meta
        if not meta:
            return
        if meta.get("message_types"):
            self.data["message_types"] = meta["message_types"]
        if meta.get("producers") is not None:
            self.data["producers"] = meta["producers"]
            self.report.entries = [e for e in self.report.entries if e.status != "inferred"]
        for section in ("channels", "consumers"):
            known = {item["name"]: item for item in self.data[section]}
            for item in meta.get(section) or []:
                if item.get("name") in known:
                    known[item["name"]].update(item)
                else:
                    self.data[section].append(item)
                    self.consumer_names.add(item.get("name", ""))
        self.data["subscriptions"].extend(meta.get("subscriptions") or [])
        if meta.get("script"):
            self.data["script"] = meta["script"]
