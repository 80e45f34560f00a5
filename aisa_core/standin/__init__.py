"""An offline stand-in for the AIsa gateway, for tests, demos, notebooks and CI.

:class:`StandIn` runs a real HTTP server on ``127.0.0.1`` (a free port, a background
thread) that speaks AIsa's OpenAI-compatible protocol, so any client that can talk to
AIsa can talk to it. Point the client at :attr:`StandIn.base_url` with any API key
except ``sk-aisa-invalid`` (:attr:`StandIn.api_key` is ``sk-aisa-standin``)::

    from aisa_core.standin import Fault, StandIn

    with StandIn() as gateway:
        gateway.enqueue_fault(Fault(status=429, retry_after=1))  # first call: rate limited
        gateway.enqueue_text("Paris.")                           # the retry: this answer
        run_my_chain(base_url=gateway.base_url, api_key=gateway.api_key)
        assert [r.path for r in gateway.requests] == ["/v1/chat/completions"] * 2
        assert gateway.last_request.json["model"] == "gpt-4.1"

It works from sync code and from inside a running event loop (``async with StandIn()``
too). In pytest, use the ``aisa_standin`` fixture: a running stand-in, reset for every
test (with pytest-socket, allow loopback: ``--allow-hosts=127.0.0.1``). From a shell,
``python -m aisa_core.standin --port 8000`` serves until Ctrl-C.

Routes
    ``POST /v1/chat/completions`` (JSON or SSE), ``GET /v1/models``,
    ``GET /v1/models/{id}``, ``GET /v1/credits/balance``, ``POST /v1/embeddings``
    (deterministic vectors of each model's real size, 1536 for ``text-embedding-3-small``,
    3072 for ``-large``, 1024 for the Jina models, built from the text's words and character
    trigrams so that cosine similarity follows shared words; ``dimensions`` shortens them as
    Matryoshka models do, ``encoding_format: base64`` honoured, usage and cost as for chat),
    ``POST /v1/rerank`` (Jina's shape, scored by the same words) and Gemini's
    ``POST /v1beta/models/{model}:generateContent`` (also under ``/v1/models/``). Anything
    else is a plain-text ``404 page not found``. Without ``Authorization: Bearer <key>``
    a route answers 401 ``missing_api_key``.

Default answers (nothing scripted)
    Deterministic, derived from the request, so chains run end to end:

    - Text: ``"Hello from the AIsa stand-in (<model>). You said: <last user text>"``
      (first 200 characters), plus ``" I see N images."`` for image parts.
    - Retrieval prompts (context passages in the messages, as LlamaIndex's and LangChain's
      RAG templates put them): the context sentence that best matches the question, or
      ``"The context does not say."``; a chat engine's condense step gets the follow-up
      question back.
    - Tools: when ``tools`` are offered and the user spoke last, a tool call (the tool
      the user names, else the first) with arguments that validate against its JSON
      schema, borrowing words and numbers from the user's text. After a tool result the
      answer is ``"The tool returned: <result>"``, so agent loops end. A ``tool_choice``
      naming a function always calls it; ``"none"`` never calls. ``"required"`` (or
      ``"any"``; Gemini's ``ANY``) calls at every turn: after a tool result it calls the
      last offered tool not yet called since the user spoke, which is where
      structured-output agents put their answer tool, so those loops end too.
    - ``response_format``: ``json_object`` gives ``{"answer": <text>}``, ``json_schema``
      a JSON instance of the schema.
    - Reasoning: models whose id ends in ``-thinking``, DeepSeek's thinking ids
      (``deepseek-v3.2``, ``deepseek-v4*``, ``deepseek-reasoner``) and Kimi's
      (``kimi-k2-thinking``, ``kimi-k2.5`` and later) add ``reasoning_content`` (streamed
      first). The DeepSeek and Kimi ones also enforce their providers' rule: a history
      holding an assistant tool-call turn without its ``reasoning_content`` is a 400
      "The reasoning_content in the thinking mode must be passed back to the API."
      (``"thinking": {"type": "disabled"}`` turns both the reasoning and the check off).
    - ``max_tokens`` smaller than the answer cuts it to that many words with
      ``finish_reason: "length"``.
    - ``usage`` counts ceil(chars/4) tokens and ``usage.cost`` prices them in USD from
      an illustrative table; non-streaming answers also carry
      ``X-AISA-Customer-Cost-Micros-USD``. The spend shows in ``/v1/credits/balance``.
    - Model ids starting with ``unknown-``, ``retired-`` or ``aisa/`` (the gateway does
      not strip that prefix; clients must) get 503 "No available channels for model
      ... under group default" (``provider_unavailable``).
    - ``X-AISA-Cost-Mode: quote`` returns a ``cost_estimate`` (with ``estimated_at``)
      and runs nothing; any other mode is a 400 ``invalid_cost_mode``.
    - ``/v1/credits/balance`` answers in micro-USD with ``currency: "USD"``.

    Streams are ``data: {json}`` events separated by blank lines, opened by a
    ``: keep-alive`` comment and a ``{"role": "assistant", "content": ""}`` delta;
    text comes a word per chunk, tool calls as ``index``-keyed argument fragments; then
    a finish chunk, a ``choices: []`` usage chunk if ``stream_options.include_usage``,
    and ``data: [DONE]``.

Scripting (thread-safe; script from the test while clients run)
    ``enqueue_text(text, *, model=None)``, ``enqueue_tool_call(name, arguments, *,
    model=None, call_id=None)``, ``enqueue_tool_calls([(name, arguments), ...], *,
    model=None)`` and ``enqueue_fault(fault, *, model=None)`` queue entries that are
    consumed in order, at most one per request; an entry with ``model=`` waits for a
    request for that model id. A scripted text is returned exactly (``max_tokens`` and
    ``response_format`` do not alter it). Answers are consumed by chat completions and
    ``generateContent``; faults by any request that names the model (chat, embeddings,
    ``generateContent``). ``fail_model(model, fault, times=None)`` hits every request
    for a model (or the next ``times``) ahead of the queue, and still lets a queued
    answer through when the fault only alters a 200; ``heal_model(model)`` ends it.
    ``set_reasoning(model, text)`` sets the reasoning text (``None``: every reasoning
    model), turning reasoning on for that model. Inspect ``requests`` /
    ``last_request`` (:class:`RecordedRequest`: method, path, query, lower-cased
    headers, parsed ``json``, raw ``body``), ``pending`` and ``spent_micros_usd``;
    ``reset()`` forgets all of it (profiles, outages, enforced limits and the clock too) and
    restarts the ids.

Limits of a key, enforced when asked
    ``enforce_limits(requests_per_minute=300, max_concurrent=10, burst=1)``: per API key, a
    token bucket of ``burst`` requests refilled at the rate (1: no two requests closer than
    60/N seconds) and at most ``max_concurrent`` in flight (from reading a request to writing
    the last byte of its answer); a request over either is refused before its route runs,
    with 429 ``rate_limit_exceeded`` or ``concurrency_limit_exceeded``, ``Retry-After``, and
    every answer carries ``X-RateLimit-{Limit,Remaining,Reset}-Requests`` (``-Tokens`` too).
    ``limit_stats(api_key=None)`` (:class:`LimitStats`) says what it saw: requests let
    through and when they arrived, refusals of each kind, the peak and current number in
    flight, ``rate_per_minute()``, ``max_in_window(seconds)``. ``enforce_limits()`` with no
    limits, or ``reset()``, stops enforcing.

Latency and outages over time
    ``set_profile(model, ttft=0.05, tokens_per_s=200)`` paces that model's successful chat
    answers: a stream's first content event arrives after ``ttft`` seconds and each further
    event ``1 / tokens_per_s`` later; a whole answer waits ``ttft`` plus its completion tokens
    at that rate (quotes and errors are not paced; ``clear_profile(model)`` ends it).
    ``schedule_outage(model, start=1.0, end=3.0, fault=Fault(status=503))`` makes every
    request for the model get ``fault`` (default: 503 "No available channels") from ``start``
    to ``end`` seconds from now (``end=None``: until ``clear_outages(model)``);
    ``flap(model, period=2.0, down=0.5, start=0.0, end=None, fault=...)`` takes it down for
    the first ``down`` seconds (default: half) of every period. Outages win over
    ``fail_model`` and queued faults (the ``x-standin-fault`` header still wins over them) and
    reach every route that names the model. They run on the stand-in's clock,
    ``time.monotonic`` unless ``set_clock(fn)`` gives it another (a test's own clock decides
    outages exactly, without sleeping; set it before scheduling); ``now()`` reads it.

Fault injection
    A :class:`Fault` with a ``status`` answers that HTTP error with an AIsa error body
    in the layout ``body_style`` picks: ``"object"`` ``{"error": {"type", "code",
    "message", "request_id"}}``, ``"string"`` ``{"error": "<message>"}``,
    ``"top_code"`` ``{"error": {"message"}, "code"}``, ``"runtime"`` ``{"code",
    "error": "<message>", "request_id"}``, ``"gemini"`` ``{"error": {"code": <status>,
    "message", "status": "<RPC status>"}}``, or ``"text"``, a plain-text body such as
    ``404 page not found``. Left unset, it is the route's own layout: ``"gemini"`` on
    ``generateContent`` (its other errors, such as a missing key, use it too),
    ``"object"`` elsewhere. ``code`` and ``message`` default per status (429
    ``rate_limit_exceeded``, 401 ``invalid_api_key``, 402
    ``insufficient_wallet_balance``, 503 ``provider_unavailable``...; in the Gemini
    layout ``code`` names the RPC status, by default ``RESOURCE_EXHAUSTED``,
    ``UNAVAILABLE``...); ``retryable=True/False`` adds that field to a JSON body;
    ``retry_after`` sends ``Retry-After``. ``rate_limit="split"`` sends
    ``X-RateLimit-{Limit,Remaining,Reset}-{Requests,Tokens}``, ``rate_limit="plain"``
    ``X-RateLimit-{Limit,Remaining,Reset}`` (the "starter" tier's 600 requests and
    600,000 tokens a minute, counted from the last reset; ``Reset`` a UNIX time; nothing
    remaining on a 429), on an error or a normal answer alike. A fault without a status
    alters a 200 answer instead:

    - ``error_after_chunks=N``: N content chunks, then an in-band
      ``data: {"error": {"message", "type", "code"}}`` event and the end of the stream,
      without a finish chunk or ``[DONE]`` (not streaming: a 200 body ``{"error": ...}``);
    - ``drop_after_chunks=N``: N content chunks, then the connection is closed
      mid-body (not streaming: half the body), so the client sees an incomplete
      response;
    - ``malformed=True``: invalid JSON (in a stream, one broken ``data:`` line right
      after the role chunk);
    - ``usage_in_content=True``: a stream's finish reason and usage ride on its last
      content chunk, with no separate finish chunk or ``choices: []`` usage chunk;
    - ``delay`` seconds before answering, ``chunk_delay`` seconds between events.

    Another process can ask for a fault per request with the header
    ``x-standin-fault: <spec>`` in :meth:`Fault.parse` syntax (``Fault.spec()`` writes
    it): ``"status=429;retry_after=1"``, ``"503"``, ``"error_after_chunks=2"``,
    ``"drop_after_chunks=3"``, ``"malformed"``, ``"status=404;body_style=text"``,
    ``"status=503;body_style=runtime;retryable=false"``, ``"usage_in_content"``. The
    header beats scripted faults and works on every route.

:class:`StandInApp` is the plain ASGI 3 application behind the server (the same
scripting API), for mounting elsewhere or calling through ``httpx.ASGITransport``; a
dropped connection is signalled to the server by raising ``DeliberateDropError``.
"""

from ._app import StandInApp
from ._faults import FAULT_HEADER, BodyStyle, Fault
from ._limits import LimitStats
from ._server import StandIn
from ._state import RecordedRequest
from ._steps import INVALID_API_KEY, STANDIN_API_KEY
from ._wire import DeliberateDropError

__all__ = [
    "FAULT_HEADER",
    "INVALID_API_KEY",
    "STANDIN_API_KEY",
    "BodyStyle",
    "DeliberateDropError",
    "Fault",
    "LimitStats",
    "RecordedRequest",
    "StandIn",
    "StandInApp",
]
