"""An offline stand-in for the AIsa gateway, for tests, demos, notebooks and CI.

:class:`StandIn` runs a real HTTP server on ``127.0.0.1`` that speaks AIsa's
OpenAI-compatible protocol: ``POST /v1/chat/completions`` (JSON and SSE streaming,
tools, structured output, reasoning models), ``GET /v1/models[/{id}]``,
``GET /v1/credits/balance``, ``POST /v1/embeddings`` and Gemini's
``POST /v1beta/models/{model}:generateContent``. Any client that can talk to AIsa
can talk to it: point it at :attr:`StandIn.base_url` with any key except
``sk-aisa-invalid`` (:attr:`StandIn.api_key` is ``sk-aisa-standin``).

Usage::

    from aisa_core.standin import Fault, StandIn

    with StandIn() as gateway:                  # free port, background thread
        gateway.enqueue_text("Paris.")         # the next chat answer, exactly
        gateway.enqueue_fault(Fault(status=429, retry_after=1))
        ...                                    # run your client against gateway.base_url
        assert gateway.last_request.json["model"] == "gpt-4.1"

From pytest, the ``aisa_standin`` fixture gives a running stand-in, reset for each test.
From a shell: ``python -m aisa_core.standin --port 8000``.

Default answers (nothing scripted)
    Deterministic and derived from the request, so chains can run end to end:
    ``"Hello from the AIsa stand-in (<model>). You said: <last user text>"`` (plus
    ``"I see N images."`` for image parts). If tools are offered and the user spoke
    last, it calls a tool (the one ``tool_choice`` names, else one whose name the user
    mentions, else the first) with arguments generated to validate against the tool's
    JSON schema; after a tool result it answers ``"The tool returned: <result>"``, so
    agent loops end. ``response_format`` ``json_object``/``json_schema`` gives valid
    JSON (schema-conforming). Ids ending in ``-thinking`` add ``reasoning_content``. A
    small ``max_tokens`` cuts the text to that many words with ``finish_reason:
    "length"``. Usage estimates tokens as ceil(chars/4) and prices them from an
    illustrative table (``usage.cost`` in USD, ``X-AISA-Customer-Cost-Micros-USD``).
    Model ids starting with ``unknown-``, ``retired-`` or ``aisa/`` (the gateway does not
    strip that prefix; clients must) get AIsa's 503 "No available channels". ``X-AISA-Cost-Mode: quote`` returns a cost estimate without answering.

Scripting (thread-safe; call from the test while clients run)
    ``enqueue_text(text, model=None)``, ``enqueue_tool_call(name, arguments,
    model=None, call_id=None)``, ``enqueue_tool_calls([(name, arguments), ...])`` and
    ``enqueue_fault(fault, model=None)`` queue entries consumed in order, one per
    request; with ``model=`` only a request for that model id consumes it. Answers
    are consumed by chat and ``generateContent``; faults by any request naming the
    model. ``fail_model(model, fault, times=None)`` fails every request for a model
    (``times`` limits it; ``heal_model`` ends it). ``set_reasoning(model, text)`` sets
    reasoning text. Inspect ``requests`` / ``last_request`` (:class:`RecordedRequest`:
    method, path, headers, json, body, query), ``pending`` and ``spent_micros_usd``;
    ``reset()`` forgets everything.

Fault injection
    A :class:`Fault` with ``status`` answers that HTTP error with AIsa's error body in
    one of its shapes (``body_style``: ``"object"`` ``{"error": {type, code, message,
    request_id}}``, ``"string"`` ``{"error": "msg"}``, ``"top_code"`` ``{"error":
    {"message"}, "code": ...}``, ``"text"`` a plain-text body such as ``404 page not
    found``); code and message default per status (429 ``rate_limit_exceeded``, 503
    ``provider_unavailable``...); ``retry_after`` sends ``Retry-After``. Without a
    status a fault alters a 200 answer: ``error_after_chunks=N`` streams N content
    chunks then an in-band ``data: {"error": {...}}`` event and stops without
    ``[DONE]`` (non-streaming: a 200 body ``{"error": {...}}``); ``drop_after_chunks=N``
    closes the connection after N chunks (non-streaming: halfway through the body);
    ``malformed`` sends invalid JSON (one broken ``data:`` line in a stream);
    ``delay`` waits before answering and ``chunk_delay`` between stream events.

    Across processes, send the header ``x-standin-fault: <spec>`` with a request; the
    spec is :meth:`Fault.parse` syntax, e.g. ``"status=429;retry_after=1"``, ``"503"``,
    ``"error_after_chunks=2"``, ``"drop_after_chunks=3"``, ``"malformed"``
    (``Fault.spec()`` writes it). It wins over scripted faults, on any route.
"""

from ._app import INVALID_API_KEY, STANDIN_API_KEY, StandInApp
from ._faults import FAULT_HEADER, BodyStyle, Fault
from ._server import StandIn
from ._state import RecordedRequest

__all__ = [
    "FAULT_HEADER",
    "INVALID_API_KEY",
    "STANDIN_API_KEY",
    "BodyStyle",
    "Fault",
    "RecordedRequest",
    "StandIn",
    "StandInApp",
]
