"""Delivery records hold the fields their type declares; a redrive carries their route."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from flows.engine.batch import Tx
from flows.engine.delivery import DELIVERY_FIELDS, ROUTE_FIELDS, Delivery
from flows.engine.keys import RunKeys

pytestmark = pytest.mark.django_db

EVERY_PATH = """
slug: d
name: D
message_types: [{name: OrderPlaced}]
channels:
  - {name: bus, kind: bus}
  - {name: orders, kind: topic}
  - {name: steps, kind: queue, fifo: true, visibility_timeout: 1, max_receives: 1,
     dead_letter_queue: dlq}
  - {name: dlq, kind: queue}
consumers:
  - {name: worker, latency_ms: {mean: 20, jitter: 0}, failure_rate: 1}
  - {name: shadow, latency_ms: {mean: 20, jitter: 0}}
  - {name: tax, latency_ms: {mean: 20, jitter: 0}, failure_rate: 1}
subscriptions:
  - {channel: steps, consumer: worker}
  - {channel: steps, consumer: shadow, mirror_of: worker}
  - {channel: orders, consumer: worker, max_retries: 1, dead_letter_queue: dlq}
rules:
  - name: all
    bus: bus
    pattern: {detail-type: [OrderPlaced]}
    targets:
      - {channel: steps}
      - {channel: orders}
      - consumer: tax
        max_retries: 0
        dead_letter_queue: dlq
        input_transformer:
          InputPathsMap: {n: $.detail.n}
          InputTemplate: '{"n": <n>}'
"""


def records(sim, dlq_id: int) -> list[dict[str, Any]]:
    k = RunKeys(sim.run.pk)
    raw = list(sim.r.hvals(k.deliveries)) + sim.r.lrange(k.parked(dlq_id), 0, -1)
    return [orjson.loads(item) for item in raw]


def publish(sim, n: int) -> None:
    for i in range(n):
        sim.publish(
            "bus",
            {
                "detail-type": "OrderPlaced",
                "detail": {"n": i},
                "attributes": {"MessageGroupId": f"g{i % 3}"},
            },
        )


def test_every_stored_field_is_declared_and_every_declared_field_is_used(sim_of) -> None:
    sim = sim_of(EVERY_PATH)
    dlq_id = sim.topology.channels.get(name="dlq").pk
    publish(sim, 12)
    required = Delivery.__required_keys__
    seen: set[str] = set()
    for _ in range(60):
        sim.step(50, producers=False)
        for record in records(sim, dlq_id):
            assert set(record) <= set(DELIVERY_FIELDS), set(record) - set(DELIVERY_FIELDS)
            assert required <= set(record), required - set(record)
            seen |= set(record)
    assert seen == set(DELIVERY_FIELDS)
    sim.assert_law()


def test_redrive_carries_the_route_and_starts_the_progress_again(sim_of) -> None:
    sim = sim_of(EVERY_PATH)
    dlq_id = sim.topology.channels.get(name="dlq").pk
    publish(sim, 6)
    sim.run_for(3000, producers=False)
    k = RunKeys(sim.run.pk)
    parked = [orjson.loads(raw) for raw in sim.r.lrange(k.parked(dlq_id), 0, -1)]
    assert {p.get("queue") is None for p in parked} == {True, False}  # pushes and a queue
    first_new = sim.engine.dseq + 1
    tx = Tx(sim.now)
    sim.engine.redrive(tx, dlq_id)
    sim.engine.commit(tx)
    redriven = [
        orjson.loads(sim.r.hget(k.deliveries, f"{first_new + i:012d}")) for i in range(len(parked))
    ]
    for old, new in zip(parked, redriven, strict=True):
        assert new["msg"] == old["msg"]
        assert {f: new[f] for f in ROUTE_FIELDS if f in new} == {
            f: old[f] for f in ROUTE_FIELDS if f in old
        }
        assert (new["receives"], new["attempt"], new["retries"]) == (0, 1, 0)
        assert "busy" not in new and "started" not in new
        assert new.get("queue") == old.get("queue")
    sim.assert_law()
