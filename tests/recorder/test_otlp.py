"""Hops become OpenTelemetry spans: one trace per message, messaging conventions, links."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from flows import services
from flows.recorder import otlp
from tests.engine.test_pushes import TOPIC, publish_orders

pytestmark = pytest.mark.django_db

QUEUE = """
slug: q
name: Q
message_types: [{name: PlaceOrder, kind: command}]
channels:
  - {name: jobs, kind: queue, visibility_timeout: 5}
consumers:
  - {name: worker, latency_ms: {mean: 30, jitter: 0}}
subscriptions:
  - {channel: jobs, consumer: worker}
"""

FAILING = """
slug: f
name: F
message_types: [{name: PlaceOrder, kind: command}]
channels:
  - {name: jobs, kind: queue, visibility_timeout: 1, max_receives: 1, dead_letter_queue: dlq}
  - {name: dlq, kind: queue}
consumers:
  - {name: worker, latency_ms: {mean: 10, jitter: 0}, failure_rate: 1}
subscriptions:
  - {channel: jobs, consumer: worker}
"""

REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"


def by_message(spans: list[ReadableSpan], msg: str) -> list[ReadableSpan]:
    return [s for s in spans if s.attributes["messaging.message.id"] == msg]


def stage(span: ReadableSpan) -> str:
    return str(span.attributes["eventviz.stage"])


def test_each_message_is_one_trace_rooted_at_its_send_span(sim_of, spans) -> None:
    sim = sim_of(QUEUE)
    msg = sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"n": 1}})
    sim.run_for(300, producers=False)
    mine = by_message(spans.get_finished_spans(), msg)
    assert [stage(s) for s in mine] == ["published", "enqueued", "received", "processed"]
    assert len({s.context.trace_id for s in mine}) == 1
    root, enqueued, received, processed = mine
    assert root.parent is None
    assert root.name == "send jobs" and root.kind == SpanKind.PRODUCER
    assert (
        dict(root.attributes).items()
        >= {
            "messaging.system": "eventviz",
            "messaging.destination.name": "jobs",
            "messaging.operation.type": "send",
            "messaging.message.id": msg,
            "eventviz.run": sim.run.pk,
            "eventviz.message.type": "PlaceOrder",
        }.items()
    )
    assert received.name == "receive jobs" and received.kind == SpanKind.CONSUMER
    assert received.attributes["messaging.operation.type"] == "receive"
    assert received.attributes["messaging.consumer.group.name"] == "worker"
    assert enqueued.name == "send jobs" and enqueued.parent.span_id == root.context.span_id
    assert received.parent.span_id == enqueued.context.span_id
    assert processed.name == "process jobs"
    assert processed.attributes["messaging.operation.type"] == "process"
    assert processed.parent.span_id == received.context.span_id
    # Spans carry the hops' own times: processing took at least the consumer's 30 ms.
    latency_ms = sim.hops(stage="processed")[0].detail["latency_ms"]
    assert processed.end_time - processed.start_time == latency_ms * 1_000_000 >= 30_000_000
    assert received.attributes["eventviz.seq"] < processed.attributes["eventviz.seq"]


def test_topic_fan_out_copies_are_branches_linked_to_the_creation_context(sim_of, spans) -> None:
    sim = sim_of(TOPIC)
    _small, big = publish_orders(sim, [50, 500])
    sim.run_for(500, producers=False)
    mine = by_message(spans.get_finished_spans(), big)
    root = next(s for s in mine if stage(s) == "published")
    topic = sim.node("topic", "orders")
    copies = [s for s in mine if s.attributes["eventviz.from"] == topic]
    # billing and big-orders get a push each, analytics-queue an enqueued copy.
    assert sorted(stage(s) for s in copies) == ["delivered", "delivered", "enqueued"]
    for copy in copies:
        assert copy.parent.span_id == root.context.span_id
        assert [(link.context.span_id, dict(link.attributes)) for link in copy.links] == [
            (root.context.span_id, {"eventviz.link": "fan-out"})
        ]
    processed = [s for s in mine if stage(s) == "processed"]
    assert sorted(s.attributes["messaging.consumer.group.name"] for s in processed) == [
        "analytics",
        "big-orders",
        "billing",
    ]
    for span in processed:  # consumer spans link to the message's creation context
        assert [link.context.span_id for link in span.links] == [root.context.span_id]
    analytics = next(s for s in processed if s.name == "process analytics-queue")
    assert analytics.attributes["messaging.destination.name"] == "analytics-queue"


def test_filtered_and_dead_lettered_copies_are_settle_spans(sim_of, spans) -> None:
    sim = sim_of(TOPIC)
    small, _big = publish_orders(sim, [50, 500])
    sim.run_for(300, producers=False)
    filtered = [s for s in by_message(spans.get_finished_spans(), small) if stage(s) == "filtered"]
    assert [(s.name, s.attributes["messaging.operation.type"]) for s in filtered] == [
        ("settle orders", "settle")
    ]

    failing = sim_of(FAILING)
    spans.clear()
    msg = failing.publish("jobs", {"detail-type": "PlaceOrder", "detail": {}})
    failing.run_for(2000, producers=False)
    mine = by_message(spans.get_finished_spans(), msg)
    failed = next(s for s in mine if stage(s) == "failed")
    assert failed.status.status_code == StatusCode.ERROR
    dead = next(s for s in mine if stage(s) == "dead_lettered")
    assert dead.attributes["messaging.operation.type"] == "settle"
    assert len({s.context.trace_id for s in mine}) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"traceparent": TRACEPARENT, "detail-type": "PlaceOrder", "detail": {}},
        {"detail-type": "PlaceOrder", "detail": {}, "attributes": {"traceparent": TRACEPARENT}},
        otlp.with_traceparent({"detail-type": "PlaceOrder", "detail": {}}, TRACEPARENT),
    ],
    ids=["envelope field", "message attribute", "API call header"],
)
def test_a_message_with_a_traceparent_continues_that_trace(sim_of, spans, data) -> None:
    sim = sim_of(QUEUE)
    msg = sim.publish("jobs", data)
    sim.run_for(300, producers=False)
    mine = by_message(spans.get_finished_spans(), msg)
    assert {f"{s.context.trace_id:032x}" for s in mine} == {REMOTE_TRACE}
    root = mine[0]
    assert root.parent is not None and root.parent.is_remote
    assert f"{root.parent.span_id:016x}" == REMOTE_SPAN
    assert mine[1].parent.span_id == root.context.span_id
    assert len(mine) == 4


def test_an_invalid_traceparent_starts_a_trace_of_its_own(sim_of, spans) -> None:
    sim = sim_of(QUEUE)
    data = {"detail-type": "PlaceOrder", "detail": {}, "attributes": {"traceparent": "00-zz"}}
    assert otlp.with_traceparent({"detail": {}}, "garbage") == {"detail": {}}
    msg = sim.publish("jobs", data)
    sim.run_for(100, producers=False)
    root = by_message(spans.get_finished_spans(), msg)[0]
    assert root.parent is None
    assert root.context.trace_id == otlp.message_ids(sim.run.pk, msg)[0]


def test_another_process_puts_later_hops_under_the_same_root(sim_of, spans) -> None:
    """A second worker process (the lease moved) derives the trace and root from the ids."""
    sim = sim_of(QUEUE)
    msg = sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {}})
    sim.step()  # published in "process 1" (the fixture's tracer)
    first_seq = sim.hops()[-1].seq
    other = InMemorySpanExporter()
    second = otlp.HopTracer(SimpleSpanProcessor(other))
    sim.run_for(200, producers=False)
    later = [
        {"seq": h.seq, "msg": str(h.msg), "type": h.type, "kind": h.kind, "stage": h.stage,
         "from": h.from_node, "to": h.to_node, "edge": h.edge, "attempt": h.attempt,
         "at": h.at, "detail": h.detail}
        for h in sim.hops() if h.seq > first_seq
    ]  # fmt: skip
    second.trace(sim.run.pk, later)
    root = by_message(spans.get_finished_spans(), msg)[0]
    theirs = other.get_finished_spans()
    assert theirs and all(s.context.trace_id == root.context.trace_id for s in theirs)
    assert theirs[0].parent.span_id == root.context.span_id
    second.shutdown()


def test_tracing_is_off_and_free_without_an_endpoint(monkeypatch) -> None:
    monkeypatch.setattr(otlp._Process, "made", False)
    monkeypatch.setattr(otlp._Process, "tracer", None)
    with override_settings(OTEL_EXPORTER_OTLP_ENDPOINT=""):
        assert otlp.hop_tracer() is None
        otlp.hops_trace(run_id=1, hops=[{"bad": "hop, never read"}])
    monkeypatch.setattr(otlp._Process, "made", False)
    with override_settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9/"):
        tracer = otlp.hop_tracer()
        assert tracer is not None and otlp.hop_tracer() is tracer
        processor = tracer.provider._active_span_processor._span_processors[0]
        assert isinstance(processor, BatchSpanProcessor)
        tracer.provider.shutdown()
    assert otlp.traces_url("http://c:4318/") == "http://c:4318/v1/traces"


# --- a real OTLP/HTTP round trip -------------------------------------------------------------


class Collector:
    """A tiny OTLP/HTTP receiver: decodes every POST /v1/traces it gets."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.requests.append(request)
                collector.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()
    c.server.server_close()


def test_spans_reach_an_otlp_http_collector(sim_of, collector, monkeypatch) -> None:
    monkeypatch.setattr(otlp._Process, "made", False)
    monkeypatch.setattr(otlp._Process, "tracer", None)
    with override_settings(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url):
        sim = sim_of(QUEUE)
        msg = sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"n": 1}})
        sim.run_for(300, producers=False)
        tracer = otlp.hop_tracer()
        assert tracer is not None
        tracer.force_flush()
        tracer.shutdown()
    assert set(collector.paths) == {"/v1/traces"}
    resource = collector.requests[0].resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "eventviz"
    got = [s for s in collector.spans() if _attrs(s)["messaging.message.id"] == msg]
    assert [s.name for s in got] == ["send jobs", "send jobs", "receive jobs", "process jobs"]
    assert {s.trace_id.hex() for s in got} == {f"{otlp.message_ids(sim.run.pk, msg)[0]:032x}"}
    assert _attrs(got[3])["messaging.operation.type"] == "process"
    assert got[3].parent_span_id == got[2].span_id
    assert got[2].links[0].span_id == got[0].span_id


def _attrs(span: Any) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def test_hops_publish_hands_hops_to_tracing(sim_of, spans) -> None:
    sim = sim_of(QUEUE)
    hop = {
        "seq": 1, "run": sim.run.pk, "msg": "00000000-0000-4000-8000-000000000001",
        "type": "PlaceOrder", "kind": "command", "stage": "published", "from": "client",
        "to": sim.node("queue", "jobs"), "edge": "", "attempt": 1, "at": 1_800_000_000_000,
        "detail": {},
    }  # fmt: skip
    services.hops_publish(run_id=sim.run.pk, slug=sim.topology.slug, hops=[hop])
    assert [s.name for s in spans.get_finished_spans()] == ["send jobs"]


def test_a_ratio_sampler_keeps_or_drops_whole_messages(sim_of, monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
    exporter = InMemorySpanExporter()
    tracer = otlp.HopTracer(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(otlp, "hop_tracer", lambda: tracer)
    sim = sim_of(QUEUE)
    msgs = [sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {}}) for _ in range(40)]
    sim.run_for(3000, producers=False)
    kept = {s.attributes["messaging.message.id"] for s in exporter.get_finished_spans()}
    assert 0 < len(kept) < len(msgs)
    for msg in kept:  # a kept message has all its spans, under its root
        assert [stage(s) for s in by_message(exporter.get_finished_spans(), msg)] == [
            "published", "enqueued", "received", "processed"
        ]  # fmt: skip
    tracer.shutdown()
