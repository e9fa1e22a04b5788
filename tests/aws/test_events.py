"""EventBridge control plane through the real boto3 (JSON 1.1)."""

from __future__ import annotations

import json

import pytest

from flows.models import MessageChannel, Rule, Target

pytestmark = pytest.mark.stack

PATTERN = {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}


def _queue_arn(sqs, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def test_buses_default_always_exists_custom_ones_are_channels(clients, topology) -> None:
    events = clients("events")
    account = clients.key.account_id
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default"]
    arn = events.create_event_bus(Name="shop")["EventBusArn"]
    assert arn == f"arn:aws:events:eu-west-1:{account}:event-bus/shop"
    assert MessageChannel.objects.get(topology=topology, name="shop").kind == "bus"
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default", "shop"]
    assert events.describe_event_bus(Name="shop")["Arn"] == arn
    assert events.describe_event_bus()["Name"] == "default"
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name="shop")
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_event_bus(Name="nope")
    with pytest.raises(events.exceptions.ClientError) as error:
        events.delete_event_bus(Name="default")
    assert error.value.response["Error"]["Code"] == "ValidationException"
    events.delete_event_bus(Name="shop")
    assert not MessageChannel.objects.filter(name="shop").exists()


def test_put_rule_creates_describe_and_list_answer_it(clients, topology) -> None:
    events = clients("events")
    arn = events.put_rule(
        Name="big-orders", EventPattern=json.dumps(PATTERN), Description="orders over 100"
    )["RuleArn"]
    assert arn == f"arn:aws:events:eu-west-1:{clients.key.account_id}:rule/big-orders"
    rule = Rule.objects.get(bus__topology=topology)
    assert (rule.bus.name, rule.event_pattern, rule.enabled) == ("default", PATTERN, True)

    described = events.describe_rule(Name="big-orders")
    assert json.loads(described["EventPattern"]) == PATTERN
    assert described["State"] == "ENABLED"
    assert described["Description"] == "orders over 100"
    assert described["EventBusName"] == "default"

    events.create_event_bus(Name="shop")
    custom = events.put_rule(Name="r", EventBusName="shop", EventPattern=json.dumps(PATTERN))
    assert custom["RuleArn"].endswith(":rule/shop/r")


def test_list_rules_filters_by_prefix_and_pages(clients) -> None:
    events = clients("events")
    for name in ("a-1", "a-2", "a-3", "b-1"):
        events.put_rule(Name=name, EventPattern=json.dumps(PATTERN))
    first = events.list_rules(NamePrefix="a-", Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["a-1", "a-2"]
    rest = events.list_rules(NamePrefix="a-", Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["a-3"]
    assert "NextToken" not in rest


def test_enable_disable_and_delete_rule(clients) -> None:
    events = clients("events")
    events.put_rule(Name="r", EventPattern=json.dumps(PATTERN))
    events.disable_rule(Name="r")
    assert events.describe_rule(Name="r")["State"] == "DISABLED"
    assert Rule.objects.get().enabled is False
    events.enable_rule(Name="r")
    assert events.describe_rule(Name="r")["State"] == "ENABLED"
    events.delete_rule(Name="r")
    with pytest.raises(events.exceptions.ResourceNotFoundException) as error:
        events.describe_rule(Name="r")
    assert error.value.response["Error"]["Message"] == "Rule r does not exist on EventBus default."


def test_an_invalid_pattern_is_refused_as_aws_refuses_it(clients) -> None:
    events = clients("events")
    with pytest.raises(events.exceptions.InvalidEventPatternException) as error:
        events.put_rule(Name="r", EventPattern=json.dumps({"source": "not-a-list"}))
    assert error.value.response["Error"]["Message"].startswith("Event pattern is not valid.")
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.put_rule(Name="r", EventPattern="{not json")
    assert not Rule.objects.exists()


def test_test_event_pattern_is_answered_by_the_routing_core(clients) -> None:
    events = clients("events")
    event = {
        "id": "1",
        "account": "123456789012",
        "source": "shop.orders",
        "time": "2026-01-01T00:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail-type": "OrderPlaced",
        "detail": {"amount": 150},
    }
    pattern = {**PATTERN, "detail": {"amount": [{"numeric": [">", 100]}]}}
    assert events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))[
        "Result"
    ]
    event["detail"]["amount"] = 50
    assert not events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))[
        "Result"
    ]
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.test_event_pattern(
            EventPattern=json.dumps({"detail": {"amount": [{"numeric": [">"]}]}}),
            Event=json.dumps(event),
        )


def test_put_targets_maps_every_destination_and_option(clients, topology) -> None:
    events, sqs, sns = clients("events"), clients("sqs"), clients("sns")
    account = clients.key.account_id
    events.put_rule(Name="r", EventPattern=json.dumps(PATTERN))
    queue_arn = _queue_arn(sqs, "billing")
    dlq_arn = _queue_arn(sqs, "billing-dlq")
    topic_arn = sns.create_topic(Name="notify")["TopicArn"]
    bus_arn = events.create_event_bus(Name="partner")["EventBusArn"]
    fn_arn = f"arn:aws:lambda:eu-west-1:{account}:function:invoicer"
    transformer = {
        "InputPathsMap": {"id": "$.detail.id"},
        "InputTemplate": '{"order": <id>}',
    }
    answer = events.put_targets(
        Rule="r",
        Targets=[
            {
                "Id": "queue",
                "Arn": queue_arn,
                "InputPath": "$.detail",
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600},
                "DeadLetterConfig": {"Arn": dlq_arn},
            },
            {"Id": "topic", "Arn": topic_arn, "Input": '{"fixed": true}'},
            {"Id": "bus", "Arn": bus_arn},
            {"Id": "fn", "Arn": fn_arn, "InputTransformer": transformer},
            {"Id": "nowhere", "Arn": f"arn:aws:sqs:eu-west-1:{account}:missing"},
        ],
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["FailedEntries"][0]["TargetId"] == "nowhere"

    rule = Rule.objects.get()
    assert rule.version == 2  # the targets changed how it routes
    saved = {t.api_id: t for t in Target.objects.filter(rule=rule)}
    assert saved["queue"].channel.name == "billing"
    assert saved["queue"].max_retries == 2
    assert saved["queue"].dead_letter_queue.name == "billing-dlq"
    assert saved["topic"].input_template == '{"fixed": true}'
    assert saved["bus"].channel.kind == "bus"
    assert saved["fn"].consumer.name == "invoicer"
    assert saved["fn"].input_paths_map == {"id": "$.detail.id"}

    listed = {t["Id"]: t for t in events.list_targets_by_rule(Rule="r")["Targets"]}
    assert listed["queue"]["Arn"] == queue_arn
    assert listed["queue"]["InputPath"] == "$.detail"
    assert listed["queue"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 600,
    }
    assert listed["queue"]["DeadLetterConfig"] == {"Arn": dlq_arn}
    assert listed["topic"]["Input"] == '{"fixed": true}'
    assert listed["bus"]["Arn"] == bus_arn
    assert listed["fn"]["Arn"] == fn_arn
    assert listed["fn"]["InputTransformer"] == transformer

    with pytest.raises(events.exceptions.ClientError) as error:
        events.delete_rule(Name="r")
    assert error.value.response["Error"]["Code"] == "ValidationException"

    events.remove_targets(Rule="r", Ids=["topic", "bus", "fn"])
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["queue"]


def test_put_targets_on_a_missing_rule_is_resource_not_found(clients) -> None:
    events = clients("events")
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.put_targets(Rule="nope", Targets=[{"Id": "a", "Arn": "arn:aws:sqs:x:1:q"}])
