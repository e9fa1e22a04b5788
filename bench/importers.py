"""Import time of the document importers on generated documents (target: under 5 s each).

    .venv/bin/python bench/importers.py            # a scratch SQLite database under var/bench/

A CloudFormation template of 1,000 resources (buses, queues with dead-letter queues,
topics, subscriptions, rules, functions with event source mappings and IAM roles) is
imported twice: first into an empty database (everything created), then again (the
re-import of an unchanged template, which compares and writes nothing new).
"""

from __future__ import annotations

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


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="eventviz-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventviz.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from flows.formats.cloudformation import cfn_import

    template = cfn_template(1000)
    text = yaml.safe_dump(template, sort_keys=False)
    print(f"CloudFormation: {len(template['Resources']):,} resources, {len(text):,} bytes of YAML")
    for label in ("first import (creates)", "re-import (unchanged)"):
        started = time.perf_counter()
        report = cfn_import(text=text, origin="bench.yaml", slug="bench")
        elapsed = time.perf_counter() - started
        assert report.ok, report.error
        print(
            f"  {label}: {elapsed:.2f} s; {len(report.of('imported'))} imported, "
            f"{len(report.of('inferred'))} producers inferred, {len(report.changes)} changes"
        )


if __name__ == "__main__":
    main()
