"""The coupling verdicts of each shipped teaching scenario, computed from its models."""

from __future__ import annotations

import pytest

from flows.coupling import COUPLED, DECOUPLED, IMPLICIT, PARTLY, PathReport
from flows.coupling.store import coupling_report
from flows.formats.scenario import scenario_load_file

pytestmark = pytest.mark.django_db


def paths(name: str) -> dict[tuple[str, str], PathReport]:
    report = coupling_report(scenario_load_file(name))
    found = {(r.producer, r.consumer): r for r in report["reports"]}
    assert len(found) == len(report["reports"]), "one path per producer and consumer here"
    assert not report["unreached"]
    return found


def verdicts(report: PathReport) -> dict[str, str]:
    return {j.dimension: j.verdict for j in report.judgements}


def test_commands_on_a_queue_workers_compete_by_design() -> None:
    found = paths("commands-on-a-queue")
    assert set(found) == {("storefront", "order-worker-1"), ("storefront", "order-worker-2")}
    for report in found.values():
        assert verdicts(report) == {
            "time": DECOUPLED,
            "location": PARTLY,
            "space": DECOUPLED,
            "topology": DECOUPLED,
            "data": DECOUPLED,
        }
        assert "2 workers of order-service compete on orders by design" in report.reason("topology")
        assert "each command is handled once" in report.reason("topology")
        assert "addresses queue orders, not" in report.reason("location")
    assert "offline from 20 s to 35 s" in found["storefront", "order-worker-2"].reason("time")


def test_events_on_a_topic_every_subscriber_is_decoupled() -> None:
    found = paths("events-on-a-topic")
    assert {c for _, c in found} == {"billing", "shipping", "analytics", "fraud-check"}
    for report in found.values():
        for dimension in ("time", "location", "space", "topology"):
            assert report.verdict(dimension) == DECOUPLED, (report.consumer, dimension)
        assert "names no receiver" in report.reason("location")
    assert "filter policy" in found["order-service", "fraud-check"].reason("location")
    assert [s.via for s in found["order-service", "fraud-check"].steps][-1] == "filter policy"
    shipping = found["order-service", "shipping"]
    assert [s.label for s in shipping.steps] == [
        "order-service",
        "order-events",
        "shipping-queue",
        "shipping",
    ]
    assert "shipping-queue is shipping's own queue, fed by topic order-events" in (
        shipping.reason("topology")
    )
    assert found["order-service", "analytics"].verdict("data") == IMPLICIT
    assert found["order-service", "billing"].verdict("data") == DECOUPLED


def test_shared_queue_path_is_topology_coupled_naming_the_other_service() -> None:
    found = paths("shared-queue-anti-pattern")
    billing_shared = found["orders-to-queue", "billing-shared"]
    assert billing_shared.verdict("topology") == COUPLED
    assert "shared with another service: shipping-shared (shipping)" in billing_shared.reason(
        "topology"
    )
    assert "billing misses what the other takes" in billing_shared.reason("topology")
    shipping_shared = found["orders-to-queue", "shipping-shared"]
    assert shipping_shared.verdict("topology") == COUPLED
    assert "billing-shared (billing)" in shipping_shared.reason("topology")
    # Without a run there is no figure yet.
    assert not any(j.figure for j in billing_shared.judgements)
    for consumer in ("billing", "shipping"):
        assert found["orders-to-topic", consumer].verdict("topology") == DECOUPLED


def test_temporal_decoupling_direct_path_is_time_coupled_and_queue_path_is_not() -> None:
    found = paths("temporal-decoupling")
    direct = found["checkout-sync", "invoicing-api"]
    queued = found["checkout", "invoicing"]
    assert verdicts(direct) == {
        "time": COUPLED,
        "location": COUPLED,
        "space": COUPLED,
        "topology": COUPLED,
        "data": DECOUPLED,
    }
    assert "waits for each answer" in direct.reason("time")
    assert "offline from 20 s to 45 s: the calls in between fail" in direct.reason("time")
    assert "names its callee" in direct.reason("location")
    assert "No broker between them" in direct.reason("space")
    assert verdicts(queued)["time"] == DECOUPLED
    assert verdicts(queued)["space"] == DECOUPLED
    assert "its messages wait in invoices" in queued.reason("time")


def test_content_based_routing_rules_and_transformer() -> None:
    report = coupling_report(scenario_load_file("content-based-routing"))
    by_rule = {(r.consumer, r.steps[2].via): r for r in report["reports"]}
    assert set(by_rule) == {
        ("billing", "rule every-order"),
        ("shipping", "rule every-order"),
        ("fraud-review", "rule big-orders"),
        ("tax", "rule eu-orders-to-tax, input transformer"),
        ("billing", "rule cancellations"),
    }
    for r in report["reports"]:
        assert r.verdict("location") == DECOUPLED and r.verdict("topology") == DECOUPLED
    tax = by_rule["tax", "rule eu-orders-to-tax, input transformer"]
    assert tax.verdict("data") == DECOUPLED
    assert "input transformer reshapes the payload for tax" in tax.reason("data")
    assert "{order, amount, currency}" in tax.reason("data")
    assert "every field TaxLine v1 requires" in tax.reason("data")
    # The cancellations rule carries only OrderCancelled: the path knows which types take it.
    assert "OrderCancelled v1" in by_rule["billing", "rule cancellations"].reason("data")
    assert "OrderPlaced" not in by_rule["billing", "rule cancellations"].reason("data")


def test_schema_coupling_flags_the_v1_consumer_against_the_v2_producer() -> None:
    found = paths("schema-coupling")
    billing = found["order-service", "billing"]
    assert billing.verdict("data") == COUPLED
    reason = billing.reason("data")
    assert "billing expects OrderPlaced v1" in reason
    assert "OrderPlaced v2 (from 30 s, by the script) does not guarantee total" in reason
    assert found["order-service", "reporting"].verdict("data") == IMPLICIT


def test_retries_scenario_single_consumer_reads_its_queue_alone() -> None:
    found = paths("retries-dead-letters-redrive")
    report = found["payments-api", "payment-processor"]
    assert report.verdict("time") == DECOUPLED
    assert report.verdict("topology") == DECOUPLED
    assert "payment-processor reads payments alone" in report.reason("topology")


def test_traffic_mirroring_mirror_is_decoupled_from_the_primary() -> None:
    found = paths("traffic-mirroring")
    mirror = found["storefront", "pricing-v2"]
    assert mirror.verdict("topology") == DECOUPLED
    assert "pricing-v2 mirrors pricing-v1 on quotes" in mirror.reason("topology")
    assert mirror.steps[-1].via == "mirror of pricing-v1"
    live = found["storefront", "pricing-v1"]
    # Events on a queue the producer writes to: a second service would have to compete.
    assert live.verdict("topology") == PARTLY
    assert "would compete with pricing on quotes" in live.reason("topology")
