"""A topology as a CloudFormation template (YAML) that cfn-lint accepts and importcfn reads back.

Queues, topics, buses, rules and their targets, SNS subscriptions and SQS event source
mappings become the resources AWS would deploy; consumers become Lambda functions (one
shared execution role). What CloudFormation has no property for (a consumer's latency, a
producer's rate and payloads, message schemas, direct calls, mirrors, the script) travels
under ``Metadata.EventViz``, which CloudFormation keeps and ignores, so the round trip is
exact.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from flows.formats.cloudformation.importer import META
from flows.formats.scenario import scenario_dump
from flows.models import Topology

CONSUMER_ROLE = "ConsumerExecutionRole"


class _Ids:
    """Logical ids (alphanumeric, unique) from names."""

    def __init__(self) -> None:
        self.taken: set[str] = {CONSUMER_ROLE}
        self.ids: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self.ids:
            words = re.split(r"[^A-Za-z0-9]+", name)
            base = "".join(w[:1].upper() + w[1:] for w in words if w) or "R"
            base = ("R" + base if base[0].isdigit() else base)[:200] + kind
            candidate, n = base, 2
            while candidate in self.taken:
                candidate, n = f"{base}{n}", n + 1
            self.taken.add(candidate)
            self.ids[key] = candidate
        return self.ids[key]


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def metadata_value(value: dict[str, Any]) -> Any:
    """``value``, or its JSON text when it holds a fraction (Metadata takes no floats)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text if _has_float(value) else value


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def cfn_export(topology: Topology) -> str:
    return yaml.dump(
        cfn_template(topology), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )


def cfn_template(topology: Topology) -> dict[str, Any]:
    dump = scenario_dump(topology)
    ids = _Ids()
    resources: dict[str, Any] = {}
    meta: dict[str, Any] = {"name": dump["name"]}
    for key in ("description", "public", "featured", "script"):
        if key in dump:
            meta[key] = dump[key]
    meta["message_types"] = dump.get("message_types", [])
    meta["producers"] = dump.get("producers", [])
    meta["consumers"] = dump.get("consumers", [])
    kinds = {c["name"]: c["kind"] for c in dump.get("channels", [])}
    extra_channels: list[dict[str, Any]] = []
    extra_subscriptions: list[dict[str, Any]] = []

    def channel_id(name: str) -> str:
        return ids(kinds[name].capitalize(), name)

    def arn(name: str) -> Any:
        if kinds[name] == "topic":
            return {"Ref": channel_id(name)}
        return {"Fn::GetAtt": [channel_id(name), "Arn"]}

    def consumer_arn(name: str) -> Any:
        return {"Fn::GetAtt": [ids("Function", name), "Arn"]}

    for channel in dump.get("channels", []):
        kind, name = channel["kind"], channel["name"]
        if kind == "direct":
            extra_channels.append(channel)
            continue
        extra = {k: v for k, v in channel.items() if k in ("description", "archive")}
        props: dict[str, Any] = {}
        if kind == "queue":
            timeout = channel.get("visibility_timeout", 30.0)
            # A Lambda consumer's timeout (1 s) must not exceed the queue's visibility timeout.
            if float(timeout).is_integer() and timeout >= 1:
                props["VisibilityTimeout"] = int(timeout)
            else:
                extra["visibility_timeout"] = timeout
            if channel.get("fifo"):
                props["FifoQueue"] = True
            if "dead_letter_queue" in channel and "max_receives" in channel:
                props["RedrivePolicy"] = {
                    "deadLetterTargetArn": arn(channel["dead_letter_queue"]),
                    "maxReceiveCount": channel["max_receives"],
                }
            else:  # half a redrive policy, which SQS has no form for
                for key in ("dead_letter_queue", "max_receives"):
                    if key in channel:
                        extra[key] = channel[key]
            resource_type = "AWS::SQS::Queue"
        elif kind == "topic":
            resource_type = "AWS::SNS::Topic"
        else:
            resource_type = "AWS::Events::EventBus"
            props["Name"] = re.sub(r"[^A-Za-z0-9._\-/]", "-", name)[:256]
        resource: dict[str, Any] = {"Type": resource_type}
        if props:
            resource["Properties"] = props
        resource_meta: dict[str, Any] = {"name": name}
        if extra:
            resource_meta["channel"] = extra
        resource["Metadata"] = {META: metadata_value(resource_meta)}
        resources[channel_id(name)] = resource

    consumers = [c["name"] for c in dump.get("consumers", [])]
    for name in consumers:
        resources[ids("Function", name)] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": [CONSUMER_ROLE, "Arn"]},
                "Timeout": 1,
                "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
            },
            "Metadata": {META: {"name": name}},
        }
    if consumers:
        resources[CONSUMER_ROLE] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
                ],
            },
        }

    for i, sub in enumerate(dump.get("subscriptions", [])):
        channel = sub["channel"]
        kind = kinds[channel]
        target = sub.get("target_channel")
        if kind == "direct" or (target is not None and kinds[target] != "queue"):
            extra_subscriptions.append(sub)
            continue
        extra = {k: sub[k] for k in ("max_retries", "mirror_of") if k in sub}
        logical = ids("Subscription", f"{channel} {target or sub['consumer']} {i}")
        if kind == "queue":
            resource = {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "EventSourceArn": arn(channel),
                    "FunctionName": {"Ref": ids("Function", sub["consumer"])},
                },
            }
        else:
            props = {
                "TopicArn": arn(channel),
                "Protocol": "sqs" if target else "lambda",
                "Endpoint": arn(target) if target else consumer_arn(sub["consumer"]),
            }
            if "filter_policy" in sub:
                props["FilterPolicy"] = sub["filter_policy"]
                props["FilterPolicyScope"] = sub.get("filter_scope", "MessageAttributes")
            if "dead_letter_queue" in sub:
                props["RedrivePolicy"] = {"deadLetterTargetArn": arn(sub["dead_letter_queue"])}
            resource = {"Type": "AWS::SNS::Subscription", "Properties": props}
        if extra:
            resource["Metadata"] = {META: {"subscription": extra}}
        resources[logical] = resource

    for rule in dump.get("rules", []):
        targets = []
        for j, target in enumerate(rule.get("targets", [])):
            item: dict[str, Any] = {
                "Id": f"t{j}",
                "Arn": arn(target["channel"])
                if "channel" in target
                else consumer_arn(target["consumer"]),
            }
            if "input_transformer" in target:
                item["InputTransformer"] = target["input_transformer"]
            if "max_retries" in target:
                item["RetryPolicy"] = {"MaximumRetryAttempts": target["max_retries"]}
            if "dead_letter_queue" in target:
                item["DeadLetterConfig"] = {"Arn": arn(target["dead_letter_queue"])}
            targets.append(item)
        props = {
            "EventBusName": {"Ref": channel_id(rule["bus"])},
            "EventPattern": rule["pattern"],
            "State": "DISABLED" if rule.get("enabled") is False else "ENABLED",
        }
        if rule.get("description"):
            props["Description"] = rule["description"][:512]
        if targets:
            props["Targets"] = targets
        resources[ids("Rule", f"{rule['bus']} {rule['name']}")] = {
            "Type": "AWS::Events::Rule",
            "Properties": props,
            "Metadata": {META: {"name": rule["name"]}},
        }

    if extra_channels:
        meta["channels"] = extra_channels
    if extra_subscriptions:
        meta["subscriptions"] = extra_subscriptions
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (dump["name"] + " (exported by EventViz)")[:1024],
        "Metadata": {META: metadata_value(meta)},
        "Resources": resources,
    }
    return template
