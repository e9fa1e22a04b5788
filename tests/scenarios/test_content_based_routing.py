"""content-based-routing: rules pick events by content, one target gets a reshaped payload,
and events no rule wants are recorded as unmatched."""

from __future__ import annotations

from collections import defaultdict

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("content-based-routing").read_text(encoding="utf-8")


def test_rules_route_by_content_transform_for_tax_and_report_unmatched(sim_of) -> None:
    sim = sim_of(TEXT)
    sim.run_for(15_000, tick=100)
    sim.run_for(3_000, producers=False)
    published = {h.msg: h.detail["payload"] for h in sim.hops(stage="published")}
    by_type: defaultdict[str, set[object]] = defaultdict(set)
    for msg, payload in published.items():
        by_type[payload["detail-type"]].add(msg)
    assert all(by_type[t] for t in ("OrderPlaced", "OrderCancelled", "CustomerRegistered"))
    processed_by: defaultdict[str, set[object]] = defaultdict(set)
    for hop in sim.hops(stage="processed"):
        processed_by[hop.to_node].add(hop.msg)
    billing, shipping, fraud, tax = (
        sim.node("consumer", n) for n in ("billing", "shipping", "fraud-review", "tax")
    )
    orders, cancelled = by_type["OrderPlaced"], by_type["OrderCancelled"]
    # Several targets for an order, exactly one for a cancellation.
    assert processed_by[billing] == orders | cancelled
    assert processed_by[shipping] == orders
    big = {m for m in orders if published[m]["detail"]["total"] > 500}
    eu = {m for m in orders if published[m]["detail"]["region"].startswith("eu-")}
    assert big and eu and eu != orders
    assert processed_by[fraud] == big
    assert processed_by[tax] == eu
    reached = set().union(*processed_by.values())
    assert not cancelled & (processed_by[shipping] | processed_by[fraud] | processed_by[tax])
    # The input transformer reshaped the payload for tax only, and tax accepted it.
    transformed = sim.hops(stage="transformed")
    assert {h.msg for h in transformed} == eu and {h.to_node for h in transformed} == {tax}
    for hop in transformed:
        detail = published[hop.msg]["detail"]
        assert hop.detail["input"] == {
            "order": detail["order_id"],
            "amount": detail["total"],
            "currency": detail["currency"],
        }
    assert not sim.hops(stage="failed")
    # No rule wants CustomerRegistered: unmatched on the bus, processed nowhere.
    unmatched = sim.hops(stage="unmatched")
    assert {h.msg for h in unmatched} == by_type["CustomerRegistered"]
    assert {h.to_node for h in unmatched} == {sim.node("bus", "shop-bus")}
    assert not by_type["CustomerRegistered"] & reached
    totals = sim.assert_law()
    assert totals["in_flight"] == 0 and totals["unmatched"] == len(unmatched)
