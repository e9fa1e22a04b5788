"""SNS and EventBridge sends, batches, visibility, purge and competing consumers, through
the real boto3 against a live Daphne and a Celery worker."""

from __future__ import annotations

import json
import threading

import pytest

from flows.formats.scenario import scenario_load
from flows.models import Hop
from tests.aws.test_dataplane_sqs import law, wait_for

pytestmark = pytest.mark.stack


def queue_arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def test_sns_wraps_in_its_envelope_unless_raw_and_filters_by_attributes(clients, running) -> None:
    sqs, sns = clients("sqs"), clients("sns")
    wrapped = sqs.create_queue(QueueName="wrapped")["QueueUrl"]
    raw = sqs.create_queue(QueueName="raw")["QueueUrl"]
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, wrapped))
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(sqs, raw),
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"store": ["web"]})},
    )
    web = sns.publish(
        TopicArn=topic,
        Message='{"n": 1}',
        Subject="Hello",
        MessageAttributes={"store": {"DataType": "String", "StringValue": "web"}},
    )["MessageId"]
    sns.publish(
        TopicArn=topic,
        Message='{"n": 2}',
        MessageAttributes={"store": {"DataType": "String", "StringValue": "shop"}},
    )
    notes = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=wrapped, MaxNumberOfMessages=10, WaitTimeSeconds=2)[
            "Messages"
        ]
    ]
    assert {n["Type"] for n in notes} == {"Notification"}
    first = next(n for n in notes if n["MessageId"] == web)
    assert first["Message"] == '{"n": 1}' and first["Subject"] == "Hello"
    assert first["TopicArn"] == topic
    assert first["MessageAttributes"]["store"] == {"Type": "String", "Value": "web"}
    got = sqs.receive_message(QueueUrl=raw, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert [m["Body"] for m in got] == ['{"n": 1}']
    assert got[0]["MessageAttributes"]["store"]["StringValue"] == "web"
    wait_for(lambda: Hop.objects.filter(stage="filtered").exists())
    law(running)


def test_put_events_routes_by_rule_and_reports_failed_entries(clients, running) -> None:
    sqs, events = clients("sqs"), clients("events")
    url = sqs.create_queue(QueueName="big")["QueueUrl"]
    events.put_rule(
        Name="big", EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 500]}]}})
    )
    events.put_targets(Rule="big", Targets=[{"Id": "q", "Arn": queue_arn(sqs, url)}])
    answer = events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"total": 900})},
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"total": 5})},
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "not json"},
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": "{}", "EventBusName": "nope"},
        ]
    )
    assert answer["FailedEntryCount"] == 2
    assert answer["Entries"][2]["ErrorCode"] == "MalformedDetail"
    assert answer["Entries"][3]["ErrorCode"] == "ResourceNotFoundException"
    big = answer["Entries"][0]["EventId"]
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    event = json.loads(message["Body"])
    assert event["id"] == big and event["detail"] == {"total": 900}
    assert event["detail-type"] == "OrderPlaced" and event["source"] == "shop"
    unmatched = answer["Entries"][1]["EventId"]
    wait_for(lambda: Hop.objects.filter(msg=unmatched, stage="unmatched").exists())
    with pytest.raises(events.exceptions.ClientError):
        events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}] * 11)
    law(running)


def test_batches_visibility_changes_and_purge(clients, running) -> None:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="b", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "1"},
            {"Id": "b", "MessageBody": "2"},
            {"Id": "c", "MessageBody": "3", "DelaySeconds": 901},
        ],
    )
    assert [s["Id"] for s in sent["Successful"]] == ["a", "b"]
    assert [f["Id"] for f in sent["Failed"]] == ["c"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["1", "2"]
    # One shows again at once; the other stays hidden for its 30 seconds.
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0}],
    )
    assert changed["Successful"] == [{"Id": "x"}]
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"]
    assert [m["MessageId"] for m in again] == [got[0]["MessageId"]]
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "d", "ReceiptHandle": again[0]["ReceiptHandle"]}]
    )
    assert deleted["Successful"] == [{"Id": "d"}]
    with pytest.raises(sqs.exceptions.MessageNotInflight):
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=5
        )
    sqs.send_message(QueueUrl=url, MessageBody="3")
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    totals = law(running)
    assert totals["purged"] == 1 and totals["processed"] == 1 and totals["in_flight"] == 1


def test_fifo_groups_and_deduplication(clients, running) -> None:
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="steps.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    first = sqs.send_message(
        QueueUrl=url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    again = sqs.send_message(
        QueueUrl=url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    assert again["MessageId"] == first["MessageId"]
    sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="g", MessageDeduplicationId="d2")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["1"]  # the group is held until "1" is deleted
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["2"]
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    law(running)


COMPETING = """
slug: competing
name: Competing
message_types: [{name: Job, kind: command}]
channels:
  - {name: jobs, kind: queue, visibility_timeout: 2, max_receives: 5, dead_letter_queue: dead}
  - {name: dead, kind: queue}
consumers:
  - {name: sim, latency_ms: {mean: 5, jitter: 2}, concurrency: 4, failure_rate: 0.1}
producers:
  - {name: p, channel: jobs, rate: 100, emits: [{type: Job, payload: {n: {$seq: {}}}}]}
subscriptions:
  - {channel: jobs, consumer: sim}
"""


def test_external_and_simulated_consumers_never_get_one_message_twice(
    worker, client_for, transactional_db
) -> None:
    from flows import services
    from flows.aws import credentials
    from flows.models import RunStatus

    topology = scenario_load(text=COMPETING, origin="test.yaml")
    key, secret = credentials.apikey_issue(topology=topology)
    received: list[str] = []
    stop = threading.Event()

    def consume() -> None:
        sqs = client_for("sqs", key.access_key_id, secret)
        url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
        while not stop.is_set():
            for m in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                received.append(m["MessageId"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(received) > 100, timeout=30)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    try:
        run = topology.runs.get(status=RunStatus.RUNNING)
        sim_node = f"consumer:{topology.consumers.get().pk}"
        wait_for(lambda: Hop.objects.filter(run=run, stage="processed", to_node=sim_node).exists())
        simulated = set(
            Hop.objects.filter(run=run, stage="processed", to_node=sim_node).values_list(
                "msg", flat=True
            )
        )
        assert len(received) == len(set(received))  # no message handed out twice
        assert not simulated & {__import__("uuid").UUID(m) for m in received}
        counters = services.run_counters(run=run)
        assert services.accounting_errors(counters) == [], counters["totals"]
    finally:
        for run in topology.runs.filter(status=RunStatus.RUNNING):
            services.run_stop(run=run)
