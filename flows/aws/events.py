"""EventBridge control plane: buses as ``bus`` channels, rules and their targets.

PutEvents is not served here yet; it plugs in as one more handler. Every account has a
bus named ``default``: reads see it whether or not the topology has it yet, and the
first write that needs it (PutRule on it, say) creates it as a ``bus`` channel.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db import transaction

from flows import dataplane, resources
from flows.aws import arns, messages, sqs_messages
from flows.aws.dispatch import Call, operation
from flows.aws.errors import AwsError
from flows.aws.paging import page
from flows.models import ChannelKind, MessageChannel, Rule, Target
from flows.resources import TargetSpec, target_api_id
from flows.routing import EventPattern, InvalidPattern

DEFAULT_BUS = "default"
RULE_NAME_RE = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
BUS_NAME_RE = re.compile(r"^[/\.\-_A-Za-z0-9]{1,256}$")
TARGET_ID_RE = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
STATES = {"ENABLED": True, "DISABLED": False, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS": True}
INPUT_PATH_VARIABLE = "InputPath"  # InputPath is kept as the transformer {"InputPath": p}


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def bus_name(value: str | None) -> str:
    """A bus name from a name or an ARN (both are accepted wherever a bus is named)."""
    if not value:
        return DEFAULT_BUS
    arn = arns.parse(value)
    if arn is not None:
        name = arns.name_from(arn, "events")
        if name is None:
            raise validation(
                f"Parameter {value} is not valid. Reason: Provided Arn is not in correct format."
            )
        return name
    return value


def find_bus(call: Call, name: str) -> MessageChannel | None:
    return MessageChannel.objects.filter(
        topology=call.topology, kind=ChannelKind.BUS, name=name
    ).first()


def bus_or_error(
    call: Call, value: str | None, *, create_default: bool = False
) -> MessageChannel | None:
    """The bus; None for a default bus not created yet (it exists for AWS all the same)."""
    name = bus_name(value)
    bus = find_bus(call, name)
    if bus is not None:
        return bus
    if name != DEFAULT_BUS:
        raise not_found(f"Event bus {name} does not exist.")
    if create_default:
        return _create_bus(call, DEFAULT_BUS)
    return None


def _create_bus(call: Call, name: str) -> MessageChannel:
    other = MessageChannel.objects.filter(topology=call.topology, name=name).first()
    if other is not None:
        raise validation(
            f"{name} is already the name of a {other.kind} in this topology "
            "(EventViz channel names are unique across queues, topics and buses)."
        )
    try:
        return resources.channel_create(topology=call.topology, kind=ChannelKind.BUS, name=name)
    except ValidationError as exc:
        raise validation(resources.error_text(exc)) from None


def rule_or_error(call: Call, params: dict[str, Any], key: str = "Name") -> Rule:
    bus = bus_or_error(call, params.get("EventBusName"))
    name = params[key]
    rule = Rule.objects.filter(bus=bus, name=name).first() if bus is not None else None
    if rule is None:
        raise not_found(
            f"Rule {name} does not exist on EventBus {bus_name(params.get('EventBusName'))}."
        )
    return rule


def describe_rule(call: Call, rule: Rule) -> dict[str, Any]:
    return {
        "Name": rule.name,
        "Arn": arns.rule_arn(call, rule.bus.name, rule.name),
        "EventPattern": json.dumps(rule.event_pattern),
        "State": "ENABLED" if rule.enabled else "DISABLED",
        "Description": rule.description or None,
        "EventBusName": rule.bus.name,
    }


def _limit(params: dict[str, Any]) -> int:
    limit = params.get("Limit", 100)
    if not 1 <= limit <= 100:
        raise validation(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to "
            "satisfy constraint: Member must have value between 1 and 100"
        )
    return limit


def _bad_token() -> AwsError:
    return validation("The NextToken provided is not valid.")


def pattern_or_error(text: str) -> dict[str, Any]:
    """The pattern as JSON, refused as AWS refuses it (``InvalidEventPatternException``)."""
    try:
        pattern = json.loads(text)
        if not isinstance(pattern, dict):
            raise InvalidPattern("", "Filter is not an object")
        EventPattern(pattern)
    except ValueError as exc:  # InvalidPattern is a ValueError, as is bad JSON
        raise AwsError(
            "InvalidEventPatternException", f"Event pattern is not valid. Reason: {exc}"
        ) from None
    return pattern


# --- buses ----------------------------------------------------------------------------------


@operation("events", "ListEventBuses", write=False)
def list_event_buses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("NamePrefix") or ""
    names = set(
        MessageChannel.objects.filter(
            topology=call.topology, kind=ChannelKind.BUS, name__startswith=prefix
        ).values_list("name", flat=True)
    )
    if DEFAULT_BUS.startswith(prefix):
        names.add(DEFAULT_BUS)
    ordered = sorted(names, key=lambda n: (n != DEFAULT_BUS, n))
    items, token = page(ordered, params.get("NextToken"), _limit(params), invalid=_bad_token)
    return {
        "EventBuses": [{"Name": n, "Arn": arns.bus_arn(call, n)} for n in items],
        "NextToken": token,
    }


@operation("events", "DescribeEventBus", write=False)
def describe_event_bus(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    bus = bus_or_error(call, params.get("Name"))
    name = bus.name if bus is not None else DEFAULT_BUS
    return {
        "Name": name,
        "Arn": arns.bus_arn(call, name),
        "Description": (bus.description or None) if bus is not None else None,
    }


@operation("events", "CreateEventBus", write=True)
def create_event_bus(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name: str = params["Name"]
    if not BUS_NAME_RE.match(name) or "/" in name:
        raise validation(f"Event bus name {name} is not valid.")
    if name.startswith("aws.") and not params.get("EventSourceName"):
        raise validation("Event bus name must not start with 'aws.'.")
    if name == DEFAULT_BUS or find_bus(call, name) is not None:
        raise AwsError("ResourceAlreadyExistsException", f"Event bus {name} already exists.")
    bus = _create_bus(call, name)
    if params.get("Description"):
        resources.channel_update(channel=bus, fields={"description": params["Description"]})
    return {"EventBusArn": arns.bus_arn(call, name)}


@operation("events", "DeleteEventBus", write=True)
def delete_event_bus(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Name"]
    if name == DEFAULT_BUS:
        raise validation("Cannot delete event bus default.")
    bus = find_bus(call, name)
    if bus is not None:  # deleting a bus that is not there is not an error
        resources.channel_delete(channel=bus, actor=call.actor, reason=call.reason)
    return {}


# --- rules ----------------------------------------------------------------------------------


@operation("events", "PutRule", write=True)
def put_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name: str = params["Name"]
    if not RULE_NAME_RE.match(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "[\\.\\-_A-Za-z0-9]+"
        )
    if params.get("ScheduleExpression"):
        raise validation(
            "ScheduleExpression is not supported by EventViz: rules here route "
            "events by EventPattern."
        )
    if not params.get("EventPattern"):
        raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
    state = params.get("State") or "ENABLED"
    if state not in STATES:
        raise validation(
            f"1 validation error detected: Value '{state}' at 'state' failed to "
            f"satisfy constraint: Member must satisfy enum value set: {sorted(STATES)}"
        )
    pattern = pattern_or_error(params["EventPattern"])
    bus = bus_or_error(call, params.get("EventBusName"), create_default=True)
    assert bus is not None
    try:
        rule = resources.rule_put(
            bus=bus,
            name=name,
            fields={
                "event_pattern": pattern,
                "enabled": STATES[state],
                "description": params.get("Description") or "",
            },
            actor=call.actor,
            reason=call.reason,
        )
    except ValidationError as exc:
        raise validation(resources.error_text(exc)) from None
    return {"RuleArn": arns.rule_arn(call, bus.name, rule.name)}


@operation("events", "DescribeRule", write=False)
def describe_rule_op(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    rule = rule_or_error(call, params)
    return {**describe_rule(call, rule), "CreatedBy": call.account}


@operation("events", "ListRules", write=False)
def list_rules(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    bus = bus_or_error(call, params.get("EventBusName"))
    rules = (
        list(
            Rule.objects.filter(bus=bus, name__startswith=params.get("NamePrefix") or "")
            .select_related("bus")
            .order_by("name")
        )
        if bus is not None
        else []
    )
    items, token = page(rules, params.get("NextToken"), _limit(params), invalid=_bad_token)
    return {"Rules": [describe_rule(call, r) for r in items], "NextToken": token}


def _set_enabled(call: Call, params: dict[str, Any], enabled: bool) -> dict[str, Any]:
    rule = rule_or_error(call, params)
    resources.rule_put(
        bus=rule.bus,
        name=rule.name,
        fields={"enabled": enabled},
        actor=call.actor,
        reason=call.reason,
    )
    return {}


@operation("events", "EnableRule", write=True)
def enable_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return _set_enabled(call, params, True)


@operation("events", "DisableRule", write=True)
def disable_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return _set_enabled(call, params, False)


@operation("events", "DeleteRule", write=True)
def delete_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    try:
        rule = rule_or_error(call, params)
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException" and "Rule" in exc.message:
            return {}  # deleting a rule that is not there is not an error
        raise
    if rule.targets.exists() and not params.get("Force"):
        raise validation("Rule can't be deleted since it has targets.")
    resources.rule_delete(rule=rule, actor=call.actor, reason=call.reason)
    return {}


@operation("events", "TestEventPattern", write=False)
def test_event_pattern(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    pattern = EventPattern(pattern_or_error(params["EventPattern"]))
    try:
        event = json.loads(params["Event"])
    except ValueError:
        raise validation("Parameter Event is not valid.") from None
    if not isinstance(event, dict):
        raise validation("Parameter Event is not valid.")
    missing = [
        f for f in ("id", "account", "source", "time", "region", "detail-type") if f not in event
    ]
    if missing:
        raise validation(f"Parameter Event is not valid. Reason: missing {', '.join(missing)}.")
    return {"Result": pattern.matches(event)}


# --- targets --------------------------------------------------------------------------------


def _destination(call: Call, arn_text: str) -> dict[str, Any]:
    """Target fields for a destination ARN; ValueError says why it cannot be one."""
    arn = arns.parse(arn_text)
    if arn is None:
        raise ValueError(f"{arn_text} is not an ARN")
    if arn.service == "lambda":
        name = arns.name_from(arn, "lambda")
        if name is None:
            raise ValueError(f"{arn_text} is not a Lambda function ARN")
        return {
            "consumer": resources.consumer_for(topology=call.topology, name=name),
            "channel": None,
        }
    kinds = {"sqs": ChannelKind.QUEUE, "sns": ChannelKind.TOPIC, "events": ChannelKind.BUS}
    if arn.service not in kinds:
        raise ValueError(
            f"{arn.service} targets are not simulated by EventViz (sqs, sns, events, lambda)"
        )
    name = arns.name_from(arn, arn.service)
    channel = MessageChannel.objects.filter(
        topology=call.topology, kind=kinds[arn.service], name=name
    ).first()
    if channel is None:
        raise ValueError(
            f"no {kinds[arn.service].label.split(' ')[0].lower()} named {name} in this topology"
        )
    return {"channel": channel, "consumer": None}


def _target_fields(call: Call, target: dict[str, Any]) -> dict[str, Any]:
    forms = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(forms) > 1:
        raise validation("Only one of Input, InputPath, or InputTransformer must be provided.")
    fields: dict[str, Any] = {"input_paths_map": None, "input_template": ""}
    if "Input" in forms:
        try:
            json.loads(target["Input"])
        except ValueError:
            raise validation(f"Input for target {target['Id']} is not valid JSON text.") from None
        fields["input_template"] = target["Input"]
    elif "InputPath" in forms:
        fields["input_paths_map"] = {INPUT_PATH_VARIABLE: target["InputPath"]}
        fields["input_template"] = f"<{INPUT_PATH_VARIABLE}>"
    elif "InputTransformer" in forms:
        transformer = target["InputTransformer"]
        fields["input_paths_map"] = transformer.get("InputPathsMap") or {}
        fields["input_template"] = transformer["InputTemplate"]
    retry = target.get("RetryPolicy") or {}
    fields["max_retries"] = retry.get("MaximumRetryAttempts", 185)
    fields["max_event_age"] = retry.get("MaximumEventAgeInSeconds")
    return fields


def describe_target(call: Call, target: Target) -> dict[str, Any]:
    if target.consumer_id is not None:
        arn = arns.lambda_arn(call, target.consumer.name)
    else:
        service = {ChannelKind.QUEUE: "sqs", ChannelKind.TOPIC: "sns"}.get(target.channel.kind)
        arn = (
            arns.make(call, service, target.channel.name)
            if service
            else arns.bus_arn(call, target.channel.name)
        )
    described: dict[str, Any] = {"Id": target_api_id(target), "Arn": arn}
    paths = target.input_paths_map
    if target.input_template:
        if paths is None:
            described["Input"] = target.input_template
        elif (
            set(paths) == {INPUT_PATH_VARIABLE}
            and target.input_template == f"<{INPUT_PATH_VARIABLE}>"
        ):
            described["InputPath"] = paths[INPUT_PATH_VARIABLE]
        else:
            described["InputTransformer"] = {
                "InputPathsMap": paths or None,
                "InputTemplate": target.input_template,
            }
    described["RetryPolicy"] = {
        "MaximumRetryAttempts": target.max_retries,
        "MaximumEventAgeInSeconds": target.max_event_age,
    }
    if target.dead_letter_queue is not None:
        described["DeadLetterConfig"] = {"Arn": arns.queue_arn(call, target.dead_letter_queue.name)}
    return described


@operation("events", "PutTargets", write=True)
def put_targets(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    rule = rule_or_error(call, params, key="Rule")
    targets: list[dict[str, Any]] = params["Targets"]
    if not 1 <= len(targets) <= 10:
        raise validation(
            "1 validation error detected: Value at 'targets' failed to satisfy "
            "constraint: Member must have length between 1 and 10"
        )
    ids = [t["Id"] for t in targets]
    for target_id in ids:
        if not TARGET_ID_RE.match(target_id):
            raise validation(f"Target id {target_id} is not valid.")
    if len(set(ids)) != len(ids):
        raise validation("Target ids must be unique within one request.")
    specs: list[TargetSpec] = []
    failed: list[dict[str, str]] = []
    for target in targets:
        fields = _target_fields(call, target)
        try:
            fields.update(_destination(call, target["Arn"]))
            dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
            fields["dead_letter_queue"] = _dead_letter_queue(call, dlq_arn) if dlq_arn else None
        except ValueError as exc:
            failed.append(
                {
                    "TargetId": target["Id"],
                    "ErrorCode": "ValidationException",
                    "ErrorMessage": str(exc),
                }
            )
            continue
        specs.append(TargetSpec(api_id=target["Id"], fields=fields))
    if specs:
        refused = resources.rule_targets_put(
            rule=rule, targets=specs, actor=call.actor, reason=call.reason
        )
        failed += [
            {"TargetId": i, "ErrorCode": "ValidationException", "ErrorMessage": why}
            for i, why in refused.items()
        ]
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


def _dead_letter_queue(call: Call, arn_text: str) -> MessageChannel:
    arn = arns.parse(arn_text)
    name = arns.name_from(arn, "sqs") if arn else None
    queue = MessageChannel.objects.filter(
        topology=call.topology, kind=ChannelKind.QUEUE, name=name
    ).first()
    if queue is None:
        raise ValueError(f"the dead-letter queue {arn_text} does not exist in this topology")
    return queue


@operation("events", "RemoveTargets", write=True)
def remove_targets(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    rule = rule_or_error(call, params, key="Rule")
    resources.rule_targets_remove(
        rule=rule, api_ids=list(params["Ids"]), actor=call.actor, reason=call.reason
    )
    return {"FailedEntryCount": 0, "FailedEntries": []}


@operation("events", "ListTargetsByRule", write=False)
def list_targets_by_rule(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    rule = rule_or_error(call, params, key="Rule")
    targets = list(
        rule.targets.select_related("channel", "consumer", "dead_letter_queue").order_by("pk")
    )
    items, token = page(targets, params.get("NextToken"), _limit(params), invalid=_bad_token)
    return {"Targets": [describe_target(call, t) for t in items], "NextToken": token}


# --- data plane: PutEvents (a coroutine: no thread, no database once the bus exists) -------

MAX_ENTRIES = 10


def _entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's entry size: time, source, detail type, detail, resources."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode())
    size += sum(len(str(r).encode()) for r in entry.get("Resources") or [])
    return size


def _entry_error(entry: dict[str, Any]) -> tuple[str, str] | None:
    for name in ("Source", "DetailType", "Detail"):
        if not entry.get(name):
            return (
                "InvalidArgument",
                f"Parameter {name} is not valid. Reason: {name} is a required argument.",
            )
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        return "MalformedDetail", "Detail is malformed."
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    return None


@operation("events", "PutEvents", write=True)
async def put_events(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = params.get("Entries") or []
    if not entries or len(entries) > MAX_ENTRIES:
        bound = "less than or equal to 10" if entries else "greater than or equal to 1"
        raise validation(
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length {bound}"
        )
    if sum(_entry_size(e) for e in entries) > messages.MAX_MESSAGE_BYTES:
        raise validation("Total size of the entries in the request is over the limit.")
    who = sqs_messages.caller(call)
    results: list[dict[str, Any]] = [{} for _ in entries]
    outgoing: list[tuple[int, dataplane.Outgoing]] = []
    for i, entry in enumerate(entries):
        error = _entry_error(entry)
        if error is None:
            try:
                name = bus_name(entry.get("EventBusName"))
            except AwsError as exc:
                error = ("InvalidArgument", exc.message)
        if error is not None:
            results[i] = {"ErrorCode": error[0], "ErrorMessage": error[1]}
            continue
        envelope = messages.events_envelope(
            entry, json.loads(entry["Detail"]), account=call.account
        )
        outgoing.append((i, dataplane.Outgoing(name, "bus", envelope)))
    if any(o.channel == DEFAULT_BUS for _, o in outgoing):
        live = await dataplane.live_run(who)
        if dataplane.channel(live, DEFAULT_BUS, "bus") is None:
            # Every account has a default bus: the first event sent to it creates it.
            await sync_to_async(_default_bus)(call)
    sent = await dataplane.send(who, [o for _, o in outgoing]) if outgoing else []
    for (i, o), message_id in zip(outgoing, sent, strict=True):
        if message_id is None:
            results[i] = {
                "ErrorCode": "ResourceNotFoundException",
                "ErrorMessage": f"Event bus {o.channel} does not exist.",
            }
        else:
            results[i] = {"EventId": message_id}
    return {
        "FailedEntryCount": sum(1 for r in results if "ErrorCode" in r),
        "Entries": results,
    }


def _default_bus(call: Call) -> None:
    with transaction.atomic():
        bus_or_error(call, DEFAULT_BUS, create_default=True)
