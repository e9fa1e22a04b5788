"""SNS control plane through the real boto3 (query protocol, XML answers)."""

from __future__ import annotations

import json

import pytest

from flows.models import MessageChannel, Subscription

pytestmark = pytest.mark.stack


def _queue_arn(sqs, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def test_create_list_and_delete_topics(clients, topology) -> None:
    sns = clients("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    assert arn == f"arn:aws:sns:eu-west-1:{clients.key.account_id}:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn  # idempotent
    sns.create_topic(Name="payments")
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]] == [
        "orders",
        "payments",
    ]
    assert MessageChannel.objects.get(topology=topology, name="orders").kind == "topic"
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # deleting a topic that is gone is not an error
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [
        arn.replace("orders", "payments")
    ]


def test_get_topic_attributes_counts_subscriptions_and_missing_topic_is_not_found(
    clients,
) -> None:
    sns, sqs = clients("sns"), clients("sqs")
    arn = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=_queue_arn(sqs, "q"))
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    assert attributes["SubscriptionsConfirmed"] == "1"
    with pytest.raises(sns.exceptions.NotFoundException) as error:
        sns.get_topic_attributes(TopicArn=arn + "-nope")
    assert error.value.response["Error"]["Code"] == "NotFound"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_subscribe_a_queue_with_filter_policy_raw_delivery_and_redrive(clients) -> None:
    sns, sqs = clients("sns"), clients("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    queue_arn = _queue_arn(sqs, "billing")
    dlq_arn = _queue_arn(sqs, "billing-dlq")
    policy = {"amount": [{"numeric": [">", 100]}]}
    sub_arn = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "FilterPolicy": json.dumps(policy),
            "FilterPolicyScope": "MessageBody",
            "RawMessageDelivery": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn}),
        },
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]

    saved = Subscription.objects.get()
    assert saved.target_channel.name == "billing"
    assert saved.filter_policy == policy
    assert saved.filter_scope == "MessageBody"
    assert saved.raw_message_delivery is True
    assert saved.dead_letter_queue.name == "billing-dlq"

    attributes = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
    assert attributes["Protocol"] == "sqs"
    assert attributes["Endpoint"] == queue_arn
    assert json.loads(attributes["FilterPolicy"]) == policy
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn}

    sns.set_subscription_attributes(
        SubscriptionArn=sub_arn, AttributeName="RawMessageDelivery", AttributeValue="false"
    )
    sns.set_subscription_attributes(
        SubscriptionArn=sub_arn, AttributeName="FilterPolicy", AttributeValue=""
    )
    saved.refresh_from_db()
    assert saved.raw_message_delivery is False
    assert saved.filter_policy is None


def test_an_invalid_filter_policy_is_an_invalid_parameter(clients) -> None:
    sns, sqs = clients("sns"), clients("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    with pytest.raises(sns.exceptions.InvalidParameterException) as error:
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=_queue_arn(sqs, "q"),
            Attributes={"FilterPolicy": json.dumps({"a": [{"numeric": ["<"]}]})},
        )
    assert error.value.response["Error"]["Message"].startswith("Invalid parameter: FilterPolicy:")
    assert not Subscription.objects.exists()


def test_lambda_subscription_makes_a_consumer_and_lists_by_topic(clients, topology) -> None:
    sns, sqs = clients("sns"), clients("sqs")
    orders = sns.create_topic(Name="orders")["TopicArn"]
    other = sns.create_topic(Name="other")["TopicArn"]
    fn = f"arn:aws:lambda:eu-west-1:{clients.key.account_id}:function:mailer"
    sns.subscribe(TopicArn=orders, Protocol="lambda", Endpoint=fn)
    sns.subscribe(TopicArn=other, Protocol="sqs", Endpoint=_queue_arn(sqs, "audit"))
    assert topology.consumers.get().name == "mailer"

    by_topic = sns.list_subscriptions_by_topic(TopicArn=orders)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in by_topic] == [("lambda", fn)]
    everything = sns.list_subscriptions()["Subscriptions"]
    assert {s["TopicArn"] for s in everything} == {orders, other}


def test_unsubscribe_deletes_and_an_unknown_subscription_is_not_found(clients) -> None:
    sns, sqs = clients("sns"), clients("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=_queue_arn(sqs, "q"))[
        "SubscriptionArn"
    ]
    sns.unsubscribe(SubscriptionArn=arn)
    assert not Subscription.objects.exists()
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_subscription_attributes(SubscriptionArn=arn)


def test_unsupported_protocol_is_an_invalid_parameter(clients) -> None:
    sns = clients("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")
