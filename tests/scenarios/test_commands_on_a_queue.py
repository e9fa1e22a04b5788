"""commands-on-a-queue: competing workers of one service, each command handled once."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("commands-on-a-queue").read_text(encoding="utf-8")


def test_competing_workers_never_share_a_command(sim_of) -> None:
    sim = sim_of(TEXT)
    sim.run_for(15_000)
    sim.run_for(3_000, producers=False)
    published = {h.msg for h in sim.hops(stage="published")}
    assert len(published) >= 35
    processed = Counter(h.msg for h in sim.hops(stage="processed"))
    assert set(processed) == published
    assert set(processed.values()) == {1}
    receivers: defaultdict[object, set[str]] = defaultdict(set)
    for hop in sim.hops(stage="received"):
        receivers[hop.msg].add(hop.to_node)
    assert all(len(nodes) == 1 for nodes in receivers.values())
    workers = {sim.node("consumer", "order-worker-1"), sim.node("consumer", "order-worker-2")}
    assert set().union(*receivers.values()) == workers
    totals = sim.assert_law()
    assert totals["in_flight"] == 0 and totals["processed"] == len(published)


def test_one_worker_carries_the_load_while_the_other_is_offline(sim_of) -> None:
    sim = sim_of(TEXT)
    worker_1, worker_2 = (sim.node("consumer", f"order-worker-{i}") for i in (1, 2))
    sim.run_for(21_000, tick=100)
    mark = sim.hops()[-1].seq
    sim.run_for(13_000, tick=100)  # to 34 s: order-worker-2 is offline from 20 s to 35 s
    alone = [h for h in sim.hops(stage="received") if h.seq > mark]
    assert len(alone) >= 30
    assert {h.to_node for h in alone} == {worker_1}
    sim.run_for(6_000, tick=100)  # worker-2 is back at 35 s
    back = {h.to_node for h in sim.hops(stage="received") if h.seq > alone[-1].seq}
    assert back == {worker_1, worker_2}
    sim.run_for(3_000, producers=False)
    totals = sim.assert_law()
    assert totals["in_flight"] == 0
    assert totals["processed"] == len(sim.hops(stage="published"))
    assert not sim.hops(stage="dead_lettered")
