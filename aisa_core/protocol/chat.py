"""``POST /v1/chat/completions``: the request body, checked before anything is sent, adapted
per model, and the answer read. Pure.

Options a chat call takes (beside ``model`` and ``fallback_models``): ``tools``,
``tool_choice``, ``response_format``, ``strict``, ``parallel_tool_calls``, ``extra_body``
(merged last, unchanged), ``extra_headers``, ``timeout`` (seconds or ``Timeouts``), and any
request parameter (``temperature``, ``max_tokens``, ``stop``, ...; unknown ones pass through).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from aisa_core.attempts import AttemptInfo
from aisa_core.config import Timeouts
from aisa_core.content import MessageLike, normalize_messages
from aisa_core.errors import (
    AISAError,
    InvalidInputError,
    MalformedResponseError,
    error_from_body,
)
from aisa_core.tools import normalize_tool_choice, to_response_format, to_tools
from aisa_core.types import ChatCompletion, CompareResult, CostQuote

from .operation import Answering, Operation, check_served
from .retry import Step
from .wire import Reply, Request, dumps, meta_from, parse_object, raise_for_status

__all__ = [
    "Chat",
    "Quote",
    "Target",
    "adapt_for_model",
    "build_payload",
    "check_params",
    "compare_result",
    "keeps_reasoning",
    "parse_completion",
]

Messages = MessageLike | Iterable[MessageLike]

_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}
_INT_MINIMUMS = {"max_tokens": 1, "max_completion_tokens": 1, "n": 1, "top_logprobs": 0}
_NAMED = ("tools", "tool_choice", "response_format", "strict", "parallel_tool_calls", "extra_body")


class Target(Protocol):
    """Where and how a client sends: what an operation needs of the client's settings."""

    @property
    def include_usage(self) -> bool: ...

    def url(self, path: str) -> str: ...

    def request_headers(
        self, extra: Mapping[str, str] | None, stream: bool
    ) -> Mapping[str, str]: ...

    def chain(self, model: str | None, fallback_models: Sequence[str] | None) -> list[str]: ...


def check_params(params: Mapping[str, Any]) -> None:
    """Reject values the gateway would refuse, before sending anything."""
    for name, (low, high) in _RANGES.items():
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"{name} must be a number, got {value!r}")
        if not low <= value <= high:
            raise InvalidInputError(f"{name} must be between {low} and {high}, got {value}")
    for name, least in _INT_MINIMUMS.items():
        value = params.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < least
        ):
            raise InvalidInputError(f"{name} must be an integer of at least {least}, got {value!r}")
    seed = params.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidInputError(f"seed must be an integer, got {seed!r}")
    stop = params.get("stop")
    if stop is not None and not (
        isinstance(stop, str)
        or (isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop))
    ):
        raise InvalidInputError(f"stop must be a string or a list of strings, got {stop!r}")


def build_payload(
    messages: Messages,
    *,
    stream: bool,
    include_usage: bool = True,
    tools: Sequence[Any] | None = None,
    tool_choice: Any = None,
    response_format: Any = None,
    strict: bool | None = None,
    parallel_tool_calls: bool | None = None,
    extra_body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The request body without ``model`` (set per attempt); everything checked first."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    check_params(params)
    body: dict[str, Any] = {"messages": normalize_messages(messages), **params}
    wire_tools = to_tools(tools, strict=strict) if tools else None
    if wire_tools:
        body["tools"] = wire_tools
        if parallel_tool_calls is not None:
            body["parallel_tool_calls"] = parallel_tool_calls
    choice = normalize_tool_choice(tool_choice, wire_tools)
    if choice is not None:
        body["tool_choice"] = choice
    fmt = to_response_format(response_format)
    if fmt is not None:
        body["response_format"] = fmt
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    if extra_body is not None and not isinstance(extra_body, Mapping):
        raise InvalidInputError(f"extra_body must be a dict, not {type(extra_body).__name__}")
    if extra_body:
        body.update(extra_body)  # unknown parameters pass through unchanged
    return body


# Thinking-mode models that refuse a history whose assistant tool-call turns lack the
# ``reasoning_content`` they were answered with: DeepSeek's thinking mode (V3.2 and later, and
# ``deepseek-reasoner``) and Kimi's thinking models (K2 Thinking, K2.5 and later).
_KEEPS_REASONING = re.compile(
    r"deepseek-(?:v3\.[2-9]|v[4-9]|reasoner)|kimi-k2-thinking|kimi-k2\.[5-9]|kimi-k[3-9]"
)


def keeps_reasoning(model: str) -> bool:
    """Whether ``model`` needs the reasoning of earlier assistant turns sent back."""
    return _KEEPS_REASONING.match(model.lower()) is not None


def adapt_for_model(payload: dict[str, Any], model: str) -> None:
    """Known provider quirks, applied per model so a fallback chain can mix families."""
    if model.startswith("kimi-k2.5") and "temperature" in payload:
        payload["temperature"] = 1  # Kimi K2.5 accepts only temperature=1
    if model.startswith("qwen"):
        for message in payload["messages"]:
            if message.get("role") == "developer":
                message["role"] = "system"
    if not model.startswith("gemini"):
        _drop_gemini_extras(payload["messages"])
    _keep_reasoning_where_needed(payload["messages"], keeps_reasoning(model))


def _keep_reasoning_where_needed(messages: list[dict[str, Any]], keep: bool) -> None:
    """Assistant turns keep their ``reasoning_content`` for the models that need it back; every
    other model gets none (DeepSeek R1 refuses it, and providers may reject unknown fields)."""
    for i, message in enumerate(messages):
        if "reasoning_content" in message and not (keep and message.get("role") == "assistant"):
            messages[i] = {k: v for k, v in message.items() if k != "reasoning_content"}


def _drop_gemini_extras(messages: list[dict[str, Any]]) -> None:
    """Gemini's thought signatures (``extra_content`` on tool calls) must go back to Gemini,
    but another model in a fallback chain may reject the unknown field."""
    for i, message in enumerate(messages):
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if calls and any(isinstance(c, dict) and "extra_content" in c for c in calls):
            stripped = [{k: v for k, v in c.items() if k != "extra_content"} for c in calls]
            messages[i] = {**message, "tool_calls": stripped}


def body_for(payload: dict[str, Any], model: str) -> bytes:
    """The JSON body for one model; ``InvalidInputError`` if it is not valid JSON."""
    body = dict(payload, model=model)
    body["messages"] = [dict(m) for m in payload["messages"]]
    adapt_for_model(body, model)
    return dumps(body)


def parse_completion(reply: Reply, model: str) -> ChatCompletion:
    content = reply.body
    try:
        completion = ChatCompletion.model_validate_json(content)
    except (ValidationError, ValueError) as exc:
        raise MalformedResponseError(
            f"the answer is not a chat completion: {content[:200]!r}",
            model=model,
            request_id=reply.request_id,
        ) from exc
    if not completion.choices:
        extra = completion.model_extra or {}
        if "error" in extra:
            raise error_from_body(extra, model=model)
        raise MalformedResponseError("the answer has no choices", model=model)
    completion.meta = meta_from(reply, model)
    return completion


class Chat(Answering[ChatCompletion]):
    """One chat completion over a fallback chain (``stream=True``: the body of a stream)."""

    name = "chat"

    def __init__(
        self,
        target: Target,
        messages: Messages,
        model: str | None,
        fallback_models: Sequence[str] | None,
        options: Mapping[str, Any],
        *,
        stream: bool = False,
        quote: bool = False,
    ) -> None:
        super().__init__(target.chain(model, fallback_models))
        check_served(self.models, "chat")
        params = dict(options)
        extra_headers = params.pop("extra_headers", None)
        timeout = params.pop("timeout", None)
        named = {k: params.pop(k) for k in _NAMED if k in params}
        self.payload = build_payload(
            messages, stream=stream, include_usage=target.include_usage, params=params, **named
        )
        if quote:
            extra_headers = {**(extra_headers or {}), "X-AISA-Cost-Mode": "quote"}
        self.url = target.url("/chat/completions")
        self.headers = target.request_headers(extra_headers, stream)
        self.timeouts = None if timeout is None else Timeouts.of(timeout)
        # Encoded now, so a body that is not valid JSON fails before anything is sent.
        self._first = body_for(self.payload, self.models[0])

    def request(self, model: str, route: int) -> Request:
        body = self._first if model == self.models[0] else body_for(self.payload, model)
        return Request("POST", self.url, self.headers, body, self.timeouts)

    def read(self, reply: Reply, model: str) -> ChatCompletion:
        return parse_completion(reply, model)

    def info(self, step: Step, stream: bool) -> AttemptInfo:
        return AttemptInfo(
            self.name,
            step.model,
            stream=stream,
            prompt_tokens=self._prompt_tokens,
            max_output_tokens=self._max_output,
            force=step.force,
        )

    @property
    def _prompt_tokens(self) -> int:
        """About four bytes a token, over the body sent (the budget's worst case needs no
        more: the gateway's usage settles it)."""
        return -(-len(self._first) // 4)

    @property
    def _max_output(self) -> int | None:
        value = self.payload.get("max_tokens") or self.payload.get("max_completion_tokens")
        return value if isinstance(value, int) else None

    def facts(self, result: ChatCompletion) -> dict[str, Any]:
        return completion_facts(result)

    def describe(self) -> dict[str, Any]:
        return self.payload

    def quote_request(self, model: str) -> Request | None:
        headers = {**self.headers, "X-AISA-Cost-Mode": "quote"}
        return Request("POST", self.url, headers, body_for(self.payload, model), self.timeouts)

    def read_quote(self, reply: Reply, model: str) -> float | None:
        """The quote's worst case in USD (``max_cost_micros_usd``, else the estimate)."""
        raise_for_status(reply, model)
        quote = parse_object(reply, "cost quote", CostQuote)
        micros = quote.max_cost_micros_usd or quote.estimated_cost_micros_usd
        return None if micros is None else micros / 1_000_000


class Quote(Operation[CostQuote]):
    """What a chat request would cost, validated but not run (``X-AISA-Cost-Mode: quote``)."""

    name = "quote"

    def __init__(
        self, target: Target, messages: Messages, model: str | None, options: Mapping[str, Any]
    ) -> None:
        self._chat = Chat(target, messages, model, [], options, quote=True)
        super().__init__(self._chat.models)

    def request(self, model: str, route: int) -> Request:
        return self._chat.request(model, route)

    def read(self, reply: Reply, model: str) -> CostQuote:
        return parse_object(reply, "cost quote", CostQuote)


def completion_facts(completion: ChatCompletion) -> dict[str, Any]:
    """What an answer tells the attempt seam."""
    return {
        "usage": completion.usage,
        "cost_usd": completion.cost_usd,
        "served_model": completion.model or None,
        "finish_reasons": tuple(c.finish_reason for c in completion.choices if c.finish_reason),
        "response_id": completion.id or None,
    }


def compare_result(
    model: str, outcome: ChatCompletion | AISAError, latency: float
) -> CompareResult:
    """One model's row in ``compare_models``: its answer's numbers, or its error."""
    if isinstance(outcome, ChatCompletion):
        usage = outcome.usage
        return CompareResult(
            model=model,
            ok=True,
            text=outcome.text,
            latency_s=latency,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            cost_usd=outcome.cost_usd,
            served_model=outcome.model or None,
            finish_reason=outcome.finish_reason,
        )
    return CompareResult(
        model=model,
        ok=False,
        status="error",
        latency_s=latency,
        error=str(outcome),
        error_type=type(outcome).__name__,
    )
