"""An OpenTelemetry SDK of the test's own: an in-memory span exporter and metric reader, given
to the observer explicitly (the process's global providers are never set by these tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aisa_core import telemetry
from aisa_core.telemetry import OTelObserver


@dataclass
class Otel:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def observer(self, **kw: Any) -> OTelObserver:
        return OTelObserver(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **kw
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        [span] = [s for s in self.spans() if s.name == name]
        return span

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        assert parent.context is not None
        kids = [s for s in self.spans() if s.parent and s.parent.span_id == parent.context.span_id]
        return sorted(
            kids, key=lambda s: (s.start_time or 0, s.attributes.get("aisa.attempt.index", -1))
        )  # type: ignore[union-attr, operator]

    def points(self, metric: str) -> list[Any]:
        """The data points of one metric (empty when it was never recorded)."""
        data = self.reader.get_metrics_data()
        found = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                found += [p for m in sm.metrics if m.name == metric for p in m.data.data_points]
        return found


def make_otel() -> Otel:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return Otel(tracer_provider, MeterProvider(metric_readers=[reader]), exporter, reader)


@pytest.fixture
def otel() -> Iterator[Otel]:
    made = make_otel()
    yield made
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()


@pytest.fixture
def traced(otel: Otel) -> Iterator[Otel]:
    """``telemetry.instrument()`` for the whole process, onto the test's SDK."""
    telemetry.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    yield otel
    telemetry.uninstrument()
