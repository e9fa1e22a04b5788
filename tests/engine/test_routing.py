"""Topics fan out through filter policies, buses route by rules, direct calls couple."""

from __future__ import annotations

from collections import Counter

import pytest

from flows.engine.batch import LeaseLost, Tx
from flows.engine.engine import Engine

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


BUS = """
slug: b
name: B
message_types: [{name: OrderPlaced, source: shop}, {name: Ping}]
channels:
  - {name: bus, kind: bus, archive: {pattern: {detail-type: [OrderPlaced]}}}
  - {name: all-orders, kind: queue}
consumers:
  - {name: billing, latency_ms: {mean: 10, jitter: 0}}
  - {name: tax, latency_ms: {mean: 10, jitter: 0}, expects: {type: OrderPlaced}}
subscriptions:
  - {channel: all-orders, consumer: billing}
rules:
  - name: orders
    bus: bus
    pattern: {detail-type: [OrderPlaced]}
    targets: [{channel: all-orders}]
  - name: eu
    bus: bus
    pattern: {detail: {region: [{prefix: eu-}]}}
    targets:
      - consumer: tax
        input_transformer:
          InputPathsMap: {id: $.detail.id, vat: $.detail.vat_number}
          InputTemplate: '{"order": "<id>", "vat": <vat>}'
"""


def test_bus_routes_by_rule_transforms_and_reports_unmatched(sim_of) -> None:
    sim = sim_of(BUS)
    eu = sim.publish(
        "bus", {"detail-type": "OrderPlaced", "detail": {"id": "o1", "region": "eu-west"}}
    )
    us = sim.publish("bus", {"detail-type": "OrderPlaced", "detail": {"id": "o2", "region": "us"}})
    ping = sim.publish("bus", {"detail-type": "Ping", "detail": {}})
    sim.run_for(500, producers=False)
    processed = Counter(str(h.msg) for h in sim.hops(stage="processed"))
    assert processed == {eu: 2, us: 1}
    (transformed,) = sim.hops(stage="transformed")
    assert transformed.detail["input"] == {"order": "o1", "vat": None}
    assert transformed.detail["missing"] == ["$.detail.vat_number"]
    assert transformed.detail["rule"] == "eu" and transformed.detail["rule_version"] == 1
    (unmatched,) = sim.hops(stage="unmatched")
    assert str(unmatched.msg) == ping and unmatched.detail["reason"] == "no rule matched"
    assert {str(h.msg) for h in sim.hops(stage="archived")} == {eu, us}
    sim.assert_law()


def test_replay_sends_archived_events_back_through_the_rules(sim_of) -> None:
    from flows import services

    sim = sim_of(BUS)
    sim.publish("bus", {"detail-type": "OrderPlaced", "detail": {"id": "o1", "region": "us"}})
    sim.run_for(300, producers=False)
    bus = sim.topology.channels.get(name="bus")
    services.bus_replay(topology=sim.topology, bus=bus, start_ms=0, end_ms=sim.now)
    sim.run_for(300, producers=False)
    assert len(sim.hops(stage="replayed")) == 1
    assert len(sim.hops(stage="processed")) == 2
    sim.assert_law()


def test_edited_rule_changes_routing_of_the_next_messages(sim_of) -> None:
    from flows.models import Rule

    sim = sim_of(BUS)
    rule = Rule.objects.get(name="orders")
    rule.event_pattern = {"detail-type": ["Ping"]}
    rule.version += 1
    rule.save()
    sim.reload()
    sim.publish("bus", {"detail-type": "Ping", "detail": {}})
    sim.run_for(300, producers=False)
    (enqueued,) = sim.hops(stage="enqueued")
    assert enqueued.to_node == sim.node("queue", "all-orders")
    assert not sim.hops(stage="unmatched")


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


def test_a_worker_that_lost_the_lease_cannot_write(sim_of) -> None:
    sim = sim_of(TOPIC)
    stranger = Engine(
        sim.r,
        run_id=sim.run.pk,
        seed=1,
        config=sim.engine.config,
        lease_token="someone-else",
        clock=lambda: sim.now,
    )
    tx = Tx(sim.now)
    tx.count("copies")
    with pytest.raises(LeaseLost):
        stranger.commit(tx)
    assert sim.totals()["copies"] == 0


REPLAYED = """
slug: r
name: R
message_types: [{name: PaymentTaken}]
channels:
  - {name: bus, kind: bus, archive: {}}
consumers:
  - {name: ledger, latency_ms: {mean: 10, jitter: 0}, idempotent: true}
  - {name: mailer, latency_ms: {mean: 10, jitter: 0}, idempotent: false}
rules:
  - name: payments
    bus: bus
    pattern: {detail-type: [PaymentTaken]}
    targets: [{consumer: ledger}, {consumer: mailer}]
"""


def test_a_replayed_event_shows_who_is_idempotent(sim_of) -> None:
    from flows import services

    sim = sim_of(REPLAYED)
    sim.publish("bus", {"detail-type": "PaymentTaken", "detail": {"amount": 5}})
    sim.run_for(300, producers=False)
    services.bus_replay(
        topology=sim.topology, bus=sim.topology.channels.get(), start_ms=0, end_ms=sim.now
    )
    sim.run_for(300, producers=False)
    again = {h.to_node: h.detail for h in sim.hops(stage="processed") if h.detail.get("duplicate")}
    assert again[sim.node("consumer", "ledger")]["effect"].startswith("none")
    assert again[sim.node("consumer", "mailer")]["effect"].startswith("applied twice")
    nodes = sim.counters()["nodes"]
    assert nodes[sim.node("consumer", "mailer")]["duplicates"] == 1
    assert "duplicates" not in nodes[sim.node("consumer", "ledger")]
    sim.assert_law()
