"""Buses route by rule through input transformers, archive, and replay their archive."""

from __future__ import annotations

from collections import Counter

import pytest

pytestmark = pytest.mark.django_db

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
