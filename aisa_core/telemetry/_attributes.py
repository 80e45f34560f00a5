"""What a call's report says in the GenAI conventions' words. Pure: plain dicts, no OpenTelemetry.

Names follow the OpenTelemetry GenAI semantic conventions (development status) as published in
``opentelemetry-semantic-conventions`` 0.66b2 (October 2026) and on opentelemetry.io; the
``aisa.*`` names are this package's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aisa_core.attempts import AttemptReport, CallReport
from aisa_core.types import Usage
from aisa_core.usage import HOUSEKEEPING

__all__ = [
    "PROVIDER",
    "attempt_attributes",
    "call_attributes",
    "is_genai",
    "metric_attributes",
    "span_name",
    "start_attributes",
    "time_to_first_chunk",
    "token_counts",
]

PROVIDER = "aisa"
"""``gen_ai.provider.name``. The client talks to the AIsa gateway, whatever vendor serves the
model behind it, and it emits no vendor-specific attributes (``openai.*`` ...), so it names the
gateway, as the conventions allow for a proxy or hosting platform."""

# HOUSEKEEPING (aisa_core.usage): operations that ask the gateway about itself rather than a
# model are traced as plain CLIENT spans (``aisa.<operation>``), without ``gen_ai.*``
# attributes or GenAI metrics.

# Request parameter -> attribute. ``max_completion_tokens`` is OpenAI's newer spelling.
_REQUEST = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
    "n": "gen_ai.request.choice.count",
    "reasoning_effort": "gen_ai.request.reasoning.level",
    "encoding_format": "gen_ai.request.encoding_formats",
    "dimensions": "gen_ai.embeddings.dimension.count",
}


def is_genai(report: CallReport) -> bool:
    return report.operation not in HOUSEKEEPING


def span_name(report: CallReport) -> str:
    """``{gen_ai.operation.name} {gen_ai.request.model}``, e.g. ``chat gpt-4.1``."""
    if not is_genai(report):
        return f"aisa.{report.operation}"
    return f"{report.operation} {report.models[0]}" if report.models else report.operation


def start_attributes(report: CallReport) -> dict[str, Any]:
    """What a sampler may look at when the span starts (the conventions' sampling-relevant
    attributes): operation, provider, requested model, server."""
    attrs: dict[str, Any] = {}
    if is_genai(report):
        attrs["gen_ai.operation.name"] = report.operation
        attrs["gen_ai.provider.name"] = PROVIDER
        if report.models:
            attrs["gen_ai.request.model"] = report.models[0]
    else:
        attrs["aisa.operation"] = report.operation
    _put(attrs, "server.address", report.server_address)
    _put(attrs, "server.port", report.server_port)
    return attrs


def call_attributes(report: CallReport) -> dict[str, Any]:
    """Everything else the call span carries (besides ``start_attributes``)."""
    attrs: dict[str, Any] = {}
    if is_genai(report):
        attrs.update(_request_attributes(report))
        attrs.update(_response_attributes(report))
    if report.error is not None:
        attrs["error.type"] = type(report.error).__name__
    if report.outcome == "cancelled":
        attrs["aisa.outcome"] = "cancelled"
    costs = [a.cost_usd for a in report.attempts if a.cost_usd is not None]
    if costs:
        attrs["aisa.cost_usd"] = sum(costs)
    if len(report.models) > 1:
        attrs["aisa.fallback_models"] = list(report.models[1:])
    if report.skipped:
        attrs["aisa.skipped_models"] = [s.model for s in report.skipped]
    return attrs


def _request_attributes(report: CallReport) -> dict[str, Any]:
    attrs: dict[str, Any] = {"gen_ai.request.stream": report.stream}
    for key, name in _REQUEST.items():
        value = report.request.get(key)
        if key == "stop" and isinstance(value, str):
            value = [value]
        if key == "encoding_format" and isinstance(value, str):
            value = [value]
        if key == "n" and value == 1:
            continue  # the conventions want the count only when it is not 1
        if _plain(value) and name not in attrs:
            attrs[name] = value
    output = _output_type(report.request.get("response_format"))
    _put(attrs, "gen_ai.output.type", output)
    return attrs


def _response_attributes(report: CallReport) -> dict[str, Any]:
    final = report.final
    attrs: dict[str, Any] = {}
    if final is None or final.outcome == "error":
        return attrs
    _put(attrs, "gen_ai.response.model", final.served_model)
    _put(attrs, "gen_ai.response.id", final.response_id)
    if final.finish_reasons:
        attrs["gen_ai.response.finish_reasons"] = list(final.finish_reasons)
    for name, value in token_counts(final.usage):
        attrs[name] = value
    _put(attrs, "gen_ai.response.time_to_first_chunk", time_to_first_chunk(report))
    return attrs


def token_counts(usage: Usage | None) -> Iterator[tuple[str, int]]:
    """``gen_ai.usage.*`` span attributes of an answer's usage (the billed counts)."""
    if usage is None:
        return
    yield "gen_ai.usage.input_tokens", usage.prompt_tokens
    yield "gen_ai.usage.output_tokens", usage.completion_tokens
    if usage.cached_tokens is not None:
        yield "gen_ai.usage.cache_read.input_tokens", usage.cached_tokens
    if usage.reasoning_tokens is not None:
        yield "gen_ai.usage.reasoning.output_tokens", usage.reasoning_tokens


def time_to_first_chunk(report: CallReport) -> float | None:
    """Seconds from the call's start (when the client issued the request) to the first chunk
    the caller could see, for streams; fallbacks before it count, as the caller waited for them."""
    final = report.final
    if not report.stream or final is None or final.first_chunk_s is None:
        return None
    return max(0.0, final.started - report.started) + final.first_chunk_s


def attempt_attributes(attempt: AttemptReport) -> dict[str, Any]:
    """One attempt's child span: which model was tried, how it ended and why."""
    attrs: dict[str, Any] = {
        "gen_ai.request.model": attempt.model,
        "aisa.attempt.index": attempt.index,
        "aisa.attempt.outcome": attempt.outcome,
    }
    _put(attrs, "gen_ai.response.model", attempt.served_model)
    _put(attrs, "error.type", attempt.error_type)
    _put(attrs, "http.response.status_code", attempt.status)
    _put(attrs, "aisa.request_id", attempt.request_id)
    _put(attrs, "aisa.cost_usd", attempt.cost_usd)
    if attempt.stream:
        _put(attrs, "gen_ai.response.time_to_first_chunk", attempt.first_chunk_s)
    if attempt.probe:
        attrs["aisa.attempt.health_probe"] = True
    return attrs


def metric_attributes(report: CallReport) -> dict[str, Any]:
    """The (low-cardinality) attributes of the call's metric points."""
    attrs = start_attributes(report)
    final = report.final
    if final is not None and final.outcome != "error":
        _put(attrs, "gen_ai.response.model", final.served_model)
    if report.error is not None:
        attrs["error.type"] = type(report.error).__name__
    return attrs


def _output_type(response_format: Any) -> str | None:
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind in ("json_object", "json_schema"):
        return "json"
    return "text" if kind == "text" else None


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _put(attrs: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        attrs[name] = value
