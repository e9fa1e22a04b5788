"""Topics fan out through filter policies, pushes retry, mirrors copy, direct calls couple."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

TOPIC = """
slug: t
name: T
message_types: [{name: OrderPlaced}]
channels:
  - {name: orders, kind: topic}
  - {name: analytics-queue, kind: queue}
consumers:
  - {name: billing, latency_ms: {mean: 10, jitter: 0}}
  - {name: big-orders, latency_ms: {mean: 10, jitter: 0}}
  - {name: analytics, latency_ms: {mean: 10, jitter: 0}}
subscriptions:
  - {channel: orders, consumer: billing}
  - channel: orders
    consumer: big-orders
    filter_policy: {total: [{numeric: [">", 100]}]}
    filter_scope: MessageBody
  - {channel: orders, target_channel: analytics-queue}
  - {channel: analytics-queue, consumer: analytics}
"""


def publish_orders(sim, totals: list[int]) -> list[str]:
    return [
        sim.publish("orders", {"detail-type": "OrderPlaced", "detail": {"total": t}})
        for t in totals
    ]


def test_topic_fans_out_to_every_matching_subscriber(sim_of) -> None:
    sim = sim_of(TOPIC)
    small, big = publish_orders(sim, [50, 500])
    sim.run_for(500, producers=False)
    processed = {(str(h.msg), h.to_node) for h in sim.hops(stage="processed")}
    billing, big_node, analytics = (
        sim.node("consumer", n) for n in ("billing", "big-orders", "analytics")
    )
    assert processed == {
        (small, billing),
        (small, analytics),
        (big, billing),
        (big, big_node),
        (big, analytics),
    }
    filtered = sim.hops(stage="filtered")
    assert [(str(h.msg), h.to_node) for h in filtered] == [(small, big_node)]
    assert filtered[0].detail["policy"] == {"total": [{"numeric": [">", 100]}]}
    totals = sim.assert_law()
    assert (totals["copies"], totals["processed"], totals["filtered"]) == (6, 5, 1)


def test_push_to_an_offline_consumer_retries_then_dead_letters(sim_of) -> None:
    text = TOPIC.replace(
        "{channel: orders, consumer: billing}",
        "{channel: orders, consumer: billing, max_retries: 2, dead_letter_queue: analytics-queue}",
    )
    sim = sim_of(text)
    sim.topology.consumers.filter(name="billing").update(online=False)
    sim.reload()
    publish_orders(sim, [10])
    sim.run_for(3000, producers=False)
    billing = sim.node("consumer", "billing")
    failures = [h for h in sim.hops(stage="failed") if h.to_node == billing]
    assert [h.attempt for h in failures] == [1, 2, 3]
    assert all("offline" in h.detail["error"] for h in failures)
    dead = sim.hops(stage="dead_lettered")
    assert len(dead) == 1 and dead[0].to_node == sim.node("queue", "analytics-queue")
    sim.assert_law()


DIRECT = """
slug: d
name: D
message_types: [{name: GetPrice, kind: command}]
channels: [{name: price-call, kind: direct}]
consumers: [{name: pricing, latency_ms: {mean: 10, jitter: 0}}]
producers:
  - {name: shop, channel: price-call, rate: 20, emits: [{type: GetPrice}]}
subscriptions: [{channel: price-call, consumer: pricing}]
"""


def test_direct_call_fails_at_once_while_the_callee_is_offline(sim_of) -> None:
    sim = sim_of(DIRECT)
    sim.run_for(500)
    assert sim.hops(stage="processed") and not sim.hops(stage="failed")
    sim.topology.consumers.update(online=False)
    sim.reload()
    before = len(sim.hops(stage="processed"))
    sim.run_for(500)
    failed = sim.hops(stage="failed")
    assert len(failed) >= 8
    assert failed[0].from_node == sim.node("producer", "shop")
    assert "offline" in failed[0].detail["error"]
    assert len(sim.hops(stage="processed")) <= before + 1
    sim.assert_law()


MIRROR = """
slug: m
name: M
message_types: [{name: OrderPlaced}]
channels: [{name: orders, kind: queue}]
consumers:
  - {name: live, latency_ms: {mean: 10, jitter: 0}, failure_rate: 0.2}
  - {name: shadow, latency_ms: {mean: 30, jitter: 0}, failure_rate: 1}
producers:
  - {name: p, channel: orders, rate: 40, emits: [{type: OrderPlaced}]}
subscriptions:
  - {channel: orders, consumer: live}
  - {channel: orders, consumer: shadow, mirror_of: live}
"""


def test_mirror_gets_a_copy_of_everything_and_never_changes_the_primary(sim_of) -> None:
    without = sim_of(
        MIRROR.replace("  - {channel: orders, consumer: shadow, mirror_of: live}\n", ""), seed=3
    )
    without.run_for(1000)
    without.run_for(1000, producers=False)
    live_outcomes = [(str(h.msg), h.stage) for h in without.hops(stage__in=["processed", "failed"])]
    without.run.status = "stopped"
    without.run.save()

    sim = sim_of(MIRROR, seed=3)
    sim.run_for(1000)
    sim.run_for(1000, producers=False)
    live_node, shadow = sim.node("consumer", "live"), sim.node("consumer", "shadow")
    primary = [
        (str(h.msg), h.stage)
        for h in sim.hops(stage__in=["processed", "failed"])
        if h.to_node == live_node
    ]
    assert primary == live_outcomes
    received = {str(h.msg) for h in sim.hops(stage="received") if h.to_node == live_node}
    mirrored = {str(h.msg) for h in sim.hops(stage="mirrored") if h.to_node == shadow}
    assert mirrored == received
    assert all(h.detail["mirror"] for h in sim.hops(stage="failed") if h.to_node == shadow)
    sim.assert_law()
