"""The AWS-compatible endpoint through boto3: EventViz against moto's server and a null floor.

    .venv/bin/python -m pip install -r bench/requirements.txt
    .venv/bin/python bench/aws_api.py [--seconds 3]

Three servers in the same run, each on a free loopback port: EventViz (the embedded stack:
Redis, SQLite, one Celery worker, Daphne), moto's server (``moto[server]``, a subprocess),
and a null endpoint (a tiny HTTP server, a subprocess, answering every call with a canned
response: the client's own floor, no server can be faster through boto3). For each it
times SQS send+receive+delete round trips, SNS Publish (topic -> queue) and EventBridge
PutEvents entries (batches of 10, one rule to a queue), with one client thread and with
8; then the hop latency: API call answered -> its ``published`` hop received by a
websocket client of the dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _stack import embedded_stack, percentile, setup_django

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"

NULL_SERVER = r"""
import json, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIPT = "r" * 100
BODY = "x" * 64
JSON = {
    "AmazonSQS.SendMessage": {"MessageId": "m", "MD5OfMessageBody": "x"},
    "AmazonSQS.ReceiveMessage": {"Messages": [{"MessageId": "m", "ReceiptHandle": RECEIPT,
        "MD5OfBody": "x", "Body": BODY}]},
    "AmazonSQS.DeleteMessage": {},
    "AWSEvents.PutEvents": {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * 10},
}
SNS = ('<?xml version="1.0"?><PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
       '<PublishResult><MessageId>m</MessageId></PublishResult><ResponseMetadata>'
       '<RequestId>r</RequestId></ResponseMetadata></PublishResponse>').encode()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, as real servers do
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        if target:
            body = json.dumps(JSON.get(target, {})).encode()
            kind = "application/x-amz-json-1.0"
        else:
            body, kind = SNS, "text/xml"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "r")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def client(service: str, endpoint: str, key: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=16),
    )


class Target:
    """One server and the resources the figures use on it."""

    def __init__(self, name: str, endpoint: str, key: str, secret: str) -> None:
        self.name, self.endpoint, self.key, self.secret = name, endpoint, key, secret
        self.queue_url = self.topic_arn = ""

    def make(self, service: str) -> Any:
        return client(service, self.endpoint, self.key, self.secret)

    def setup(self) -> None:
        """A queue for round trips; a topic and a bus each routed to a queue."""
        if self.name == "null":
            self.queue_url = f"{self.endpoint}/000000000000/q"
            self.topic_arn = "arn:aws:sns:us-east-1:000000000000:t"
            return
        sqs, sns, events = self.make("sqs"), self.make("sns"), self.make("events")
        self.queue_url = sqs.create_queue(QueueName="bench-rt")["QueueUrl"]
        sink = sqs.create_queue(QueueName="bench-sink")["QueueUrl"]
        sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.topic_arn = sns.create_topic(Name="bench-topic")["TopicArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=sink_arn)
        events.create_event_bus(Name="bench-bus")
        events.put_rule(
            Name="all-orders", EventBusName="bench-bus", EventPattern='{"source": ["bench"]}'
        )
        events.put_targets(
            Rule="all-orders", EventBusName="bench-bus", Targets=[{"Id": "q", "Arn": sink_arn}]
        )


def timed(threads: int, seconds: float, make_worker: Callable[[], Callable[[], int]]) -> float:
    """Units per second: each thread runs its own worker (its own clients) until time is up."""
    workers = [make_worker() for _ in range(threads)]
    for work in workers:
        work()  # warm: connections, signing keys
    done = [0] * threads
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def loop(i: int) -> None:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            done[i] += workers[i]()

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for t in pool:
        t.join()
    return sum(done) / (time.perf_counter() - began)


def sqs_round_trip(target: Target) -> Callable[[], Callable[[], int]]:
    def make() -> Callable[[], int]:
        sqs = target.make("sqs")

        def work() -> int:
            sqs.send_message(QueueUrl=target.queue_url, MessageBody="x" * 64)
            got = sqs.receive_message(QueueUrl=target.queue_url, WaitTimeSeconds=1)
            for m in got.get("Messages", []):
                sqs.delete_message(QueueUrl=target.queue_url, ReceiptHandle=m["ReceiptHandle"])
            return 1

        return work

    return make


def sns_publish(target: Target) -> Callable[[], Callable[[], int]]:
    def make() -> Callable[[], int]:
        sns = target.make("sns")

        def work() -> int:
            sns.publish(TopicArn=target.topic_arn, Message='{"n": 1}')
            return 1

        return work

    return make


def put_events(target: Target) -> Callable[[], Callable[[], int]]:
    entries = [
        {
            "Source": "bench",
            "DetailType": "OrderPlaced",
            "Detail": json.dumps({"n": i}),
            "EventBusName": "bench-bus",
        }
        for i in range(10)
    ]

    def make() -> Callable[[], int]:
        events = target.make("events")

        def work() -> int:
            answer = events.put_events(Entries=entries)
            return 10 - answer["FailedEntryCount"]

        return work

    return make


def hop_latency(target: Target, ws_url: str, origin: str, slug: str, n: int = 200) -> list[float]:
    """Milliseconds from SendMessage answered to its published hop on a dashboard socket."""
    import websockets

    answered: dict[str, float] = {}
    latencies: list[float] = []

    async def main() -> None:
        async with websockets.connect(
            f"{ws_url}/ws/topologies/{slug}/", origin=origin, max_size=2**25
        ) as ws:
            await ws.recv()  # snapshot
            sqs = target.make("sqs")

            def send_all() -> None:
                for i in range(n):
                    mid = sqs.send_message(QueueUrl=target.queue_url, MessageBody=f"h{i}")
                    answered[mid["MessageId"]] = time.perf_counter()
                    time.sleep(0.01)

            sender = asyncio.get_running_loop().run_in_executor(None, send_all)
            deadline = time.monotonic() + 60
            while len(latencies) < n and time.monotonic() < deadline:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                except TimeoutError:
                    break
                if frame.get("type") != "hops":
                    continue
                now = time.perf_counter()
                for hop in frame["hops"]:
                    if hop["stage"] == "published" and hop["msg"] in answered:
                        latencies.append((now - answered[hop["msg"]]) * 1000)
            await sender

    asyncio.run(main())
    return latencies


def start(argv: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    from eventviz import stack

    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    stack.wait_for_http(
        f"http://127.0.0.1:{port}/", timeout=60, alive=lambda: process.poll() is None, want=None
    )
    return process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    setup_django()
    from eventviz import stack
    from flows.aws import credentials
    from flows.models import Topology
    from tests.stack.conftest import free_port

    with embedded_stack(worker_threads=2) as live:
        topology = Topology.objects.create(slug="bench-aws", name="Bench AWS")
        key, secret = credentials.apikey_issue(topology=topology)
        moto_port, null_port = free_port(), free_port()
        moto = start(
            [sys.executable, "-m", "moto.server", "-p", str(moto_port)],
            moto_port,
            env={**os.environ, "MOTO_CALL_RESET_API": "false"},
        )
        null = start([sys.executable, "-c", NULL_SERVER, str(null_port)], null_port)
        try:
            targets = [
                Target("eventviz", f"{live.base_url}/aws", key.access_key_id, secret),
                Target("moto", f"http://127.0.0.1:{moto_port}", "testing", "testing"),
                Target("null", f"http://127.0.0.1:{null_port}", "testing", "testing"),
            ]
            for target in targets:
                target.setup()
            figures: dict[tuple[str, str, int], float] = {}
            rows = [
                ("SQS send+receive+delete round trips/s", sqs_round_trip),
                ("SNS Publish/s (topic -> queue)", sns_publish),
                ("EventBridge PutEvents entries/s (batches of 10)", put_events),
            ]
            for label, make in rows:
                for threads in (1, 8):
                    for target in targets:
                        figures[(label, target.name, threads)] = timed(
                            threads, args.seconds, make(target)
                        )
                        print(
                            f"  {label}, {threads} thread(s), {target.name}: "
                            f"{figures[(label, target.name, threads)]:,.0f}",
                            flush=True,
                        )
            latencies = hop_latency(targets[0], live.ws_url, live.base_url, topology.slug)
        finally:
            stack.stop(moto)
            stack.stop(null)
    print()
    print(
        "| figure | threads | EventViz | moto server | null floor | EventViz ÷ moto "
        "| EventViz ÷ floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, _ in rows:
        for threads in (1, 8):
            ev, mo, nu = (figures[(label, t, threads)] for t in ("eventviz", "moto", "null"))
            print(
                f"| {label} | {threads} | {ev:,.0f} | {mo:,.0f} | {nu:,.0f} | {ev / mo:.1f}x "
                f"| {ev / nu:.2f} |"
            )
    print()
    print(
        f"hop latency (SendMessage answered -> published hop on a websocket), "
        f"{len(latencies)} messages: p50 {percentile(latencies, 50):.0f} ms, "
        f"p99 {percentile(latencies, 99):.0f} ms"
    )


if __name__ == "__main__":
    main()
