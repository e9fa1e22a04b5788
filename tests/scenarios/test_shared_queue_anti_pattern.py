"""shared-queue-anti-pattern: two services on one queue each miss events; on a topic, none."""

from __future__ import annotations

from collections import defaultdict

import pytest

from flows.coupling.store import missed_events
from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("shared-queue-anti-pattern").read_text(encoding="utf-8")


def test_services_sharing_a_queue_each_miss_events_and_the_topic_pair_gets_all(sim_of) -> None:
    sim = sim_of(TEXT)
    sim.run_for(20_000, tick=100)
    sim.run_for(3_000, producers=False)
    by_producer: defaultdict[str, set[object]] = defaultdict(set)
    for hop in sim.hops(stage="published"):
        by_producer[hop.from_node].add(hop.msg)
    shared = by_producer[sim.node("producer", "orders-to-queue")]
    fanned = by_producer[sim.node("producer", "orders-to-topic")]
    assert len(shared) >= 30 and len(fanned) >= 30
    processed_by: defaultdict[str, set[object]] = defaultdict(set)
    for hop in sim.hops(stage="processed"):
        processed_by[hop.to_node].add(hop.msg)

    billing_shared = processed_by[sim.node("consumer", "billing-shared")]
    shipping_shared = processed_by[sim.node("consumer", "shipping-shared")]
    assert billing_shared | shipping_shared == shared
    assert not billing_shared & shipping_shared
    for got in (billing_shared, shipping_shared):
        assert 0.25 * len(shared) <= len(got) <= 0.75 * len(shared)  # about half each

    assert processed_by[sim.node("consumer", "billing")] == fanned
    assert processed_by[sim.node("consumer", "shipping")] == fanned

    missed = {(m.queue, m.service): m for m in missed_events(sim.run)}
    assert set(missed) == {("orders-shared", "billing"), ("orders-shared", "shipping")}
    billing, shipping = missed["orders-shared", "billing"], missed["orders-shared", "shipping"]
    assert (billing.messages, shipping.messages) == (len(shared), len(shared))
    assert billing.missed == len(shipping_shared) and shipping.missed == len(billing_shared)
    assert billing.received == len(billing_shared)
    assert billing.consumers == ("billing-shared",)
    totals = sim.assert_law()
    assert totals["in_flight"] == 0
