"""Scenario scripts change a run over time, and only that run."""

from __future__ import annotations

import dataclasses

import pytest

from flows.engine import script
from flows.engine.config import ConsumerCfg, EmissionCfg, ProducerCfg, TopologyConfig
from flows.formats.scenario import ScenarioError, scenario_dump

pytestmark = pytest.mark.django_db

SCRIPTED = """
slug: s
name: S
message_types:
  - {name: OrderPlaced, version: 1, schema: {type: object, required: [total]}}
  - {name: OrderPlaced, version: 2, schema: {type: object, required: [amount]}}
channels:
  - {name: orders, kind: queue, visibility_timeout: 1, max_receives: 1, dead_letter_queue: dlq}
  - {name: dlq, kind: queue}
consumers:
  - {name: billing, latency_ms: {mean: 10, jitter: 0}, concurrency: 5,
     expects: {type: OrderPlaced, version: 1}}
producers:
  - name: shop
    channel: orders
    rate: 20
    emits:
      - {type: OrderPlaced, version: 1, payload: {total: 5}}
      - {type: OrderPlaced, version: 2, weight: 0, payload: {amount: 5}}
subscriptions:
  - {channel: orders, consumer: billing}
script:
  - {at: 1, consumer: billing, set: {online: false}, say: Billing goes offline}
  - {at: 2, consumer: billing, set: {online: true}, say: Billing is back}
  - {at: 3, producer: shop, emit: {type: OrderPlaced, version: 2}, say: The shop moves to v2}
  - {at: 4, producer: shop, set: {paused: true}}
  - {at: 5, consumer: billing, set: {failure_rate: 0.0}}
  - {at: 5.5, redrive: dlq}
  - {at: 6, say: Watch the DLQ drain}
"""


def test_script_steps_happen_on_time_and_only_for_the_run(sim_of) -> None:
    sim = sim_of(SCRIPTED)
    queue = sim.node("queue", "orders")
    sim.run_for(1000)
    assert sim.counters()["script"]["done"] == []
    sim.run_for(900)  # billing offline since t=1 s: the queue grows
    assert sim.counters()["nodes"][queue]["depth"] >= 15
    assert sim.counters()["script"]["done"] == [0]
    sim.run_for(1000)  # back online at t=2 s: the backlog drains
    assert sim.counters()["nodes"][queue]["depth"] <= 2
    assert not sim.hops(stage="failed")
    sim.run_for(1200)  # v2 from t=3 s: the v1 consumer fails on every message
    failed = sim.hops(stage="failed")
    assert failed and all("does not match OrderPlaced v1" in h.detail["error"] for h in failed)
    assert {h.detail["payload"]["schema_version"] for h in sim.hops(stage="published")} == {1, 2}
    sim.run_for(3000)
    totals = sim.assert_law()
    assert sim.counters()["script"]["done"] == [0, 1, 2, 3, 4, 5, 6]
    # Redrive at 5.5 s sent the dead letters back; they still fail (v2 vs a v1 consumer).
    assert totals["dead_lettered"] > len(failed) - 5
    # The models are untouched: the next run starts from the topology as stored.
    billing = sim.topology.consumers.get(name="billing")
    assert billing.online is True and billing.failure_rate == 0
    assert sim.topology.producers.get().paused is False


def test_overrides_survive_a_config_reload(sim_of) -> None:
    sim = sim_of(SCRIPTED)
    sim.run_for(1100)
    sim.reload()  # an edit in admin reloads the topology mid-run
    assert sim.engine.config.consumers[sim.topology.consumers.get().pk].online is False


def small_config() -> TopologyConfig:
    def consumer(cid: int, name: str) -> ConsumerCfg:
        return ConsumerCfg(
            id=cid,
            name=name,
            latency_mean_ms=10,
            latency_jitter_ms=0,
            failure_rate=0,
            concurrency=1,
            online=True,
            idempotent=False,
        )

    emission = EmissionCfg(
        type_name="OrderPlaced",
        kind="event",
        version=1,
        source="shop",
        weight=1.0,
        template={},
        attributes={},
    )
    producer = ProducerCfg(
        id=3,
        name="shop",
        channel_id=9,
        rate=5.0,
        jitter=0.0,
        burst_size=0,
        burst_every=0.0,
        paused=False,
        emissions=(emission,),
    )
    return TopologyConfig(
        channels={},
        consumers={1: consumer(1, "billing"), 2: consumer(2, "tax")},
        producers={3: producer},
        subscriptions={},
        targets={},
    ).finish()


def test_an_override_makes_a_new_config_and_leaves_the_old_one_as_it_was() -> None:
    config = small_config()
    step = {"at": 1, "consumer": "billing", "set": {"online": False}}
    offline = script.apply_override(config, step)
    assert config.consumers[1].online is True
    assert offline.consumers[1].online is False
    assert offline.consumers[2] is config.consumers[2]
    faster = script.apply_override(offline, {"at": 2, "producer": "shop", "set": {"rate": 50}})
    assert (offline.producers[3].rate, faster.producers[3].rate) == (5.0, 50.0)
    assert faster.consumers is offline.consumers
    assert script.apply_override(faster, {"at": 3, "redrive": "dlq"}) is faster
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.consumers = {}  # type: ignore[misc]


def test_script_round_trips_through_dump(sim_of) -> None:
    sim = sim_of(SCRIPTED)
    assert scenario_dump(sim.topology)["script"][2] == {
        "at": 3,
        "producer": "shop",
        "emit": {"type": "OrderPlaced", "version": 2},
        "say": "The shop moves to v2",
    }


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{at: 1, consumer: ghost, set: {online: false}}", "unknown consumer 'ghost'"),
        ("{at: 1, consumer: billing, set: {color: red}}", "consumers have no setting 'color'"),
        ("{at: -1, say: x}", "'at' must be the number of seconds"),
        ("{at: 1, consumer: billing, producer: shop, set: {online: true}}", "one action per step"),
        ("{at: 1, redrive: nowhere}", "unknown channel 'nowhere'"),
        ("{at: 1, producer: shop, emit: {type: OrderPlaced, version: 9}}", "version 9"),
        ("{at: 1}", "needs an action or 'say'"),
    ],
)
def test_bad_script_steps_name_the_line_and_problem(sim_of, step: str, message: str) -> None:
    text = SCRIPTED.split("script:")[0] + f"script:\n  - {step}\n"
    with pytest.raises(ScenarioError) as exc:
        sim_of(text)
    line = text.splitlines().index(f"  - {step}") + 1
    assert f"line {line}: script[0]" in str(exc.value)
    assert message in str(exc.value)
