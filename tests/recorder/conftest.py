"""The engine's hand-driven runs (``sim_of``), and a tracer that keeps its spans in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flows.recorder import otlp
from tests.engine.conftest import sim_of  # noqa: F401  (the fixture, shared)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test: every hop handed on becomes a span in this exporter."""
    exporter = InMemorySpanExporter()
    tracer = otlp.HopTracer(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(otlp, "hop_tracer", lambda: tracer)
    yield exporter
    tracer.shutdown()
