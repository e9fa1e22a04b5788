"""Runs driven by real Celery worker processes, with faults: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable

import pytest
import websockets
from django.core.management import call_command

from eventviz import stack
from flows import services
from flows.formats.scenario import scenario_load, scenario_load_file
from flows.models import Hop, Run
from tests.stack.conftest import child_env

pytestmark = pytest.mark.stack

BACKLOG = """
slug: backlog
name: Backlog
message_types: [{name: Job, kind: command}]
channels:
  - {name: jobs, kind: queue, visibility_timeout: 2}
consumers:
  - {name: w1, service: workers, latency_ms: {mean: 40, jitter: 10}, concurrency: 3}
  - {name: w2, service: workers, latency_ms: {mean: 40, jitter: 10}, concurrency: 3}
producers:
  - {name: p, channel: jobs, rate: 60, emits: [{type: Job, payload: {n: {$seq: {}}}}]}
subscriptions:
  - {channel: jobs, consumer: w1}
  - {channel: jobs, consumer: w2}
"""


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        stack.celery_worker_argv(concurrency=4, hostname=f"{name}-{os.getpid()}@%h"),
        env=child_env(),
        start_new_session=True,
    )


def processed_once(run: Run) -> Counter[str]:
    return Counter(
        str(m) for m in Hop.objects.filter(run=run, stage="processed").values_list("msg", flat=True)
    )


def drain_and_check(run: Run) -> dict:
    """Stop producing, let the backlog drain, stop the run, check the law."""
    from flows.models import Producer

    Producer.objects.filter(topology=run.topology).update(paused=True)
    services.topology_touch(topology_id=run.topology_id)

    def drained() -> bool:
        totals = services.run_counters(run=run)["totals"]
        return totals["in_flight"] == 0 and totals["copies"] > 0

    wait_until(drained, 60, "the backlog to drain")
    services.run_stop(run=run)
    counters = services.run_counters(run=run)
    assert services.accounting_errors(counters) == []
    return counters["totals"]


def test_a_run_streams_hops_to_a_websocket_and_the_law_holds(live_stack) -> None:
    topology = scenario_load_file("shop")

    async def watch() -> list[dict]:
        frames = []
        async with websockets.connect(
            live_stack.ws_url + "/ws/topologies/shop/", origin=live_stack.base_url
        ) as ws:
            frames.append(json.loads(await ws.recv()))
            await asyncio.to_thread(services.run_start, topology=topology, seed=5)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                frames.append(frame)
                kinds = Counter(f["type"] for f in frames)
                if kinds["hops"] >= 5 and kinds["counters"] >= 2:
                    break
        return frames

    frames = asyncio.run(watch())
    assert frames[0]["type"] == "snapshot"
    hops = [h for f in frames if f["type"] == "hops" for h in f["hops"]]
    assert {h["stage"] for h in hops} >= {"published", "enqueued"}
    assert set(hops[0]) == {
        "seq",
        "run",
        "msg",
        "type",
        "kind",
        "stage",
        "from",
        "to",
        "edge",
        "attempt",
        "at",
    }
    seqs = [h["seq"] for h in hops]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    run = Run.objects.get(topology=topology, status="running")
    totals = drain_and_check(run)
    assert totals["processed"] > 0
    call_command("runcheck", "shop")


def test_kill_9_a_worker_mid_run_another_takes_over_nothing_lost_or_twice(live_stack) -> None:
    topology = scenario_load(text=BACKLOG, origin="backlog.yaml")
    run = services.run_start(topology=topology, seed=11)
    wait_until(lambda: processed_once(run).total() > 20, 30, "processing to start")
    # Only our worker drives (live_stack's worker too); kill both the hard way.
    for process in (live_stack.worker,):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    count_at_kill = processed_once(run).total()
    replacement = start_worker("replacement")
    try:
        wait_until(
            lambda: processed_once(run).total() > count_at_kill + 30,
            60,
            "the replacement worker to carry on",
        )
        totals = drain_and_check(run)
    finally:
        stack.stop(replacement)
    per_message = processed_once(run)
    assert set(per_message.values()) == {1}, "a message was processed twice"
    published = Hop.objects.filter(run=run, stage="published").count()
    assert totals["processed"] == published == len(per_message)


def test_restarted_workers_drain_a_backlog(live_stack) -> None:
    topology = scenario_load(text=BACKLOG, origin="backlog.yaml")
    topology.consumers.update(online=False)
    run = services.run_start(topology=topology, seed=12)
    queue_node = f"queue:{topology.channels.get().pk}"

    def depth() -> int:
        return services.run_counters(run=run)["nodes"].get(queue_node, {}).get("depth", 0)

    wait_until(lambda: depth() >= 50, 30, "a backlog")
    stack.stop(live_stack.worker)  # a clean restart: warm shutdown
    for consumer in topology.consumers.all():
        services.consumer_set_online(consumer=consumer, online=True)
    replacement = start_worker("restarted")
    try:
        totals = drain_and_check(run)
    finally:
        stack.stop(replacement)
    assert totals["processed"] == Hop.objects.filter(run=run, stage="published").count()
    assert depth() == 0


def test_a_rule_saved_in_admin_reroutes_the_next_messages_within_a_second(
    live_stack, admin_client
) -> None:
    from flows.models import Rule

    topology = scenario_load_file("shop")
    topology.producers.update(paused=True)
    run = services.run_start(topology=topology, seed=21)
    rule = Rule.objects.get(name="big-orders")
    fraud = f"consumer:{rule.targets.get().consumer_id}"
    order = {
        "detail-type": "OrderPlaced",
        "detail": {"order_id": "o", "total": 50, "currency": "EUR", "region": "us-east"},
    }

    def reached_fraud(msg: str) -> bool:
        return Hop.objects.filter(run=run, msg=msg, to_node=fraud).exists()

    def routed(msg: str) -> bool:
        return Hop.objects.filter(run=run, msg=msg, stage="processed").count() >= 2

    small = services.message_publish(topology=topology, channel_name="shop-bus", data=order)
    wait_until(lambda: routed(small), 20, "the first order to be routed")
    assert not reached_fraud(small)

    response = admin_client.post(
        f"/admin/flows/rule/{rule.pk}/change/",
        {
            "bus": rule.bus_id,
            "name": rule.name,
            "description": "",
            "enabled": "on",
            "event_pattern": '{"detail-type": ["OrderPlaced"]}',
            "loaded_version": rule.version,
            "targets-TOTAL_FORMS": "0",
            "targets-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    saved = time.monotonic()
    time.sleep(1.0)  # "within one second"
    second = services.message_publish(topology=topology, channel_name="shop-bus", data=order)
    wait_until(lambda: reached_fraud(second), 20, "the edited rule to route the next order")
    assert time.monotonic() - saved < 20
    hop = Hop.objects.filter(run=run, msg=second, to_node=fraud).first()
    assert hop.detail["rule"] == "big-orders" and hop.detail["rule_version"] == 2
    drain_and_check(run)
