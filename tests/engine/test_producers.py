"""Producers: rate, jitter, bursts, pause and resume, payload generators."""

from __future__ import annotations

import random

import pytest

from flows.engine import generators

pytestmark = pytest.mark.django_db

PRODUCER = """
slug: p
name: P
message_types: [{name: Tick}]
channels: [{name: sink, kind: queue}]
consumers: [{name: c, latency_ms: {mean: 5, jitter: 0}, concurrency: 100}]
producers:
  - name: ticker
    channel: sink
    rate: RATE
    jitter: JITTER
    burst: {size: BURST, every: 2}
    emits:
      - type: Tick
        payload:
          n: {$seq: {prefix: "t-"}}
          pick: {$choice: [a, b, c]}
          count: {$int: [1, 3]}
          price: {$decimal: [1, 2, 2]}
          ref: {$uuid: {}}
          at: {$now: {}}
          nested: {flag: {$bool: 0.5}, list: [{$int: [5, 5]}]}
subscriptions: [{channel: sink, consumer: c}]
"""


def producer(rate: float, jitter: float = 0, burst: int = 0) -> str:
    return (
        PRODUCER.replace("RATE", str(rate))
        .replace("JITTER", str(jitter))
        .replace("BURST", str(burst))
    )


def published(sim) -> list[dict]:
    return [h.detail["payload"] for h in sim.hops(stage="published")]


def test_rate_with_jitter_averages_out(sim_of) -> None:
    sim = sim_of(producer(20, jitter=0.5))
    sim.run_for(5000)
    assert 90 <= len(published(sim)) <= 110


def test_bursts_add_messages_at_once(sim_of) -> None:
    sim = sim_of(producer(1, burst=25))
    sim.run_for(4100)
    times = [p["time"] for p in published(sim)]
    assert len(times) >= 4 + 2 * 25
    assert max(times.count(t) for t in set(times)) >= 25  # a burst shares one instant


def test_pause_stops_emitting_and_resume_does_not_flood(sim_of) -> None:
    sim = sim_of(producer(20))
    sim.run_for(1000)
    before = len(published(sim))
    sim.topology.producers.update(paused=True)
    sim.reload()
    sim.run_for(3000)
    assert len(published(sim)) == before
    sim.topology.producers.update(paused=False)
    sim.reload()
    sim.step(50)
    assert len(published(sim)) - before <= 21  # at most a second's catch-up
    sim.assert_law()


def test_payload_generators_render_every_kind(sim_of) -> None:
    sim = sim_of(producer(10))
    sim.run_for(1000)
    payloads = published(sim)
    details = [p["detail"] for p in payloads]
    assert [d["n"] for d in details[:3]] == ["t-1", "t-2", "t-3"]
    assert {d["pick"] for d in details} <= {"a", "b", "c"}
    assert all(1 <= d["count"] <= 3 and 1 <= d["price"] <= 2 for d in details)
    assert all(
        d["nested"]["list"] == [5] and isinstance(d["nested"]["flag"], bool) for d in details
    )
    assert len({d["ref"] for d in details}) == len(details)
    assert all(d["at"] == p["time"] for d, p in zip(details, payloads, strict=True))
    assert {p["detail-type"] for p in payloads} == {"Tick"}


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ({"x": {"$nope": 1}}, "unknown generator '$nope'"),
        ({"x": {"$int": [5, 1]}}, "low 5 is above high 1"),
        ({"x": {"$choice": []}}, "non-empty list"),
        ({"x": {"$bool": 2}}, "probability"),
        ({"x": {"$decimal": ["a", 1]}}, "numbers"),
    ],
)
def test_bad_generators_are_reported(template: dict, error: str) -> None:
    assert any(error in e for e in generators.check(template))
    with pytest.raises(generators.TemplateError):
        generators.render(template, rng=random.Random(1), number=0, time="t")
