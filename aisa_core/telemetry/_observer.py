"""``OTelObserver``: an observer of the attempt seam that turns each call's report into spans and
metrics. The only module of the package that imports ``opentelemetry``."""

from __future__ import annotations

import contextlib
from importlib import metadata
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from aisa_core.attempts import AttemptReport, CallReport, SkippedModel
from aisa_core.errors import AISAError

from ._attributes import (
    attempt_attributes,
    call_attributes,
    is_genai,
    metric_attributes,
    span_name,
    start_attributes,
    time_to_first_chunk,
)
from ._content import capture_from_env, content_attributes

__all__ = ["OTelObserver"]

SCOPE = "aisa_core"
# The conventions' advised bucket boundaries.
SECONDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKENS = [4.0**i for i in range(14)]  # 1, 4, 16, ... 67108864


def _version() -> str:
    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("aisa-llm")
    return ""


class OTelObserver:
    """Spans and metrics for every call of the clients it observes.

    ``tracer_provider``/``meter_provider`` default to OpenTelemetry's global ones (whatever the
    SDK set up, or nothing at all: then every span is a no-op). ``capture_content`` defaults to
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (see ``aisa_core.telemetry``).
    """

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool | None = None,
    ) -> None:
        version = _version()
        self._global = tracer_provider is None, meter_provider is None
        self._tracer = trace.get_tracer(SCOPE, version, tracer_provider)
        meter = metrics.get_meter(SCOPE, version, meter_provider)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=SECONDS,
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKENS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=SECONDS,
        )
        self.capture_content = capture_from_env() if capture_content is None else capture_content

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capture_content={self.capture_content})"

    # A pickled client takes its observer along; in the process that loads it, the observer
    # reports to that process's global providers (each process sets up its own SDK).

    def __getstate__(self) -> dict[str, Any]:
        return {"capture_content": self.capture_content}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(capture_content=state["capture_content"])  # type: ignore[misc]

    def listening(self) -> bool:
        """Whether anything would record this call: while OpenTelemetry has no SDK configured
        (its global providers are still the stand-ins), the core makes no report at all."""
        return self._tracing() or self._measuring()

    def _tracing(self) -> bool:
        return not (self._global[0] and _unset(trace.get_tracer_provider()))

    def _measuring(self) -> bool:
        return not (self._global[1] and _unset(metrics.get_meter_provider()))

    def on_call(self, report: CallReport) -> None:
        """Called once a call is over, in the caller's thread or task: its span becomes a child
        of the span current there, with the call's own start and end times."""
        if self._tracing():
            self._trace(report)
        if is_genai(report) and self._measuring():
            self._measure(report)

    # --- spans -------------------------------------------------------------------------------

    def _trace(self, report: CallReport) -> None:
        start = _ns(report.started)
        end = start + _ns(report.duration_s)
        span = self._tracer.start_span(
            span_name(report),
            kind=SpanKind.CLIENT,
            attributes=start_attributes(report),
            start_time=start,
        )
        if span.is_recording():
            span.set_attributes(call_attributes(report))
            if self.capture_content:
                span.set_attributes(content_attributes(report))
            if report.error is not None:
                span.set_status(_error_status(report.error))
            self._children(span, report, start, end)
        span.end(end_time=end)

    def _children(self, span: Span, report: CallReport, start: int, end: int) -> None:
        """A child span per attempt (its own times), and a zero-length one per model the
        health check skipped (nothing was sent, so it has no time of its own: it sits at the
        call's start, where skips are decided)."""
        final = report.final
        if len(report.attempts) < 2 and not report.skipped and (final is None or not final.error):
            return  # one plain attempt: the call span says it all
        parent = trace.set_span_in_context(span)
        for skipped in report.skipped:
            self._skipped(parent, report, skipped, start)
        for attempt in report.attempts:
            self._attempt(parent, attempt, start, end)

    def _attempt(self, parent: Any, attempt: AttemptReport, start: int, end: int) -> None:
        begin = min(max(start, _ns(attempt.started)), end)
        child = self._tracer.start_span(
            f"aisa.attempt {attempt.model}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attempt_attributes(attempt),
            start_time=begin,
        )
        if attempt.error is not None:
            child.set_status(_error_status(attempt.error))
        child.end(end_time=min(end, begin + _ns(attempt.duration_s)))

    def _skipped(self, parent: Any, report: CallReport, skipped: SkippedModel, at: int) -> None:
        attrs: dict[str, Any] = {
            "gen_ai.request.model": skipped.model,
            "aisa.attempt.outcome": "skipped",
            "aisa.attempt.skip_reason": skipped.reason,
        }
        if skipped.until is not None:
            attrs["aisa.attempt.cooldown_until"] = skipped.until
        child = self._tracer.start_span(
            f"aisa.attempt {skipped.model}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attrs,
            start_time=at,
        )
        child.end(end_time=at)

    # --- metrics -----------------------------------------------------------------------------

    def _measure(self, report: CallReport) -> None:
        attrs = metric_attributes(report)
        self._duration.record(report.duration_s, attrs)
        final = report.final
        usage = final.usage if final is not None and final.outcome != "error" else None
        if usage is not None:
            self._tokens.record(usage.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
            self._tokens.record(usage.completion_tokens, {**attrs, "gen_ai.token.type": "output"})
        first = time_to_first_chunk(report)
        if first is not None:
            self._first_chunk.record(first, attrs)


def _unset(provider: object) -> bool:
    """Whether a global provider is still OpenTelemetry's stand-in for "no SDK configured yet"
    (then every span and measurement would be dropped: skip the work, keep the call cheap).
    Once an SDK sets the real provider, the next call is traced."""
    return type(provider).__name__ in ("ProxyTracerProvider", "_ProxyMeterProvider")


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _error_status(error: AISAError) -> Status:
    # The message is the package's own text or the gateway's, already scrubbed of keys.
    return Status(StatusCode.ERROR, f"{type(error).__name__}: {error.message}")
