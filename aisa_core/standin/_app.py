"""The stand-in gateway as a plain ASGI 3 application: the routing table and the routes.

No web framework: the routes are few and fixed, and the benchmark wants the hot path
to be a dict lookup, a ``json.loads`` and a ``json.dumps``. Handlers are synchronous
functions returning a :class:`Reply`; only writing it out (delays, trickled chunks) is
asynchronous, so a request costs no thread hop and no extra task. The steps every route
shares (key, body, faults, unknown models, JSON and error replies) are in ``_steps``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timezone
from typing import Any

from . import _answers as answers
from . import _gemini as gemini
from . import _retrieval as retrieval
from . import _thinking as thinking
from ._catalog import DEFAULT_MODELS, cost_micros, model_card
from ._faults import Fault
from ._state import RecordedRequest, ScriptState
from ._steps import Request, RouteSteps
from ._wire import SSE, TEXT, Receive, Reply, Scope, Send, read_body
from ._wire import send_reply as _send_reply

_NOT_FOUND = b"404 page not found"
_GEMINI_PREFIXES = ("/v1beta/models/", "/v1/models/")
_GENERATE = ":generateContent"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _default_unknown(model: str) -> bool:
    # "aisa/" is a client-side namespace (OpenClaw's); the gateway does not strip it, so a
    # client that forgets to is caught here just as it would be against the real service.
    return model.startswith(("unknown-", "retired-", "aisa/"))


class StandInApp(RouteSteps):
    """An offline AIsa gateway (ASGI 3). :class:`StandIn` serves one over loopback HTTP.

    ``unknown_models``: ids answered with 503 "No available channels" (a collection or a
    predicate; default: ids starting with ``unknown-``, ``retired-`` or ``aisa/``).
    ``reasoning_models``: extra ids that answer with ``reasoning_content`` besides those
    ending in ``-thinking`` and DeepSeek's and Kimi's thinking ids (see ``_thinking``).
    ``models``: the ``/v1/models`` catalog. ``record_limit``:
    requests kept for inspection, 1000 by default so a long benchmark cannot hoard memory
    (the oldest go first; None keeps all). ``created``: a
    fixed ``created`` timestamp for reproducible bodies (default: the clock).
    ``balance_micros_usd``/``key_limit_micros_usd``: what ``/v1/credits/balance`` starts from.
    """

    def __init__(
        self,
        *,
        unknown_models: Collection[str] | Callable[[str], bool] | None = None,
        reasoning_models: Iterable[str] = (),
        models: Iterable[str] | None = None,
        record_limit: int | None = 1000,
        created: int | None = None,
        balance_micros_usd: int = 100_000_000,
        key_limit_micros_usd: int = 50_000_000,
    ) -> None:
        self._state = ScriptState(record_limit)
        if unknown_models is None:
            self._is_unknown: Callable[[str], bool] = _default_unknown
        elif callable(unknown_models):
            self._is_unknown = unknown_models
        else:
            self._is_unknown = frozenset(unknown_models).__contains__
        self._reasoning_models = frozenset(reasoning_models)
        self._catalog = {m: model_card(m) for m in (DEFAULT_MODELS if models is None else models)}
        self._created = created
        self._balance = balance_micros_usd
        self._key_limit = key_limit_micros_usd

    @property
    def state(self) -> ScriptState:
        return self._state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            body = await read_body(receive)
            number = self._state.next_number("request")
            request = Request(scope, body, f"req-standin-{number}")
            self._state.record(
                RecordedRequest(
                    request.method, request.path, request.headers, request.json, body, request.query
                )
            )
            await self._serve(request, send, receive)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _serve(self, request: Request, send: Send, receive: Receive) -> None:
        """Answer one request; under enforced limits it counts in flight until its answer is
        written, or is refused before its route runs."""
        limits, key = self._state.limits, self._api_key(request)
        refusal = limits.enter(key) if limits is not None and key else None
        try:
            reply = self._answer(request) if refusal is None else self._refused(request, refusal)
            self._rate_limit_headers(reply, key)
            await _send_reply(send, receive, reply, request.request_id.encode())
        finally:
            if limits is not None and key and refusal is None:
                limits.leave(key)

    def _answer(self, request: Request) -> Reply:
        try:
            return self._state.timeline.pace(request, self._route(request))
        except answers.RequestError as exc:
            return self._error(request, exc.status, exc.code, exc.message)
        except RecursionError:  # JSON nested deeper than the answer builders recurse
            return self._error(request, 400, "invalid_request", "The body is nested too deeply.")

    # -- routing ---------------------------------------------------------------------------

    def _route(self, req: Request) -> Reply:
        method, path = req.method, req.path
        if method == "POST":
            if path == "/v1/chat/completions":
                return self._chat(req)
            if path == "/v1/embeddings":
                return self._embeddings(req)
            if path == "/v1/rerank":
                return self._rerank(req)
            if path.endswith(_GENERATE):
                for prefix in _GEMINI_PREFIXES:
                    if path.startswith(prefix) and len(path) > len(prefix) + len(_GENERATE):
                        return self._generate(req, path[len(prefix) : -len(_GENERATE)])
        elif method == "GET":
            if path == "/v1/models":
                return self._guarded(req, self._models)
            if path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
                return self._guarded(req, self._model)
            if path == "/v1/credits/balance":
                return self._guarded(req, self._credits)
        return Reply(404, TEXT, _NOT_FOUND)

    # -- what the model routes share (the steps every route shares are in _steps) ---------

    def _now(self) -> int:
        return int(time.time()) if self._created is None else self._created

    def _timestamp(self) -> str:
        """Now (or the fixed ``created``) as the gateway writes times: ISO 8601, UTC, ``Z``."""
        now = datetime.fromtimestamp(self._now(), timezone.utc)
        return now.isoformat().replace("+00:00", "Z")

    def _thinking(self, model: str, body: dict[str, Any]) -> tuple[bool, str | None]:
        forced, text = self._state.reasoning_for(model)
        thinks = forced or thinking.thinks(model, body) or model in self._reasoning_models
        return thinks, text

    # -- routes ----------------------------------------------------------------------------

    def _chat(self, req: Request) -> Reply:
        body = self._auth(req) or self._body(req, "model", "messages")
        if isinstance(body, Reply):
            return body
        model, messages = body["model"], body["messages"]
        if not isinstance(model, str):
            return self._error(req, 400, "invalid_request", "model must be a string")
        if not isinstance(messages, list) or not messages:
            return self._error(req, 400, "invalid_request", "messages must be a non-empty array")
        mode = req.headers.get("x-aisa-cost-mode")
        if mode is not None and mode.strip().lower() != "quote":
            message = f"X-AISA-Cost-Mode must be 'quote', not {mode!r}"
            return self._error(req, 400, "invalid_cost_mode", message)
        refused, fault, queued = self._fault(req, model)
        refused = refused or self._unavailable(req, model)
        if refused is not None:
            return refused
        answers.check_request(body)
        thinking.check_history(body, model)
        prompt = answers.prompt_tokens(body)
        if mode is not None:
            return self._quote(body, model, prompt, fault)
        thinks, reasoning_text = self._thinking(model, body)
        answer = answers.plan_chat(
            body,
            model,
            scripted=None if queued else self._state.take_answer(model),
            thinking=thinks,
            reasoning_text=reasoning_text,
            new_call_id=self._call_id,
        )
        completion_id = f"chatcmpl-standin-{self._state.next_number('chat')}"
        usage, cost = answers.usage_block(model, prompt, answer)
        self._state.bill(cost, usage["total_tokens"])
        created = self._now()
        if body.get("stream") is True:
            options = body.get("stream_options")
            wants_usage = isinstance(options, dict) and options.get("include_usage") is True
            parts = answers.stream_parts(
                answer,
                completion_id=completion_id,
                created=created,
                model=model,
                usage=usage if wants_usage else None,
                usage_in_content=fault is not None and fault.usage_in_content,
            )
            return Reply(200, SSE, stream=parts, fault=fault)
        payload = answers.completion_body(
            answer, completion_id=completion_id, created=created, model=model, usage=usage
        )
        return self._json(payload, fault=fault, cost=cost)

    def _call_id(self) -> str:
        return f"call_standin_{self._state.next_number('call')}"

    def _quote(self, body: dict[str, Any], model: str, prompt: int, fault: Fault | None) -> Reply:
        limit = answers.max_tokens_of(body)
        payload = {
            "object": "cost_estimate",
            "currency": "USD",
            "estimate_kind": "upper_bound",
            "estimated_cost_micros_usd": cost_micros(model, prompt, min(limit or 1024, 1024)),
            "max_cost_micros_usd": cost_micros(model, prompt, limit or 4096),
            "may_exceed_estimate": False,
            "estimated_at": self._timestamp(),
        }
        return self._json(payload, fault=fault)

    def _embeddings(self, req: Request) -> Reply:
        return self._priced(req, ("input",), retrieval.plan_embeddings)

    def _rerank(self, req: Request) -> Reply:
        return self._priced(req, ("query", "documents"), retrieval.plan_rerank)

    def _priced(self, req: Request, required: tuple[str, ...], plan: retrieval.Plan) -> Reply:
        """A route billed per input token (embeddings, rerank): checks, faults, the answer."""
        body = self._auth(req) or self._body(req, "model", *required)
        if isinstance(body, Reply):
            return body
        model = body["model"]
        if not isinstance(model, str):
            return self._error(req, 400, "invalid_request", "model must be a string")
        tokens, answer = plan(body)  # a request the gateway would refuse raises a 400 here
        refused, fault, _ = self._fault(req, model)
        refused = refused or self._unavailable(req, model)
        if refused is not None:
            return refused
        cost = cost_micros(model, tokens, 0)
        self._state.bill(cost, tokens)
        return self._json(answer(cost), fault=fault, cost=cost)

    def _generate(self, req: Request, model: str) -> Reply:
        body = self._auth(req) or self._body(req, "contents")
        if isinstance(body, Reply):
            return body
        if not isinstance(body["contents"], list) or not body["contents"]:
            return self._error(req, 400, "invalid_request", "contents must be a non-empty array")
        refused, fault, queued = self._fault(req, model)
        refused = refused or self._unavailable(req, model)
        if refused is not None:
            return refused
        thinks, reasoning_text = self._thinking(model, body)
        answer = gemini.plan_gemini(
            body,
            model,
            scripted=None if queued else self._state.take_answer(model),
            thinking=thinks,
            reasoning_text=reasoning_text,
            new_call_id=self._call_id,
        )
        prompt = gemini.prompt_tokens(body)
        cost = cost_micros(model, prompt, answer.completion_tokens())
        self._state.bill(cost, prompt + answer.completion_tokens())
        response_id = f"standin-{self._state.next_number('generate')}"
        payload = gemini.gemini_body(answer, model=model, prompt=prompt, response_id=response_id)
        return self._json(payload, fault=fault, cost=cost)

    def _models(self, req: Request, fault: Fault | None) -> Reply:
        return self._json({"object": "list", "data": list(self._catalog.values())}, fault=fault)

    def _model(self, req: Request, fault: Fault | None) -> Reply:
        card = self._catalog.get(req.path[len("/v1/models/") :])
        if card is None:
            return Reply(404, TEXT, _NOT_FOUND, fault=fault)
        return self._json(card, fault=fault)

    def _credits(self, req: Request, fault: Fault | None) -> Reply:
        spent = self._state.spent_micros
        payload = {
            "object": "credits_balance",
            "currency": "USD",
            "account_balance_micros_usd": max(0, self._balance - spent),
            "available_balance_micros_usd": max(0, self._balance - spent),
            "api_key": {
                "unlimited": False,
                "remaining_micros_usd": max(0, self._key_limit - spent),
                "used_micros_usd": spent,
            },
            "as_of": self._timestamp(),
        }
        return self._json(payload, fault=fault)
