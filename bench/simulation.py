"""Simulation throughput and hop latency on the embedded stack with one worker process.

    .venv/bin/python bench/simulation.py [--seconds 10] [--rate 1200]

Starts its own embedded Redis, SQLite database, one Celery worker process and Daphne in a
temporary folder, then for each topology runs the simulation for --seconds with zero
processing time and prints sustained deliveries per second (processed hops) and hop latency
(hop created -> received by a websocket client) p50/p99, next to the raw Celery no-op task
rate measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from _stack import celery_noop_rate, embedded_stack, percentile, setup_django

QUEUE = """
slug: bench-queue
name: Bench queue
message_types: [{{name: Job, kind: command}}]
channels: [{{name: jobs, kind: queue, visibility_timeout: 30}}]
consumers:
  - {{name: w1, latency_ms: {{mean: 0, jitter: 0}}, concurrency: 1000}}
  - {{name: w2, latency_ms: {{mean: 0, jitter: 0}}, concurrency: 1000}}
producers:
  - {{name: p, channel: jobs, rate: {rate}, emits: [{{type: Job, payload: {{n: {{$seq: {{}}}}}}}}]}}
subscriptions:
  - {{channel: jobs, consumer: w1}}
  - {{channel: jobs, consumer: w2}}
"""

BUS = """
slug: bench-bus
name: Bench bus
message_types: [{{name: OrderPlaced}}]
channels:
  - {{name: bus, kind: bus}}
  - {{name: q1, kind: queue}}
  - {{name: q2, kind: queue}}
  - {{name: q3, kind: queue}}
consumers:
  - {{name: c1, latency_ms: {{mean: 0, jitter: 0}}, concurrency: 1000}}
  - {{name: c2, latency_ms: {{mean: 0, jitter: 0}}, concurrency: 1000}}
  - {{name: c3, latency_ms: {{mean: 0, jitter: 0}}, concurrency: 1000}}
producers:
  - name: p
    channel: bus
    rate: {rate3}
    emits:
      - type: OrderPlaced
        payload: {{total: {{$int: [1, 1000]}}, region: {{$choice: [eu-west, us-east]}}}}
subscriptions:
  - {{channel: q1, consumer: c1}}
  - {{channel: q2, consumer: c2}}
  - {{channel: q3, consumer: c3}}
rules:
  - {{name: all, bus: bus, pattern: {{detail-type: [OrderPlaced]}}, targets: [{{channel: q1}}]}}
  - name: big
    bus: bus
    pattern: {{detail: {{total: [{{numeric: [">", 500]}}]}}}}
    targets: [{{channel: q2}}]
  - name: eu
    bus: bus
    pattern: {{detail: {{region: [{{prefix: eu-}}]}}}}
    targets: [{{channel: q3}}]
"""


async def watch(ws_url: str, origin: str, seconds: float, start_run) -> dict:
    import websockets

    latencies: list[float] = []
    processed = 0
    hops = 0
    async with websockets.connect(ws_url, origin=origin, max_size=2**24) as ws:
        json.loads(await ws.recv())  # snapshot
        await asyncio.to_thread(start_run)
        # Warm-up: wait for the first processed hop, then measure a steady window.
        measuring_from = None
        deadline = time.time() + seconds + 30
        while time.time() < deadline:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            if frame["type"] != "hops":
                continue
            now_ms = time.time() * 1000
            if measuring_from is None:
                if any(h["stage"] == "processed" for h in frame["hops"]):
                    measuring_from = time.time()
                continue
            for hop in frame["hops"]:
                hops += 1
                latencies.append(now_ms - hop["at"])
                if hop["stage"] == "processed":
                    processed += 1
            if time.time() - measuring_from >= seconds:
                break
        elapsed = time.time() - (measuring_from or time.time())
    return {
        "deliveries_per_s": processed / elapsed if elapsed else 0.0,
        "hops_per_s": hops / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1200.0, help="messages/s produced")
    args = parser.parse_args()

    setup_django()
    from flows import services
    from flows.formats.scenario import scenario_load

    with embedded_stack() as stack:
        base, ws_base = stack.base_url, stack.ws_url
        noop = celery_noop_rate()
        rows = []
        for name, text in (
            ("producer -> queue -> 2 competing consumers", QUEUE.format(rate=args.rate)),
            ("producer -> bus -> 3 rules -> queues -> consumers", BUS.format(rate3=args.rate / 2)),
        ):
            topology = scenario_load(text=text, origin="bench")
            result = asyncio.run(
                watch(
                    f"{ws_base}/ws/topologies/{topology.slug}/",
                    base,
                    args.seconds,
                    lambda t=topology: services.run_start(topology=t, seed=1),
                )
            )
            run = services.running_run(topology)
            services.run_stop(run=run)
            errors = services.accounting_errors(services.run_counters(run=run))
            rows.append((name, result, "holds" if not errors else "BROKEN"))

    print(f"\nCelery no-op tasks, 1 worker process (threads): {noop:,.0f} tasks/s\n")
    print("| topology | deliveries/s | hops/s | hop latency p50 | p99 | vs no-op tasks/s | law |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, r, law in rows:
        print(
            f"| {name} | {r['deliveries_per_s']:,.0f} | {r['hops_per_s']:,.0f} | "
            f"{r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | "
            f"{r['deliveries_per_s'] / noop:.1f}x | {law} |"
        )
    print("\nTarget: >= 1,000 deliveries/s with p99 hop latency < 250 ms.")


if __name__ == "__main__":
    main()
