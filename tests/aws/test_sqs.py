"""SQS control plane through the real boto3 against a live Daphne."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from flows.models import MessageChannel

pytestmark = pytest.mark.stack


def test_create_queue_saves_a_queue_channel_with_its_attributes(clients, topology) -> None:
    sqs = clients("sqs")
    dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="orders",
        Attributes={
            "VisibilityTimeout": "45",
            "DelaySeconds": "5",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "4"}),
        },
    )["QueueUrl"]

    account = clients.key.account_id
    assert url.endswith(f"/aws/{account}/orders")
    queue = MessageChannel.objects.get(topology=topology, name="orders")
    assert queue.kind == "queue"
    assert queue.visibility_timeout == 45
    assert queue.delay_seconds == 5
    assert queue.max_receives == 4
    assert queue.dead_letter_queue.name == "orders-dlq"
    assert dlq_arn == f"arn:aws:sqs:eu-west-1:{account}:orders-dlq"


def test_get_queue_attributes_answers_what_was_set(clients) -> None:
    sqs = clients("sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "12",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "12"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 3,
    }
    # Nothing is running, so nothing can be waiting or in flight.
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert "FifoQueue" not in attributes


def test_fifo_queue_needs_the_suffix_and_keeps_content_based_deduplication(clients) -> None:
    sqs = clients("sqs")
    with pytest.raises(ClientError) as error:
        sqs.create_queue(QueueName="payments", Attributes={"FifoQueue": "true"})
    assert error.value.response["Error"]["Code"] == "InvalidAttributeValue"
    url = sqs.create_queue(
        QueueName="payments.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"


def test_create_queue_is_idempotent_but_refuses_different_attributes(clients) -> None:
    sqs = clients("sqs")
    first = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    assert (
        sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"] == first
    )
    with pytest.raises(sqs.exceptions.QueueNameExists) as error:
        sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "31"})
    assert error.value.response["Error"]["Code"] == "QueueAlreadyExists"


def test_get_queue_url_and_list_queues_by_prefix(clients) -> None:
    sqs = clients("sqs")
    for name in ("billing-in", "billing-out", "shipping"):
        sqs.create_queue(QueueName=name)
    assert sqs.get_queue_url(QueueName="shipping")["QueueUrl"].endswith("/shipping")
    urls = sqs.list_queues(QueueNamePrefix="billing")["QueueUrls"]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["billing-in", "billing-out"]
    page = sqs.list_queues(MaxResults=2)
    assert len(page["QueueUrls"]) == 2
    rest = sqs.list_queues(MaxResults=2, NextToken=page["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in rest["QueueUrls"]] == ["shipping"]
    assert "NextToken" not in rest


def test_a_missing_queue_raises_queue_does_not_exist(clients) -> None:
    sqs = clients("sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as error:
        sqs.get_queue_url(QueueName="nope")
    assert error.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_attributes(QueueUrl="http://x/aws/1/nope", AttributeNames=["All"])


def test_delete_queue_removes_the_channel(clients, topology) -> None:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="gone")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    assert not MessageChannel.objects.filter(topology=topology, name="gone").exists()
    assert "QueueUrls" not in sqs.list_queues()


def test_bad_attribute_values_and_names_are_refused(clients) -> None:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="strict")["QueueUrl"]
    with pytest.raises(sqs.exceptions.InvalidAttributeValue):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "50000"})
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Colour": "blue"})
    with pytest.raises(ClientError) as error:
        sqs.set_queue_attributes(
            QueueUrl=url,
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": "arn:aws:sqs:x:1:no", "maxReceiveCount": 2}
                )
            },
        )
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
