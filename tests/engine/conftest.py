"""A run driven tick by tick with a manual clock, on the suite's real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flows import selectors, services
from flows.engine import engine as engine_mod
from flows.engine import keys
from flows.engine.counters import counters as run_counters
from flows.engine.driver import RunHandle, flush_hops
from flows.formats.scenario import scenario_load
from flows.models import Hop, Run, Topology
from flows.redis_state import client


class Sim:
    """Drive one run of a topology by hand: ``step`` advances the clock and ticks."""

    def __init__(self, topology: Topology, seed: int = 7) -> None:
        self.topology = topology
        self.run = Run.objects.create(topology=topology, seed=seed)
        self.now = 1_800_000_000_000
        self.r = client()
        self.token = "test-lease"
        stale = list(self.r.scan_iter(match=keys.run_pattern(self.run.pk), count=1000))
        if stale:  # a run id the database handed out before (rolled-back tests reuse ids)
            self.r.delete(*stale)
        self.r.set(keys.RunKeys(self.run.pk).lease, self.token)
        self.engine = engine_mod.Engine(
            self.r,
            run_id=self.run.pk,
            seed=seed,
            config=selectors.topology_config(topology.pk),
            lease_token=self.token,
            clock=lambda: self.now,
        )
        self.handle = RunHandle(
            run_id=self.run.pk, topology_id=topology.pk, seed=seed, slug=topology.slug
        )

    def reload(self) -> None:
        self.engine.set_config(selectors.topology_config(self.topology.pk))

    def step(self, ms: int = 50, *, producers: bool = True) -> None:
        self.now += ms
        self.engine.tick(producers=producers)
        flush_hops(
            self.r,
            self.handle,
            lambda h, hops: services.hops_publish(run_id=h.run_id, slug=h.slug, hops=hops),
        )

    def run_for(self, ms: int, *, producers: bool = True, tick: int = 50) -> None:
        for _ in range(ms // tick):
            self.step(tick, producers=producers)

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        return services.message_publish(topology=self.topology, channel_name=channel, data=data)

    def hops(self, **filters: Any) -> list[Hop]:
        return list(Hop.objects.filter(run=self.run, **filters).order_by("seq"))

    def counters(self) -> dict[str, Any]:
        return run_counters(self.r, self.run.pk, self.engine.config)

    def totals(self) -> dict[str, int]:
        return self.counters()["totals"]

    def node(self, kind: str, name: str) -> str:
        if kind == "consumer":
            return f"consumer:{self.topology.consumers.get(name=name).pk}"
        if kind == "producer":
            return f"producer:{self.topology.producers.get(name=name).pk}"
        channel = self.topology.channels.get(name=name)
        return f"{channel.kind}:{channel.pk}"

    def assert_law(self) -> dict[str, int]:
        counters = self.counters()
        assert services.accounting_errors(counters) == [], counters["totals"]
        assert counters["totals"]["lost"] == 0
        return counters["totals"]


@pytest.fixture
def sim_of(db: None, redis_url: str) -> Iterator[Any]:
    made: list[Sim] = []

    def make(text: str, seed: int = 7) -> Sim:
        topology = scenario_load(text=text, origin="test.yaml")
        sim = Sim(topology, seed)
        made.append(sim)
        return sim

    yield make
    r = client()
    for sim in made:
        stale = list(r.scan_iter(match=keys.run_pattern(sim.run.pk), count=1000))
        if stale:
            r.delete(*stale)
