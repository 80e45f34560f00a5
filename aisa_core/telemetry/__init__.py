"""OpenTelemetry traces and metrics for every AIsa call, fed by the attempt seam
(``aisa_core.attempts``). Needs ``opentelemetry-api`` (``pip install "aisa-llm[otel]"``); without
it, nothing here is imported by the rest of the package.

Turn it on once per process, and every client is traced, including the ones inside ChatAISA,
AISA, the router and the CLI, made before or after::

    from aisa_core import telemetry
    telemetry.instrument()          # uses OpenTelemetry's global tracer and meter providers

or per client, ``AISAClient(observers=[telemetry.OTelObserver()])``; or, with no code at all,
``opentelemetry-instrument aisa chat "hi"`` (the ``opentelemetry_instrumentor`` entry point).

What is emitted, following the OpenTelemetry GenAI semantic conventions (development status,
as published in ``opentelemetry-semantic-conventions`` 0.66b2 and on opentelemetry.io, late
2026; ``aisa.*`` attributes are this package's own):

- One CLIENT span per call, ``{operation} {model}`` (``chat gpt-4.1``, ``embeddings
  text-embedding-3-small``), a child of the span current where the call was made, with the
  call's own start and end: ``gen_ai.operation.name``, ``gen_ai.provider.name`` (``"aisa"``: the
  gateway is the provider the client speaks to, whatever vendor serves the model behind it),
  ``gen_ai.request.model`` (the first model of the chain), ``gen_ai.request.stream``, the request
  parameters (``gen_ai.request.temperature``, ``.max_tokens``, ``.top_p``, ...),
  ``gen_ai.response.model``/``.id``/``.finish_reasons``, ``gen_ai.usage.input_tokens``,
  ``.output_tokens``, ``.cache_read.input_tokens``, ``.reasoning.output_tokens``,
  ``gen_ai.response.time_to_first_chunk`` (streams), ``server.address``/``.port``,
  ``error.type`` (the error's class, e.g. ``RateLimitError``) and status ERROR on failure, and
  ``aisa.cost_usd``.
- When a call took more than one attempt (retries, fallbacks) or its one attempt failed, a child
  span per attempt, ``aisa.attempt {model}``, with its own times, ``gen_ai.request.model``,
  ``aisa.attempt.outcome``, ``error.type``, ``http.response.status_code``, ``aisa.request_id``;
  a model the health check skipped is a zero-length child with outcome ``skipped`` and
  ``aisa.attempt.skip_reason``. Spans rather than span events, so each attempt shows where the
  time went, and each carries its own status.
- Metrics: ``gen_ai.client.operation.duration`` (s), ``gen_ai.client.token.usage``
  (``gen_ai.token.type`` input/output) and ``gen_ai.client.operation.time_to_first_chunk`` (s,
  streams), with the conventions' bucket boundaries.
- Message content only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``true``
  (see ``_content``). Request headers, and so the API key, are never read.

Operations that ask the gateway about itself (``list_models``, ``get_model``, ``balance``,
``quote``) are plain CLIENT spans named ``aisa.<operation>``, without GenAI attributes or metrics.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aisa_core.attempts import EVERYWHERE

from ._content import CAPTURE_ENV

if TYPE_CHECKING:
    from ._observer import OTelObserver

__all__ = ["CAPTURE_ENV", "Instrumentor", "OTelObserver", "instrument", "uninstrument"]

_lock = threading.Lock()
_installed: list[Any] = []  # the observer instrument() registered, if any


def instrument(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    capture_content: bool | None = None,
) -> OTelObserver:
    """Trace every AIsa client of this process (see the module docstring); calling it again
    replaces the previous observer. Returns the observer."""
    observer = _observer_class()(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        capture_content=capture_content,
    )
    with _lock:
        for old in _installed:
            EVERYWHERE.unobserve(old)
        _installed[:] = [observer]
        EVERYWHERE.observe(observer)
    return observer


def uninstrument() -> None:
    """Stop what ``instrument()`` started (observers given to clients stay)."""
    with _lock:
        for old in _installed:
            EVERYWHERE.unobserve(old)
        _installed.clear()


class Instrumentor:
    """For ``opentelemetry-instrument`` (the ``opentelemetry_instrumentor`` entry point)."""

    def instrument(self, **kwargs: Any) -> None:
        instrument(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
        )

    def uninstrument(self, **kwargs: Any) -> None:
        uninstrument()


def _observer_class() -> type[OTelObserver]:
    try:
        from ._observer import OTelObserver
    except ImportError as exc:
        raise ImportError(
            "aisa_core.telemetry needs OpenTelemetry: pip install 'aisa-llm[otel]'"
        ) from exc
    return OTelObserver


def __getattr__(name: str) -> Any:
    if name == "OTelObserver":
        return _observer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
