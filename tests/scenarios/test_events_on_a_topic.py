"""events-on-a-topic: every subscriber gets its copy; the filter policy selects big orders."""

from __future__ import annotations

from collections import defaultdict

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("events-on-a-topic").read_text(encoding="utf-8")


def test_every_event_reaches_every_subscriber_and_big_ones_reach_fraud_check(sim_of) -> None:
    sim = sim_of(TEXT)
    sim.run_for(12_000)
    sim.run_for(3_000, producers=False)
    totals_by_msg = {
        h.msg: h.detail["payload"]["detail"]["total"] for h in sim.hops(stage="published")
    }
    assert len(totals_by_msg) >= 18
    processed_by: defaultdict[str, set[object]] = defaultdict(set)
    for hop in sim.hops(stage="processed"):
        processed_by[hop.to_node].add(hop.msg)
    everyone = set(totals_by_msg)
    for name in ("billing", "shipping", "analytics"):
        assert processed_by[sim.node("consumer", name)] == everyone, name
    big = {msg for msg, total in totals_by_msg.items() if total > 500}
    fraud = sim.node("consumer", "fraud-check")
    assert big and big != everyone
    assert processed_by[fraud] == big
    filtered = sim.hops(stage="filtered")
    assert {h.msg for h in filtered} == everyone - big
    assert {h.to_node for h in filtered} == {fraud}
    assert filtered[0].detail["policy"] == {"total": [{"numeric": [">", 500]}]}
    totals = sim.assert_law()
    assert totals["in_flight"] == 0
    assert totals["copies"] == 3 * len(everyone) + len(big) + len(everyone - big)
    # Shipping's copy went through its own queue, subscribed to the topic.
    enqueued = {h.msg for h in sim.hops(stage="enqueued")}
    assert enqueued == everyone
