"""temporal-decoupling: a queue's backlog grows while its consumer is away, then drains;
a direct call fails at the caller meanwhile."""

from __future__ import annotations

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("temporal-decoupling").read_text(encoding="utf-8")


def test_queue_backlog_grows_then_drains_while_direct_calls_fail(sim_of) -> None:
    sim = sim_of(TEXT)
    queue = sim.node("queue", "invoices")
    caller, callee = sim.node("producer", "checkout-sync"), sim.node("consumer", "invoicing-api")
    sim.run_for(19_000, tick=100)
    assert sim.counters()["nodes"][queue]["depth"] <= 2
    assert not sim.hops(stage="failed")
    depths = []
    for _ in range(5):  # 19 s .. 44 s, both consumers offline from 20 s
        sim.run_for(5_000, tick=100)
        depths.append(sim.counters()["nodes"][queue]["depth"])
    assert depths == sorted(depths) and depths[-1] >= 40
    failed = sim.hops(stage="failed")
    assert len(failed) >= 40
    assert {(h.from_node, h.to_node) for h in failed} == {(caller, callee)}
    assert all("offline" in h.detail["error"] for h in failed)
    start = sim.hops(stage="published")[0].at
    assert min(h.at for h in failed) - start >= 19_900
    sim.assert_law()

    sim.run_for(15_000, tick=100)  # back at 45 s: the backlog drains
    assert sim.counters()["nodes"][queue]["depth"] <= 2
    assert max(h.at for h in sim.hops(stage="failed")) - start <= 45_100
    sim.run_for(3_000, producers=False)
    queued = {h.msg for h in sim.hops(stage="published") if h.from_node != caller}
    invoicing = sim.node("consumer", "invoicing")
    processed = {h.msg for h in sim.hops(stage="processed", to_node=invoicing)}
    assert processed == queued  # nothing lost
    totals = sim.assert_law()
    assert totals["in_flight"] == 0
    assert totals["failed_calls"] == len(sim.hops(stage="failed"))
