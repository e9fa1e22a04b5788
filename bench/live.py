"""Live streaming to many dashboards: hops/s delivered to each websocket client and latency.

    .venv/bin/python bench/live.py [--clients 10] [--seconds 10] [--rate 1300]

On the embedded stack (one worker process, one Daphne), runs a producer -> queue ->
2 consumers topology at --rate messages/s (4 hops each) with --clients websocket clients
connected like browsers, and prints per-client sustained hops/s, p50/p99 latency from hop
creation to client receipt, and gaps/duplicates seen (a client that saw a seq gap would
`resume`). Also prints what one client would get without batching: frames/s per client.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import orjson
from _stack import embedded_stack, percentile, setup_django
from simulation import QUEUE


class Client:
    def __init__(self) -> None:
        self.hops = 0
        self.frames = 0
        self.latencies: list[float] = []
        self.last_seq = 0
        self.gaps = 0
        self.duplicates = 0

    async def watch(
        self,
        url: str,
        origin: str,
        ready: asyncio.Event,
        stop: asyncio.Event,
        measure: asyncio.Event,
    ) -> None:
        import websockets

        async with websockets.connect(url, origin=origin, max_size=2**25) as ws:
            orjson.loads(await ws.recv())  # snapshot
            ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1)
                except TimeoutError:
                    continue
                now_ms = time.time() * 1000
                frame = orjson.loads(raw)
                if frame["type"] != "hops" or not frame["hops"]:
                    continue
                for hop in frame["hops"]:
                    seq = hop["seq"]
                    if seq <= self.last_seq:
                        self.duplicates += 1
                        continue
                    if self.last_seq and seq != self.last_seq + 1:
                        self.gaps += 1
                    self.last_seq = seq
                if measure.is_set():
                    self.frames += 1
                    self.hops += len(frame["hops"])
                    self.latencies.extend(now_ms - hop["at"] for hop in frame["hops"])


async def run_clients(ws_url: str, origin: str, clients: int, seconds: float, start_run) -> tuple:
    ready = [asyncio.Event() for _ in range(clients)]
    stop, measure = asyncio.Event(), asyncio.Event()
    watchers = [Client() for _ in range(clients)]
    tasks = [
        asyncio.create_task(c.watch(ws_url, origin, r, stop, measure))
        for c, r in zip(watchers, ready, strict=True)
    ]
    await asyncio.gather(*(r.wait() for r in ready))
    await asyncio.to_thread(start_run)
    await asyncio.sleep(3)  # warm-up: the run reaches its steady rate
    measure.set()
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    measure.clear()
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    return watchers, elapsed


def dashboard_fps(base_url: str, slug: str, tokens: int = 500) -> dict | None:
    """Frames per second of the dashboard in Debian's chromium with ``tokens`` in flight."""
    from pathlib import Path

    try:
        from playwright.sync_api import sync_playwright

        from tests.e2e.conftest import CHROMIUM_ARGS
    except ImportError:
        return None
    if not Path("/usr/bin/chromium").exists():
        return None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base_url}/topologies/{slug}/")
            page.wait_for_function("window.__eventviz && __eventviz.connected", timeout=30000)
            page.evaluate(f"() => window.__eventviz.injectTokens({tokens}, 4500)")
            page.wait_for_function(f"__eventviz.tokens.stats.inFlight >= {tokens}", timeout=30000)
            return page.evaluate("() => window.__eventviz.measureFps(3000)")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1300.0, help="messages/s (4 hops each)")
    args = parser.parse_args()

    setup_django()
    from flows import services
    from flows.formats.scenario import scenario_load

    with embedded_stack() as stack:
        topology = scenario_load(text=QUEUE.format(rate=args.rate), origin="bench")
        watchers, elapsed = asyncio.run(
            run_clients(
                f"{stack.ws_url}/ws/topologies/{topology.slug}/",
                stack.base_url,
                args.clients,
                args.seconds,
                lambda: services.run_start(topology=topology, seed=1),
            )
        )
        run = services.running_run(topology)
        services.run_stop(run=run)
        fps = dashboard_fps(stack.base_url, topology.slug)

    print(
        f"\n{args.clients} websocket clients, {args.seconds:.0f} s measured, "
        f"producer at {args.rate:,.0f} msg/s\n"
    )
    print("| client | hops/s | frames/s | hops per frame | p50 | p99 | gaps | duplicates |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, c in enumerate(watchers, start=1):
        print(
            f"| {i} | {c.hops / elapsed:,.0f} | {c.frames / elapsed:,.1f} | "
            f"{c.hops / max(c.frames, 1):,.0f} | {percentile(c.latencies, 50):.0f} ms | "
            f"{percentile(c.latencies, 99):.0f} ms | {c.gaps} | {c.duplicates} |"
        )
    slowest = min(c.hops / elapsed for c in watchers)
    worst = max(percentile(c.latencies, 99) for c in watchers)
    print(
        f"\nEvery client: at least {slowest:,.0f} hops/s, p99 at most {worst:.0f} ms "
        "(target: 5,000 hops/s each, p99 < 250 ms). One frame per hop would be "
        f"{slowest:,.0f} frames/s per client, {slowest * len(watchers):,.0f} in all — "
        "past the ~2-2.5K frames/s one Daphne process can send (DESIGN.md)."
    )
    if fps is None:
        print("\nDashboard frames/s: skipped (no Playwright or no /usr/bin/chromium).")
    else:
        print(
            "\nDashboard in headless chromium (software rendering), 1440x900: "
            f"{fps['fps']:.1f} frames/s with {fps['minTokens']}-{fps['maxTokens']} tokens in "
            f"flight, worst frame {fps['worstFrameMs']:.0f} ms (target: at least 50 fps)."
        )


if __name__ == "__main__":
    main()
