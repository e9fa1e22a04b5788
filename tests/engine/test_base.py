"""A phase commits only while its worker holds the run's lease."""

from __future__ import annotations

import pytest

from flows.engine.batch import LeaseLost, Tx
from flows.engine.engine import Engine

pytestmark = pytest.mark.django_db

TOPIC = """
slug: t
name: T
message_types: [{name: OrderPlaced}]
channels: [{name: orders, kind: topic}]
consumers: [{name: billing}]
subscriptions: [{channel: orders, consumer: billing}]
"""


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
