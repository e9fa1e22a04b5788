"""A run's counters, read from Redis, and the accounting law they must obey (docs/contracts.md).

Every copy of a message on its way to one subscriber is a live delivery (a field of the
run's ``dlv`` hash) until it ends in one of the ``TERMINAL`` states. ``copies`` counts
every copy ever made, so ``copies == sum(TERMINAL counters) + in_flight`` always, where
``in_flight`` is ``HLEN(dlv)``; whatever is missing is ``lost``. The law is defined here
once: the engine's counters frame, the services and the tests all check it through
``accounting_errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from flows.engine.config import TopologyConfig
from flows.engine.keys import RunKeys

TERMINAL = ("processed", "dead_lettered", "filtered", "unmatched")
"""The states a delivery ends in; a new way to end joins here under its own name."""


def lost(totals: Mapping[str, int]) -> int:
    """Copies that are neither in a terminal state nor in flight (0 while the law holds)."""
    return totals["copies"] - sum(totals[name] for name in TERMINAL) - totals["in_flight"]


def accounting_errors(counters: Mapping[str, Any]) -> list[str]:
    """Where the accounting law fails (empty when it holds)."""
    t = counters["totals"]
    missing = lost(t)
    if not missing:
        return []
    terminal = " + ".join(f"{name.replace('_', '-')} {t[name]}" for name in TERMINAL)
    return [f"copies {t['copies']} != {terminal} + in flight {t['in_flight']} (lost: {missing})"]


def counters(client: redis.Redis, run_id: int, config: TopologyConfig | None) -> dict[str, Any]:
    """Run totals and per-node counters, read in one transaction so the law can be checked."""
    k = RunKeys(run_id)
    queues = [c for c in config.channels.values() if c.kind == "queue"] if config else []
    with client.pipeline(transaction=True) as pipe:
        pipe.hgetall(k.counters)
        pipe.hlen(k.deliveries)
        pipe.get(k.seq)
        pipe.get(k.started)
        pipe.smembers(k.script)
        for queue in queues:
            pipe.zcard(k.ready(queue.id))
            pipe.zcard(k.inflight(queue.id))
            pipe.llen(k.parked(queue.id))
        results = pipe.execute()
    raw, live, seq, started, done = results[:5]
    totals = {name: 0 for name in ("published", "copies", *TERMINAL, "failed_calls")}
    nodes: dict[str, dict[str, int]] = {}
    for name, value in raw.items():
        key = name.decode()
        if "|" in key:
            node, stat = key.split("|", 1)
            nodes.setdefault(node, {})[stat] = int(value)
        else:
            totals[key] = int(value)
    for i, queue in enumerate(queues):
        depth, in_flight, parked = results[5 + 3 * i : 8 + 3 * i]
        stats = nodes.setdefault(queue.node, {})
        stats.update(depth=int(depth), in_flight=int(in_flight), parked=int(parked))
    totals["in_flight"] = int(live)
    totals["lost"] = lost(totals)
    return {
        "run": run_id,
        "seq": int(seq or 0),
        "totals": totals,
        "nodes": nodes,
        "script": {"started": int(started) if started else None, "done": sorted(map(int, done))},
    }
