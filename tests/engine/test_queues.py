"""Queues behave as SQS does: competing consumers, visibility, redelivery, DLQ, FIFO."""

from __future__ import annotations

from collections import Counter

import pytest

pytestmark = pytest.mark.django_db

QUEUE = """
slug: q
name: Q
message_types:
  - {name: PlaceOrder, kind: command, schema: {type: object, required: [n]}}
channels:
  - {name: jobs, kind: queue, visibility_timeout: 1, max_receives: 3, dead_letter_queue: dlq}
  - {name: dlq, kind: queue}
consumers:
  - {name: w1, service: workers, latency_ms: {mean: 20, jitter: 0}, concurrency: 2}
  - {name: w2, service: workers, latency_ms: {mean: 20, jitter: 0}, concurrency: 2}
producers:
  - name: p
    channel: jobs
    rate: 40
    emits: [{type: PlaceOrder, payload: {n: {$seq: {}}}}]
subscriptions:
  - {channel: jobs, consumer: w1}
  - {channel: jobs, consumer: w2}
"""


def test_competing_consumers_each_message_is_processed_exactly_once(sim_of) -> None:
    sim = sim_of(QUEUE)
    sim.run_for(2000)
    sim.run_for(1000, producers=False)
    processed = sim.hops(stage="processed")
    published = sim.hops(stage="published")
    assert len(published) >= 70
    per_message = Counter(h.msg for h in processed)
    assert set(per_message) == {h.msg for h in published}
    assert set(per_message.values()) == {1}
    by_consumer = Counter(h.to_node for h in processed)
    assert set(by_consumer) == {sim.node("consumer", "w1"), sim.node("consumer", "w2")}
    totals = sim.assert_law()
    assert totals["in_flight"] == 0 and totals["processed"] == len(published)


def test_messages_wait_while_consumers_are_offline_then_drain(sim_of) -> None:
    sim = sim_of(QUEUE)
    sim.topology.consumers.update(online=False)
    sim.reload()
    sim.run_for(1000)
    queue = sim.node("queue", "jobs")
    waiting = sim.counters()["nodes"][queue]["depth"]
    assert waiting >= 35 and not sim.hops(stage="received")
    sim.assert_law()
    sim.topology.consumers.update(online=True)
    sim.reload()
    sim.run_for(3000, producers=False)
    assert sim.counters()["nodes"][queue]["depth"] == 0
    assert sim.assert_law()["processed"] == len(sim.hops(stage="published"))


def test_failures_redeliver_after_the_visibility_timeout_then_dead_letter(sim_of) -> None:
    sim = sim_of(QUEUE.replace("concurrency: 2}", "concurrency: 2, failure_rate: 1}"))
    message_id = sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"n": 1}})
    sim.run_for(6000, producers=False)
    stages = [h.stage for h in sim.hops() if str(h.msg) == message_id]
    assert stages == [
        "published",
        "enqueued",
        "received",
        "failed",
        "redelivered",
        "received",
        "failed",
        "redelivered",
        "received",
        "failed",
        "redelivered",
        "dead_lettered",
    ]
    dead = sim.hops(stage="dead_lettered")[0]
    assert dead.to_node == sim.node("queue", "dlq")
    assert "max receives" in dead.detail["reason"]
    assert sim.counters()["nodes"][sim.node("queue", "dlq")]["parked"] == 1
    assert sim.assert_law()["dead_lettered"] == 1


def test_redrive_moves_dead_letters_back_and_they_are_processed(sim_of) -> None:
    from flows import services

    sim = sim_of(QUEUE.replace("concurrency: 2}", "concurrency: 2, failure_rate: 1}"))
    sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"n": 1}})
    sim.run_for(6000, producers=False)
    sim.topology.consumers.update(failure_rate=0)
    sim.reload()
    services.queue_redrive(topology=sim.topology, queue=sim.topology.channels.get(name="dlq"))
    sim.run_for(500, producers=False)
    totals = sim.assert_law()
    assert (totals["dead_lettered"], totals["processed"], totals["in_flight"]) == (1, 1, 0)
    assert sim.counters()["nodes"][sim.node("queue", "dlq")]["parked"] == 0


def test_slow_consumer_loses_the_message_to_the_visibility_timeout(sim_of) -> None:
    sim = sim_of(
        QUEUE.replace(
            "mean: 20, jitter: 0}, concurrency: 2}", "mean: 1500, jitter: 0}, concurrency: 2}"
        )
    )
    sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"n": 1}})
    sim.run_for(1200, producers=False)
    failed = sim.hops(stage="failed")
    assert failed and "visibility timeout" in failed[0].detail["error"]
    assert sim.hops(stage="redelivered")
    sim.assert_law()


def test_schema_mismatch_fails_with_the_validation_error(sim_of) -> None:
    sim = sim_of(
        QUEUE.replace(
            "{name: w1, service", "{name: w1, expects: {type: PlaceOrder}, service"
        ).replace("{name: w2, service", "{name: w2, expects: {type: PlaceOrder}, service")
    )
    sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"m": 1}})
    sim.run_for(300, producers=False)
    failed = sim.hops(stage="failed")
    assert failed
    assert "does not match PlaceOrder v1" in failed[0].detail["error"]
    assert "'n' is a required property" in failed[0].detail["error"]
    sim.assert_law()


FIFO = """
slug: f
name: F
message_types: [{name: Step}]
channels:
  - {name: steps, kind: queue, fifo: true, visibility_timeout: 5}
consumers:
  - {name: a, latency_ms: {mean: 30, jitter: 25}, concurrency: 4}
  - {name: b, latency_ms: {mean: 30, jitter: 25}, concurrency: 4}
subscriptions:
  - {channel: steps, consumer: a}
  - {channel: steps, consumer: b}
"""


def test_fifo_queue_keeps_order_within_each_message_group(sim_of) -> None:
    sim = sim_of(FIFO)
    sent: dict[str, list[str]] = {"g1": [], "g2": []}
    for i in range(12):
        group = "g1" if i % 2 else "g2"
        sent[group].append(
            sim.publish(
                "steps",
                {
                    "detail-type": "Step",
                    "detail": {"i": i},
                    "attributes": {"MessageGroupId": group},
                },
            )
        )
    sim.run_for(2000, producers=False)
    processed = [str(h.msg) for h in sim.hops(stage="processed")]
    for ids in sent.values():
        assert [m for m in processed if m in ids] == ids
    assert sim.assert_law()["processed"] == 12


def test_same_seed_gives_the_same_messages(sim_of) -> None:
    first = sim_of(QUEUE, seed=42)
    first.run_for(500)
    payloads = [h.detail["payload"] for h in first.hops(stage="published")]
    first.run.status = "stopped"
    first.run.save()
    second = sim_of(QUEUE, seed=42)
    second.run_for(500)
    again = [h.detail["payload"] for h in second.hops(stage="published")]
    assert [(p["id"], p["detail"]) for p in payloads] == [(p["id"], p["detail"]) for p in again]
    assert len(payloads) >= 15


def test_seq_increases_strictly_within_a_run(sim_of) -> None:
    sim = sim_of(QUEUE)
    sim.run_for(1000)
    seqs = [h.seq for h in sim.hops()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sim.run.__class__.objects.get(pk=sim.run.pk).last_seq == len(seqs)
