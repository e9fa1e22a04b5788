"""Import time of the document importers on generated documents (target: under 5 s each).

    .venv/bin/python bench/importers.py            # a scratch SQLite database under var/bench/

A CloudFormation template of 1,000 resources (buses, queues with dead-letter queues,
topics, subscriptions, rules, functions with event source mappings and IAM roles), and an
AsyncAPI 3.0 document of 500 channels (topics fanning out to queues with filter policies
and dead-letter queues, buses with rules as x-eventviz extensions, channels with no
binding; producers and consumers as operations; messages whose payloads $ref shared
schemas, with examples) are each imported twice: first into an empty database
(everything created), then again (the re-import of an unchanged document, which
compares and writes nothing new).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

BUS_ARN = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/bus-"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cfn_template(resources: int = 1000) -> dict[str, Any]:
    """About ``resources`` resources, in groups of ten that connect to each other."""
    out: dict[str, Any] = {}
    for g in range(resources // 10):
        bus = f"Bus{g}"
        out[bus] = {"Type": "AWS::Events::EventBus", "Properties": {"Name": f"bus-{g}"}}
        out[f"Queue{g}"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 10,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [f"Dlq{g}", "Arn"]},
                    "maxReceiveCount": 3,
                },
            },
        }
        out[f"Dlq{g}"] = {"Type": "AWS::SQS::Queue"}
        out[f"Topic{g}"] = {"Type": "AWS::SNS::Topic"}
        out[f"Sub{g}"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": f"Topic{g}"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": [f"Queue{g}", "Arn"]},
                "FilterPolicy": {"kind": [f"k{g}"]},
            },
        }
        out[f"Rule{g}"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": bus},
                "EventPattern": {
                    "source": [f"app.{g}"],
                    "detail-type": ["Thing"],
                    "detail": {"n": [{"numeric": [">", g]}]},
                },
                "Targets": [
                    {"Id": "q", "Arn": {"Fn::GetAtt": [f"Queue{g}", "Arn"]}},
                    {"Id": "t", "Arn": {"Ref": f"Topic{g}"}},
                ],
            },
        }
        out[f"Fn{g}"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Role": {"Fn::GetAtt": [f"Role{g}", "Arn"]},
                "Runtime": "python3.12",
                "Handler": "i.h",
                "Code": {"ZipFile": "x"},
            },
        }
        out[f"Esm{g}"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": [f"Queue{g}", "Arn"]},
                "FunctionName": {"Ref": f"Fn{g}"},
            },
        }
        out[f"Role{g}"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {},
                "Policies": [
                    {
                        "PolicyName": "put",
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "events:PutEvents",
                                    "Resource": {"Fn::Sub": BUS_ARN + str(g)},
                                }
                            ]
                        },
                    }
                ],
            },
        }
        out[f"Bucket{g}"] = {"Type": "AWS::S3::Bucket"}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": out}


def asyncapi_document(channels: int = 500) -> dict[str, Any]:
    """``channels`` channels, in groups of five that connect to each other."""
    chans: dict[str, Any] = {}
    ops: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for g in range(channels // 5):
        msg = f"Thing{g}"
        messages[msg] = {
            "name": msg,
            "payload": {
                "type": "object",
                "required": ["id", "kind"],
                "properties": {
                    "id": {"$ref": "#/components/schemas/Id"},
                    "kind": {"type": "string", "enum": [f"k{g}", "other"]},
                    "amount": {"$ref": "#/components/schemas/Money"},
                },
            },
            "examples": [
                {"headers": {"kind": f"k{g}"}, "payload": {"id": f"t-{g}", "kind": f"k{g}"}}
            ],
        }
        ref = {"$ref": f"#/components/messages/{msg}"}
        queue = {"name": f"queue-{g}", "fifoQueue": False, "visibilityTimeout": 10}
        queue["redrivePolicy"] = {"deadLetterQueue": {"name": f"dlq-{g}"}, "maxReceiveCount": 3}
        chans[f"topic{g}"] = {
            "address": f"topic-{g}",
            "messages": {msg: ref},
            "bindings": {"sns": {"name": f"topic-{g}"}},
        }
        chans[f"queue{g}"] = {
            "address": f"queue-{g}",
            "messages": {msg: ref},
            "bindings": {"sqs": {"queue": queue}},
        }
        chans[f"dlq{g}"] = {
            "address": f"dlq-{g}",
            "bindings": {"sqs": {"queue": {"name": f"dlq-{g}", "fifoQueue": False}}},
        }
        chans[f"bus{g}"] = {
            "address": f"bus-{g}",
            "x-eventviz-kind": "bus",
            "messages": {msg: ref},
            "x-eventviz-rules": [
                {
                    "name": f"rule-{g}-{r}",
                    "pattern": {
                        "detail-type": [msg],
                        "detail": {"amount": [{"numeric": [">", r]}]},
                    },
                    "targets": [{"channel": f"queue-{g}"}, {"consumer": f"auditor-{g}"}],
                }
                for r in range(2)
            ],
        }
        chans[f"events{g}"] = {"address": f"events-{g}", "messages": {msg: ref}}
        channel = {"$ref": f"#/channels/topic{g}"}
        ops[f"publish{g}"] = {
            "action": "send",
            "channel": channel,
            "messages": [{"$ref": f"#/channels/topic{g}/messages/{msg}"}],
            "bindings": {
                "sns": {
                    "consumers": [
                        {
                            "protocol": "sqs",
                            "endpoint": {"name": f"queue-{g}"},
                            "filterPolicy": {"kind": [f"k{g}"]},
                            "rawMessageDelivery": False,
                        }
                    ]
                }
            },
        }
        ops[f"work{g}"] = {"action": "receive", "channel": {"$ref": f"#/channels/queue{g}"}}
        ops[f"emit{g}"] = {"action": "send", "channel": {"$ref": f"#/channels/bus{g}"}}
        ops[f"listen{g}"] = {"action": "receive", "channel": {"$ref": f"#/channels/events{g}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Bench", "version": "1.0.0"},
        "channels": chans,
        "operations": ops,
        "components": {
            "schemas": {"Id": {"type": "string"}, "Money": {"type": "number", "minimum": 0}},
            "messages": messages,
        },
    }


def timed(label: str, run: Any) -> None:
    for attempt in ("first import (creates)", "re-import (unchanged)"):
        started = time.perf_counter()
        report = run()
        elapsed = time.perf_counter() - started
        assert report.ok, report.error
        print(
            f"  {attempt}: {elapsed:.2f} s; {len(report.of('imported'))} imported, "
            f"{len(report.of('inferred'))} inferred, {len(report.of('refused'))} refused, "
            f"{len(report.changes)} changes"
        )


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="eventviz-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventviz.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Without make run there is no Redis: a topology change is then logged, not sent.
    logging.getLogger("flows").setLevel(logging.WARNING)
    from flows.formats.asyncapi import asyncapi_import
    from flows.formats.cloudformation import cfn_import

    template = cfn_template(1000)
    text = yaml.safe_dump(template, sort_keys=False)
    print(f"CloudFormation: {len(template['Resources']):,} resources, {len(text):,} bytes of YAML")
    timed("cfn", lambda: cfn_import(text=text, origin="bench.yaml", slug="bench"))
    document = asyncapi_document(500)
    doc_text = yaml.safe_dump(document, sort_keys=False)
    print(
        f"AsyncAPI 3.0: {len(document['channels']):,} channels, "
        f"{len(document['operations']):,} operations, {len(doc_text):,} bytes of YAML"
    )
    timed(
        "asyncapi",
        lambda: asyncapi_import(text=doc_text, origin="bench.yaml", slug="bench-asyncapi"),
    )


if __name__ == "__main__":
    main()
