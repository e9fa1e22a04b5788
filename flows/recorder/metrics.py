"""Prometheus metrics of every topology and channel, computed when ``/metrics`` is scraped.

Nothing is counted on the hot path: the engine already keeps its counters and queues in
Redis, and the run rows are in the database, so a scrape reads them (``metrics_read``, a
selector: one Redis pipeline per running run, one query for the runs and one per
topology for the names) and a custom collector (``RunsCollector``) turns what it read
into metric families. Each scrape gets a fresh registry, so no metric object outlives a
request. The names below are the ones docs/grafana-dashboard.json plots.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flows import ids
from flows.engine.counters import TERMINAL, lost
from flows.engine.keys import RunKeys
from flows.models import Consumer, MessageChannel, Producer, Run, RunStatus
from flows.redis_state import client

PREFIX = "eventviz"
RUN_STATUSES = tuple(RunStatus.values)


@dataclass
class QueueState:
    name: str
    depth: int  # visible messages waiting
    in_flight: int  # received, within their visibility timeout
    parked: int  # dead letters parked in it
    oldest_age_s: float  # age of the oldest visible message (0 when empty)


@dataclass
class RunState:
    """What a scrape reports about one topology: its latest run and, if it runs, live state."""

    topology: str
    run: int
    seed: int
    status: str
    totals: dict[str, int] = field(default_factory=dict)
    nodes: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (kind, name, stat)
    queues: list[QueueState] = field(default_factory=list)
    stream_entries: int = 0  # hop batches committed and not yet handed on
    stream_lag_s: float = 0.0  # age of the oldest of them


def metrics_read() -> list[RunState]:
    """The latest run of every topology, with live state from Redis for running ones."""
    latest: dict[int, Run] = {}
    for run in Run.objects.select_related("topology").order_by("topology_id", "-pk"):
        latest.setdefault(run.topology_id, run)
    states = []
    r = client() if any(run.status == RunStatus.RUNNING for run in latest.values()) else None
    now_ms = _redis_ms(r) if r is not None else 0
    for run in latest.values():
        state = RunState(run.topology.slug, run.pk, run.seed, run.status)
        if r is not None and run.status == RunStatus.RUNNING:
            _read_live(r, run, state, now_ms)
        elif run.counters:
            state.totals = {k: int(v) for k, v in run.counters.get("totals", {}).items()}
        states.append(state)
    return states


def _redis_ms(r: Any) -> int:
    seconds, micros = r.time()  # the engine's clock: hop times and queue scores use it
    return int(seconds) * 1000 + int(micros) // 1000


def _names(topology_id: int) -> tuple[dict[str, str], list[tuple[int, str]]]:
    names: dict[str, str] = {}
    queues: list[tuple[int, str]] = []
    for kind, pk, name in MessageChannel.objects.filter(topology_id=topology_id).values_list(
        "kind", "pk", "name"
    ):
        names[ids.channel_node(kind, pk)] = name
        if kind == "queue":
            queues.append((pk, name))
    for pk, name in Consumer.objects.filter(topology_id=topology_id).values_list("pk", "name"):
        names[ids.consumer_node(pk)] = name
    for pk, name in Producer.objects.filter(topology_id=topology_id).values_list("pk", "name"):
        names[ids.producer_node(pk)] = name
    return names, queues


def _read_live(r: Any, run: Run, state: RunState, now_ms: int) -> None:
    names, queues = _names(run.topology_id)
    k = RunKeys(run.pk)
    with r.pipeline(transaction=True) as pipe:
        pipe.hgetall(k.counters)
        pipe.hlen(k.deliveries)
        pipe.xlen(k.hops)
        pipe.xrange(k.hops, count=1)
        for pk, _name in queues:
            pipe.zcard(k.ready(pk))
            pipe.zcard(k.inflight(pk))
            pipe.llen(k.parked(pk))
            pipe.zrange(k.ready(pk), 0, 0, withscores=True)
        results = pipe.execute()
    raw, live, stream_len, first = results[:4]
    totals = {name: 0 for name in ("published", "copies", *TERMINAL)}
    for key, value in raw.items():
        name = key.decode()
        if "|" in name:
            node, stat = name.split("|", 1)
            ref = ids.parse_node(node)
            if ref is not None:
                state.nodes[(ref.kind, names.get(node, node), stat)] = int(value)
        else:
            totals[name] = int(value)
    totals["in_flight"] = int(live)
    totals["lost"] = lost(totals)
    state.totals = totals
    state.stream_entries = int(stream_len)
    if first:
        entry_ms = int(first[0][0].split(b"-")[0])  # a stream id starts with its Redis time
        state.stream_lag_s = max(0.0, (now_ms - entry_ms) / 1000)
    for i, (_pk, name) in enumerate(queues):
        depth, in_flight, parked, oldest = results[4 + 4 * i : 8 + 4 * i]
        age = max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else 0.0
        state.queues.append(QueueState(name, int(depth), int(in_flight), int(parked), age))


class RunsCollector(Collector):
    """Metric families from ``metrics_read`` (or from the states it is given, in tests)."""

    def __init__(self, states: Iterable[RunState] | None = None) -> None:
        self._states = states

    def collect(self) -> Iterator[Metric]:
        states = list(self._states) if self._states is not None else metrics_read()
        topo = ["topology"]
        chan = ["topology", "channel"]

        status = GaugeMetricFamily(
            f"{PREFIX}_run_status",
            "1 for the status of each topology's latest run (running, stopped, ...)",
            labels=[*topo, "run", "status"],
        )
        running = GaugeMetricFamily(
            f"{PREFIX}_run_running", "1 while the topology has a running run", labels=topo
        )
        seed = GaugeMetricFamily(
            f"{PREFIX}_run_seed", "Seed of the latest run (same seed, same messages)", labels=topo
        )
        copies = CounterMetricFamily(
            f"{PREFIX}_deliveries",
            "Copies of messages by state: published, copies made, and each terminal state",
            labels=[*topo, "stage"],
        )
        in_flight_total = GaugeMetricFamily(
            f"{PREFIX}_deliveries_in_flight", "Copies not yet in a terminal state", labels=topo
        )
        lost_total = GaugeMetricFamily(
            f"{PREFIX}_deliveries_lost",
            "Copies neither terminal nor in flight (the accounting law: always 0)",
            labels=topo,
        )
        node_stages = CounterMetricFamily(
            f"{PREFIX}_node_hops",
            "Hops by node and stage (enqueued, received, processed, failed, ...)",
            labels=[*topo, "node_kind", "node", "stage"],
        )
        retries = CounterMetricFamily(
            f"{PREFIX}_retries",
            "Messages a queue made visible again after a failure or a visibility timeout",
            labels=chan,
        )
        depth = GaugeMetricFamily(
            f"{PREFIX}_channel_depth", "Visible messages waiting in a queue", labels=chan
        )
        in_flight = GaugeMetricFamily(
            f"{PREFIX}_channel_in_flight",
            "Messages received from a queue and within their visibility timeout",
            labels=chan,
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_channel_oldest_message_age_seconds",
            "Age of the oldest visible message of a queue (0 when empty)",
            labels=chan,
        )
        parked = GaugeMetricFamily(
            f"{PREFIX}_channel_dead_letters_parked",
            "Dead letters parked in a queue (waiting for a redrive)",
            labels=chan,
        )
        lag_entries = GaugeMetricFamily(
            f"{PREFIX}_hop_stream_lag_batches",
            "Hop batches committed in Redis and not yet handed to dashboards and database",
            labels=topo,
        )
        lag_seconds = GaugeMetricFamily(
            f"{PREFIX}_hop_stream_lag_seconds",
            "Age of the oldest hop batch not yet handed on (0 when none waits)",
            labels=topo,
        )
        for s in states:
            for name in RUN_STATUSES:
                status.add_metric([s.topology, str(s.run), name], 1.0 if s.status == name else 0.0)
            running.add_metric([s.topology], 1.0 if s.status == RunStatus.RUNNING else 0.0)
            seed.add_metric([s.topology], float(s.seed))
            for name in ("published", "copies", *TERMINAL):
                copies.add_metric([s.topology, name], float(s.totals.get(name, 0)))
            in_flight_total.add_metric([s.topology], float(s.totals.get("in_flight", 0)))
            lost_total.add_metric([s.topology], float(s.totals.get("lost", 0)))
            for (kind, node, stat), value in sorted(s.nodes.items()):
                node_stages.add_metric([s.topology, kind, node, stat], float(value))
                if stat == "redelivered":
                    retries.add_metric([s.topology, node], float(value))
            for q in s.queues:
                labels = [s.topology, q.name]
                depth.add_metric(labels, float(q.depth))
                in_flight.add_metric(labels, float(q.in_flight))
                oldest.add_metric(labels, q.oldest_age_s)
                parked.add_metric(labels, float(q.parked))
            if s.status == RunStatus.RUNNING:
                lag_entries.add_metric([s.topology], float(s.stream_entries))
                lag_seconds.add_metric([s.topology], s.stream_lag_s)
        yield from (status, running, seed, copies, in_flight_total, lost_total, node_stages)
        yield from (retries, depth, in_flight, oldest, parked, lag_entries, lag_seconds)


def metrics_text(states: Iterable[RunState] | None = None) -> bytes:
    """The Prometheus text exposition of every topology, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunsCollector(states))
    return generate_latest(registry)


# --- the view --------------------------------------------------------------------------------


def scrape_allowed(request: HttpRequest) -> bool:
    """A staff session, or ``Authorization: Bearer <METRICS_TOKEN>`` when a token is set."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given, token)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        response = HttpResponse("staff session or bearer token required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
