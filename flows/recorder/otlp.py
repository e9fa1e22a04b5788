"""OpenTelemetry: every message of a run is a trace and every hop a span, sent over OTLP.

How hops map onto the messaging semantic conventions
(https://opentelemetry.io/docs/specs/semconv/messaging/):

- The ``published`` hop is the message's *creation context*: a PRODUCER span
  ``send <channel>``, the root of the message's trace, or, when the message came with a
  W3C ``traceparent`` (an envelope field or a message attribute, see ``traceparent_of``),
  a child of that remote span, so the message continues its caller's trace.
- Every later hop is one span, a child of the span of the hop that brought this copy to
  the node it leaves (the queue it is received from, the topic it fans out of), so the
  trace is the tree of the message's copies. Its ``messaging.operation.type`` is
  ``send`` for a copy (re)entering a destination (enqueued, mirrored, transformed,
  replayed, redelivered, archived), ``receive`` for a queue receive or a push delivery,
  ``process`` for a consumer's work (``processed`` spans its processing time, from the
  hop's ``latency_ms``; ``failed`` has an error status) and ``settle`` for a copy that
  ends without being processed (dead-lettered, filtered, unmatched). The conventions
  renamed ``publish`` to ``send``; we follow the current name.
- Fan-out is made of span links: every copy leaving a topic or a bus, and every receive
  or process span, links to the message's creation context (the conventions ask consumer
  spans to link to it), with ``eventviz.link`` saying why.

Spans are zero-cost when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is unset: ``hops_trace`` returns
at its first line. When it is set, spans go through a ``BatchSpanProcessor``: building a
span costs microseconds on the thread handing hops on, and the export (protobuf over HTTP)
happens on the processor's own thread.

Ids. A trace id and the root span id are derived from (run, message id), so a worker that
never saw the ``published`` hop (the run's lease moved to another process) still parents
its spans under the right root; runs of one seed repeat message ids, hence the run in the
hash. Within a process, a bounded cache remembers each copy's last span (for the tree) and
the trace a ``traceparent`` chose; another process that misses the cache puts the spans of
such a message under the derived trace instead (documented in the README).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from flows import ids

SYSTEM = "eventviz"  # messaging.system: a custom value, as the conventions allow
TRACEPARENT = "traceparent"

# stage -> (messaging.operation.type, span kind)
OPERATIONS: dict[str, tuple[str, SpanKind]] = {
    "published": ("send", SpanKind.PRODUCER),
    "enqueued": ("send", SpanKind.PRODUCER),
    "mirrored": ("send", SpanKind.PRODUCER),
    "transformed": ("send", SpanKind.PRODUCER),
    "replayed": ("send", SpanKind.PRODUCER),
    "redelivered": ("send", SpanKind.PRODUCER),
    "archived": ("send", SpanKind.PRODUCER),
    "received": ("receive", SpanKind.CONSUMER),
    "delivered": ("receive", SpanKind.CONSUMER),
    "processed": ("process", SpanKind.CONSUMER),
    "failed": ("process", SpanKind.CONSUMER),
    "dead_lettered": ("settle", SpanKind.INTERNAL),
    "filtered": ("settle", SpanKind.INTERNAL),
    "unmatched": ("settle", SpanKind.INTERNAL),
}
FAN_OUT_NODES = ("topic", "bus")
CACHE_SIZE = 200_000  # copies remembered per process (a few tens of MB at most)
NAMES_REFRESH_NS = 5_000_000_000  # reload node names at most every 5 s (a node was added)

_propagator = TraceContextTextMapPropagator()


# --- traceparent -----------------------------------------------------------------------------


def traceparent_of(envelope: Mapping[str, Any]) -> str | None:
    """The W3C ``traceparent`` a message came with: an envelope field or an attribute."""
    value = envelope.get(TRACEPARENT)
    if not value:
        attributes = envelope.get("attributes")
        if isinstance(attributes, Mapping):
            value = attributes.get(TRACEPARENT)
            if isinstance(value, Mapping):  # an SNS/SQS-style {"DataType", "StringValue"}
                value = value.get("StringValue") or value.get("Value")
    return value if isinstance(value, str) else None


def remote_parent(traceparent: str | None) -> SpanContext | None:
    """The span a ``traceparent`` names, parsed by the SDK's W3C propagator (None if invalid)."""
    if not traceparent:
        return None
    ctx = _propagator.extract({TRACEPARENT: traceparent})
    span_context = trace.get_current_span(ctx).get_span_context()
    return span_context if span_context.is_valid else None


def with_traceparent(data: dict[str, Any], header: str | None) -> dict[str, Any]:
    """A message from an API call that carried a ``traceparent`` header keeps it.

    The header goes into the message's attributes (where an attribute the caller set
    wins), so the engine carries it with the message like any other attribute.
    """
    if not header or remote_parent(header) is None:
        return data
    attributes = data.get("attributes")
    attributes = dict(attributes) if isinstance(attributes, Mapping) else {}
    attributes.setdefault(TRACEPARENT, header)
    return {**data, "attributes": attributes}


# --- ids -------------------------------------------------------------------------------------


def message_ids(run_id: int, msg: str) -> tuple[int, int]:
    """The trace id and root span id of a message of a run, the same in every process."""
    digest = hashlib.blake2b(f"{run_id}:{msg}".encode(), digest_size=24).digest()
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:], "big") or 1
    return trace_id, span_id


class _PinnedIds(IdGenerator):
    """Random ids, except for a message's root span, whose ids are pinned beforehand.

    The SDK asks for a trace id (when the span has no parent) and then a span id; both
    calls happen on the thread that starts the span, so the pin is per thread.
    """

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self._local = threading.local()

    def pin(self, trace_id: int, span_id: int) -> None:
        self._local.pinned = (trace_id, span_id)

    def generate_trace_id(self) -> int:
        pinned = getattr(self._local, "pinned", None)
        return pinned[0] if pinned else self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        pinned = getattr(self._local, "pinned", None)
        if pinned:
            self._local.pinned = None
            return pinned[1]
        return self._random.generate_span_id()


# --- the tracer ------------------------------------------------------------------------------

_Where = dict[str, tuple[SpanContext, str]]  # node -> (the copy's last span there, destination)
NamesLoader = Callable[[int], tuple[int, dict[str, str]]]  # run id -> (topology id, names)


class HopTracer:
    """Turns batches of hops into spans (``trace``); one per process, thread-safe."""

    def __init__(
        self,
        processor: SpanProcessor,
        *,
        names: NamesLoader | None = None,
        resource: Resource | None = None,
    ) -> None:
        self.ids = _PinnedIds()
        self.provider = TracerProvider(
            resource=resource or Resource.create({"service.name": "eventviz"}),
            id_generator=self.ids,
        )
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("eventviz.recorder")
        self._names_of = names or _node_names
        self._names: dict[int, tuple[int, dict[str, str]]] = {}  # run -> (loaded at, names)
        self._lock = threading.Lock()
        # (run, msg) -> (creation context, {node: (last span there, its destination)})
        self._messages: OrderedDict[tuple[int, str], tuple[SpanContext, _Where]] = OrderedDict()

    def shutdown(self) -> None:
        self.provider.shutdown()

    def force_flush(self) -> bool:
        return self.provider.force_flush()

    # Names -----------------------------------------------------------------------------------

    def _node_names(self, run_id: int, nodes: Iterable[str]) -> dict[str, str]:
        cached = self._names.get(run_id)
        now = time.monotonic_ns()
        if cached is None or (
            now - cached[0] > NAMES_REFRESH_NS and any(n not in cached[1] for n in nodes)
        ):
            _topology, names = self._names_of(run_id)
            if len(self._names) > 64:
                self._names.clear()
            cached = self._names[run_id] = (now, names)
        return cached[1]

    # Spans ------------------------------------------------------------------------------------

    def trace(self, run_id: int, hops: Iterable[dict[str, Any]]) -> None:
        """One span per hop, in seq order (a batch from one run)."""
        hops = list(hops)
        if not hops:
            return
        names = self._node_names(run_id, (h["to"] for h in hops))
        with self._lock:
            for hop in hops:
                self._span(run_id, hop, names)

    def _message(self, run_id: int, hop: dict[str, Any]) -> tuple[SpanContext, _Where]:
        key = (run_id, hop["msg"])
        found = self._messages.get(key)
        if found is not None:
            self._messages.move_to_end(key)
            return found
        trace_id, span_id = message_ids(run_id, hop["msg"])
        flags = _SAMPLED if self._sampled(trace_id) else _NOT_SAMPLED
        root = SpanContext(trace_id, span_id, is_remote=False, trace_flags=flags)
        found = self._messages[key] = (root, {})
        if len(self._messages) > CACHE_SIZE:
            self._messages.popitem(last=False)
        return found

    def _sampled(self, trace_id: int) -> bool:
        """The provider's sampler (OTEL_TRACES_SAMPLER; all by default) on a message's trace.

        Ratio samplers decide on the trace id alone, so every process decides alike, and a
        message left out costs a hash and a lookup per hop, no span.
        """
        result = self.provider.sampler.should_sample(None, trace_id, "message")
        return result.decision.is_sampled()

    def _span(self, run_id: int, hop: dict[str, Any], names: dict[str, str]) -> None:
        stage = hop["stage"]
        operation, kind = OPERATIONS.get(stage, ("send", SpanKind.INTERNAL))
        frm, to = hop["from"], hop["to"]
        detail = hop.get("detail") or {}
        at_ns = hop["at"] * 1_000_000
        links: list[Link] = []
        if stage == "published":  # the creation context: the root, or a remote child
            creation, where = self._root(run_id, hop, detail)
            if not creation.is_remote and not creation.trace_flags.sampled:
                return
            parent, came_through = None, ""
            remote = creation if creation.is_remote else None
        else:
            creation, where = self._message(run_id, hop)
            if not creation.trace_flags.sampled:
                return
            parent, came_through = where.get(frm, (creation, ""))
            remote = None
            if frm.split(":", 1)[0] in FAN_OUT_NODES and to != frm:
                links.append(Link(creation, {"eventviz.link": "fan-out"}))
            elif operation in ("receive", "process"):
                links.append(Link(creation, {"eventviz.link": "creation"}))
        # The destination is the channel end of the hop: where a copy is sent to, or
        # where a consumer receives it from.
        # A consumer's own hops (processed, failed) keep the channel its copy came through.
        channel_end = to if operation == "send" else frm
        if channel_end.split(":", 1)[0] not in ids.CHANNEL_KINDS:
            channel_end = to if channel_end == frm else frm
        destination = names.get(channel_end, channel_end)
        if parent is not None and frm == to and came_through:
            destination = came_through
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.operation.type": operation,
            "messaging.operation.name": stage,
            "messaging.destination.name": destination,
            "messaging.message.id": hop["msg"],
            "eventviz.run": run_id,
            "eventviz.seq": hop["seq"],
            "eventviz.stage": stage,
            "eventviz.from": frm,
            "eventviz.to": to,
            "eventviz.attempt": hop.get("attempt", 1),
            "eventviz.message.type": hop.get("type", ""),
            "eventviz.message.kind": hop.get("kind", ""),
        }
        if hop.get("edge"):
            attributes["eventviz.edge"] = hop["edge"]
        if to.startswith(ids.CONSUMER + ":"):
            attributes["messaging.consumer.group.name"] = names.get(to, to)
        if detail.get("rule"):
            attributes["eventviz.rule"] = str(detail["rule"])
            if detail.get("rule_version") is not None:
                attributes["eventviz.rule.version"] = int(detail["rule_version"])
        start_ns = at_ns
        if stage == "processed" and detail.get("latency_ms"):
            start_ns = at_ns - int(detail["latency_ms"]) * 1_000_000
        if parent is None:
            trace_id, span_id = message_ids(run_id, hop["msg"])
            self.ids.pin(trace_id, span_id)
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote)) if remote else None
            context = context or _ROOT_CONTEXT
        else:
            context = trace.set_span_in_context(trace.NonRecordingSpan(parent))
        span = self.tracer.start_span(
            f"{operation} {destination}",
            context=context,
            kind=kind,
            attributes=attributes,
            links=links,
            start_time=start_ns,
        )
        reason = detail.get("error") or detail.get("reason")
        if stage == "failed" or (stage == "dead_lettered" and reason):
            span.set_status(Status(StatusCode.ERROR, str(reason or stage)))
        span.end(end_time=at_ns)
        if to != frm or parent is None:
            where[to] = (span.get_span_context(), destination)
        if parent is None:
            self._messages[(run_id, hop["msg"])] = (span.get_span_context(), where)

    def _root(
        self, run_id: int, hop: dict[str, Any], detail: dict[str, Any]
    ) -> tuple[SpanContext, _Where]:
        """A published message: its trace, continuing a ``traceparent`` it came with."""
        payload = detail.get("payload")
        remote = remote_parent(traceparent_of(payload)) if isinstance(payload, Mapping) else None
        if remote is not None:
            return remote, {}
        return self._message(run_id, hop)


_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
# An explicit empty context: a root span must not pick up whatever span is current.
_ROOT_CONTEXT = trace.set_span_in_context(trace.INVALID_SPAN)


def _node_names(run_id: int) -> tuple[int, dict[str, str]]:
    """Names of a run's nodes by node id, for span names and destinations."""
    from flows.models import Consumer, MessageChannel, Producer, Run

    topology_id = Run.objects.filter(pk=run_id).values_list("topology_id", flat=True).first()
    if topology_id is None:
        return 0, {}
    names: dict[str, str] = {}
    for kind, pk, name in MessageChannel.objects.filter(topology_id=topology_id).values_list(
        "kind", "pk", "name"
    ):
        names[ids.channel_node(kind, pk)] = name
    for pk, name in Consumer.objects.filter(topology_id=topology_id).values_list("pk", "name"):
        names[ids.consumer_node(pk)] = name
    for pk, name in Producer.objects.filter(topology_id=topology_id).values_list("pk", "name"):
        names[ids.producer_node(pk)] = name
    return topology_id, names


# --- the process's tracer --------------------------------------------------------------------


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is a base URL; traces go to its /v1/traces (the spec)."""
    return endpoint.rstrip("/") + "/v1/traces"


def otlp_exporter(endpoint: str) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=traces_url(endpoint))


class _Process:
    """The process's one tracer, made on first use (after a Celery fork, never before).

    A provider owns a batching thread and an exporter connection, so it is made once per
    process, like OpenTelemetry's own global provider.
    """

    tracer: HopTracer | None = None
    made = False
    lock = threading.Lock()


def hop_tracer() -> HopTracer | None:
    """This process's tracer, or None when OTEL_EXPORTER_OTLP_ENDPOINT is unset."""
    if _Process.made:
        return _Process.tracer
    with _Process.lock:
        if not _Process.made:
            endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
            if endpoint:
                _Process.tracer = HopTracer(BatchSpanProcessor(otlp_exporter(endpoint)))
            _Process.made = True
    return _Process.tracer


def hops_trace(*, run_id: int, hops: list[dict[str, Any]]) -> None:
    """Hand a batch of hops to tracing (nothing at all when tracing is off)."""
    tracer = hop_tracer()
    if tracer is None:
        return
    tracer.trace(run_id, hops)
