"""The API and the rest of EventViz see the same topology: dashboards, admin, live runs."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
import websockets

from eventviz import stack
from flows import services
from flows.formats.scenario import scenario_load
from flows.models import Rule, Subscription
from tests.stack.conftest import child_env

pytestmark = pytest.mark.stack

BACKLOG = """
slug: backlog
name: Backlog
message_types: [{name: Job, kind: command}]
channels:
  - {name: jobs, kind: queue}
producers:
  - {name: p, channel: jobs, rate: 40, emits: [{type: Job, payload: {n: {$seq: {}}}}]}
"""


def test_creating_a_queue_redraws_open_dashboards(clients, topology, daphne_url) -> None:
    sqs = clients("sqs")
    ws_url = daphne_url.replace("http", "ws") + f"/ws/topologies/{topology.slug}/"

    async def watch() -> dict:
        async with websockets.connect(ws_url, origin=daphne_url) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
            await asyncio.to_thread(sqs.create_queue, QueueName="fresh")
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] == "graph":
                    return frame

    frame = asyncio.run(watch())
    assert "fresh" in {node["label"] for node in frame["graph"]["nodes"]}


def test_admin_edits_and_api_edits_see_each_other(clients, topology) -> None:
    events = clients("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["a"]}))
    rule = Rule.objects.get()
    # An edit made elsewhere (admin saves the model) is what the API answers.
    rule.event_pattern = {"source": ["b"]}
    rule.description = "edited in admin"
    rule.save()
    described = events.describe_rule(Name="r")
    assert json.loads(described["EventPattern"]) == {"source": ["b"]}
    assert described["Description"] == "edited in admin"


def test_history_says_which_key_changed_it(clients, topology) -> None:
    events, sqs, sns = clients("events"), clients("sqs"), clients("sns")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["a"]}))
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["b"]}))
    key_id = clients.key.access_key_id
    reasons = [h.history_change_reason for h in Rule.objects.get().history.all()]
    assert reasons and all(f"changed through the API by key {key_id}" in r for r in reasons)
    assert Rule.objects.get().version == 2

    topic = sns.create_topic(Name="t")["TopicArn"]
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    record = Subscription.history.get()
    assert record.history_change_reason == f"changed through the API by key {key_id}"


def test_queue_attributes_count_the_messages_of_the_running_run(
    transactional_db, client_for, daphne_url
) -> None:
    from flows.aws import credentials

    topology = scenario_load(text=BACKLOG, origin="backlog.yaml")
    key, secret = credentials.apikey_issue(topology=topology)
    sqs = client_for("sqs", key.access_key_id, secret)
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    worker = stack.spawn(
        stack.celery_worker_argv(concurrency=2, hostname=f"aws-{os.getpid()}@%h"),
        env=child_env(),
    )
    try:
        services.run_start(topology=topology, seed=7)
        deadline = time.monotonic() + 40
        waiting = 0
        while time.monotonic() < deadline and waiting < 5:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            waiting = int(attributes["ApproximateNumberOfMessages"])
            time.sleep(0.3)
        assert waiting >= 5, "no consumer, so the producer's messages wait in the queue"
    finally:
        run = services.running_run(topology)
        if run is not None:
            services.run_stop(run=run)
        stack.stop(worker)
