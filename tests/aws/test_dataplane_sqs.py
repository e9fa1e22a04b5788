"""SQS data plane through the real boto3 against a live Daphne and a Celery worker."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from flows import services
from flows.models import Hop, Run, RunStatus

pytestmark = pytest.mark.stack


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def law(topology) -> dict[str, int]:
    run = Run.objects.get(topology=topology, status=RunStatus.RUNNING)
    counters = services.run_counters(run=run)
    assert services.accounting_errors(counters) == [], counters["totals"]
    return counters["totals"]


def test_a_message_sent_is_received_and_deleted_as_processed(clients, running) -> None:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody='{"job": 1}',
        MessageAttributes={"MessageType": {"DataType": "String", "StringValue": "JobCreated"}},
    )
    got = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SenderId"],
    )["Messages"]
    assert [m["MessageId"] for m in got] == [sent["MessageId"]]
    message = got[0]
    assert message["Body"] == '{"job": 1}'
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"]["MessageType"]["StringValue"] == "JobCreated"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["Attributes"]["SenderId"] == clients.key.access_key_id
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    stages = wait_for(
        lambda: (
            s
            if "processed"
            in (s := [h.stage for h in Hop.objects.filter(msg=sent["MessageId"]).order_by("seq")])
            else None
        )
    )
    assert stages == ["published", "enqueued", "received", "processed"]
    published = Hop.objects.get(msg=sent["MessageId"], stage="published")
    assert published.from_node == f"api-producer:{clients.key.pk}"
    assert published.detail["key"] == clients.key.access_key_id
    assert "Boto3" in published.detail["user_agent"]
    assert Hop.objects.get(msg=sent["MessageId"], stage="processed").to_node == (
        f"api-consumer:{clients.key.pk}"
    )
    totals = law(running)
    assert totals["processed"] == 1 and totals["in_flight"] == 0


def test_a_consumer_that_never_deletes_sees_it_again_then_the_dead_letter_queue(
    clients, running
) -> None:
    sqs = clients("sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="work",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="never deleted")["MessageId"]
    counts = []
    for _ in range(2):
        got = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["All"]
        )["Messages"]
        assert got[0]["MessageId"] == sent
        counts.append(got[0]["Attributes"]["ApproximateReceiveCount"])
        # Not visible again before the timeout ends.
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert counts == ["1", "2"]
    # The third receive finds it over max receives: it goes to the dead-letter queue.
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)
    stages = wait_for(
        lambda: (
            s
            if "dead_lettered"
            in (s := [h.stage for h in Hop.objects.filter(msg=sent).order_by("seq")])
            else None
        )
    )
    assert stages.count("redelivered") == 2 and stages.count("failed") == 2
    totals = law(running)
    assert totals["dead_lettered"] == 1
    attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_long_polling_returns_as_soon_as_a_message_arrives(
    clients, client_for, issue, running
) -> None:
    import threading

    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="poll")["QueueUrl"]
    sqs.receive_message(QueueUrl=url)  # starts the run
    answer: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answer["messages"] = clients("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=10)
        answer["at"] = time.monotonic()
        answer["waited"] = answer["at"] - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(1.0)
    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    thread.join(15)
    assert answer["messages"]["Messages"][0]["Body"] == "wake up"
    assert 0.9 < answer["waited"] < 5
    assert answer["at"] - sent_at < 0.5


def test_errors_are_the_ones_sqs_gives(clients, running) -> None:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="e")["QueueUrl"]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url + "-missing", MessageBody="x")
    with pytest.raises(ClientError) as too_big:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 262_145)
    assert too_big.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as bad_max:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert bad_max.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="nonsense")
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)]
        )
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]
        )
