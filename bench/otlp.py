"""The live simulation's deliveries/s with OpenTelemetry export off and on.

    .venv/bin/python bench/otlp.py [--seconds 10] [--rate 2400] [--rounds 1]

Runs the embedded stack of bench/simulation.py (Redis, SQLite, one Celery worker process,
Daphne) once with OTEL_EXPORTER_OTLP_ENDPOINT unset and once with it pointing at a null
OTLP/HTTP receiver in this process (it answers 200 and throws the spans away), and prints
the sustained deliveries per second of each, their ratio, the worker's CPU per delivery
(what tracing costs where the producers' rate, not the CPU, sets the pace), and what the
receiver got. The
two modes alternate for --rounds rounds, so machine noise hits both. Target: export on is
at most 10 % slower.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _stack import embedded_stack, setup_django
from simulation import QUEUE, watch


class NullCollector:
    """Accepts OTLP/HTTP exports and discards them, counting requests and bytes."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real collector

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                self.rfile.read(size)
                collector.requests += 1
                collector.bytes += size
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


MODES = {  # mode -> (export on, OTEL_TRACES_SAMPLER_ARG of a traceidratio sampler or None)
    "off": (False, None),
    "on": (True, None),
    "on, 10 % of messages sampled": (True, "0.1"),
}


def measure(mode: str, endpoint: str, seconds: float, rate: float, n: int) -> dict:
    from flows import services
    from flows.formats.scenario import scenario_load

    # The worker inherits these.
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"):
        os.environ.pop(name, None)
    if endpoint:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    ratio = MODES[mode][1]
    if ratio is not None:
        os.environ.update(OTEL_TRACES_SAMPLER="traceidratio", OTEL_TRACES_SAMPLER_ARG=ratio)
    with embedded_stack() as stack:
        text = QUEUE.format(rate=rate).replace("bench-queue", f"bench-otlp-{len(mode)}-{n}")
        topology = scenario_load(text=text, origin="bench")
        cpu_before = cpu_seconds(stack.worker_pid)
        result = asyncio.run(
            watch(
                f"{stack.ws_url}/ws/topologies/{topology.slug}/",
                stack.base_url,
                seconds,
                lambda: services.run_start(topology=topology, seed=1),
            )
        )
        # CPU of the worker (it drives the run and hands hops on) over the whole run.
        result["cpu_s"] = cpu_seconds(stack.worker_pid) - cpu_before
        run = services.running_run(topology)
        services.run_stop(run=run)
        counters = services.run_counters(run=run)
        result["law"] = not services.accounting_errors(counters)
        result["processed"] = counters["totals"]["processed"]
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1200.0, help="messages/s produced")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    setup_django()
    collector = NullCollector()
    results: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for n in range(args.rounds):
        for mode, (on, _ratio) in MODES.items():
            endpoint = collector.url if on else ""
            results[mode].append(measure(mode, endpoint, args.seconds, args.rate, n))

    def mean(mode: str, key: str) -> float:
        return sum(r[key] for r in results[mode]) / len(results[mode])

    print(
        f"\nproducer -> queue -> 2 competing consumers, {args.rate:,.0f} messages/s offered, "
        f"{args.rounds} round(s) of {args.seconds:.0f} s"
    )
    print(
        "| OTLP export | deliveries/s | hops/s | hop latency p50 | p99 "
        "| worker CPU ms per 1,000 deliveries | accounting law |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    cpu = {}
    for mode in MODES:
        law = "holds" if all(r["law"] for r in results[mode]) else "BROKEN"
        cpu[mode] = 1e6 * mean(mode, "cpu_s") / max(1.0, mean(mode, "processed"))
        print(
            f"| {mode} | {mean(mode, 'deliveries_per_s'):,.0f} | {mean(mode, 'hops_per_s'):,.0f} | "
            f"{mean(mode, 'p50_ms'):.0f} ms | {mean(mode, 'p99_ms'):.0f} ms | "
            f"{cpu[mode]:,.0f} | {law} |"
        )
    off = mean("off", "deliveries_per_s")
    print()
    for mode in list(MODES)[1:]:
        on = mean(mode, "deliveries_per_s")
        slower = (1 - on / off) * 100 if off else float("nan")
        print(
            f"export {mode} / off: {on / off:.3f} deliveries/s ({slower:+.1f} % slower; "
            f"target at most 10 %: {'met' if slower <= 10 else 'NOT met'}); "
            f"worker CPU per delivery {cpu[mode] / cpu['off']:.2f}x"
        )
    print(
        f"null collector: {collector.requests:,} OTLP requests, "
        f"{collector.bytes / 1e6:,.1f} MB of spans"
    )


if __name__ == "__main__":
    main()
