"""schema-coupling: the producer moves to v2, the v1 consumer fails validation and its
messages end in the dead-letter queue; a consumer without a schema goes on."""

from __future__ import annotations

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("schema-coupling").read_text(encoding="utf-8")


def test_v2_messages_fail_at_the_v1_consumer_with_the_validation_error(sim_of) -> None:
    sim = sim_of(TEXT)
    billing, reporting = sim.node("consumer", "billing"), sim.node("consumer", "reporting")
    sim.run_for(29_000, tick=100)
    assert not sim.hops(stage="failed")
    versions = {h.detail["payload"]["schema_version"] for h in sim.hops(stage="published")}
    assert versions == {1}
    mark = sim.hops()[-1].seq

    sim.run_for(16_000, tick=100)  # v2 from 30 s
    published = {h.msg: h.detail["payload"] for h in sim.hops(stage="published")}
    v2 = {m for m, p in published.items() if p["schema_version"] == 2}
    assert len(v2) >= 20 and "amount" in published[next(iter(v2))]["detail"]
    failed = [h for h in sim.hops(stage="failed") if h.seq > mark]
    assert failed and {h.to_node for h in failed} == {billing}
    assert {h.msg for h in failed} <= v2
    for hop in failed:
        assert "does not match OrderPlaced v1" in hop.detail["error"]
        assert "'total' is a required property" in hop.detail["error"]
    # Three receives, then the dead-letter queue.
    dead = sim.hops(stage="dead_lettered")
    assert dead and {h.msg for h in dead} <= v2
    assert {h.to_node for h in dead} == {sim.node("queue", "billing-dlq")}
    assert all("max receives" in h.detail["reason"] for h in dead)
    assert sim.counters()["nodes"][sim.node("queue", "billing-dlq")]["parked"] == len(dead)
    # Billing processed v1 messages only; reporting, with no schema, processed both versions.
    processed = sim.hops(stage="processed")
    assert not {h.msg for h in processed if h.to_node == billing} & v2
    assert v2 & {h.msg for h in processed if h.to_node == reporting}
    sim.assert_law()
