"""What the sync and async clients share: settings, request building, response reading.

Everything here is pure (no sending, no sleeping), so both clients are thin loops around it.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from .config import (
    API_KEY_ENV,
    Secret,
    Timeouts,
    normalize_model,
    resolve_api_key,
    resolve_base_url,
)
from ._http import fill_content
from ._retry import AttemptPlan, FallbackOn, RetryPolicy, default_fallback_on
from .callbacks import StreamHandler
from .content import MessageLike, normalize_messages
from .errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    error_from_body,
    error_from_response,
)
from .ratelimit import RateLimiter
from .tools import ToolLike, normalize_tool_choice, to_response_format, to_tools
from .types import ChatCompletion, RateLimit, ResponseMeta

__version__ = "0.1.0"
USER_AGENT = f"aisa-llm-python/{__version__}"

_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}
_POSITIVE_INTS = ("max_tokens", "max_completion_tokens", "n", "top_logprobs")


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
    for name in _POSITIVE_INTS:
        value = params.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    stop = params.get("stop")
    if stop is not None and not isinstance(stop, (str, list, tuple)):
        raise InvalidInputError(f"stop must be a string or a list of strings, got {stop!r}")


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


def _drop_gemini_extras(messages: list[dict[str, Any]]) -> None:
    """Gemini's thought signatures (``extra_content`` on tool calls) must go back to Gemini,
    but another model in a fallback chain may reject the unknown field."""
    for i, message in enumerate(messages):
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if calls and any(isinstance(c, dict) and "extra_content" in c for c in calls):
            stripped = [{k: v for k, v in c.items() if k != "extra_content"} for c in calls]
            messages[i] = {**message, "tool_calls": stripped}


def rate_limit_from(headers: Mapping[str, str]) -> RateLimit | None:
    """``X-RateLimit-*`` in OpenAI's scheme (``-limit-requests``) or the other
    (``-requests-limit``); ``None`` when the gateway sent neither. Keys are lower case."""
    found: dict[str, Any] = {}
    for kind in ("requests", "tokens"):
        for what in ("limit", "remaining", "reset"):
            value = headers.get(f"x-ratelimit-{what}-{kind}") or headers.get(
                f"x-ratelimit-{kind}-{what}"
            )
            if value is not None:
                found[f"{what}_{kind}"] = value
    if not found:
        return None
    try:
        return RateLimit.model_validate(found)
    except ValidationError:
        return None


def cost_micros_from(raw: str | None) -> int | None:
    """``X-AISA-Customer-Cost-Micros-USD`` as an exact integer (never through float)."""
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw.strip())


def meta_from(response: httpx.Response, requested: str) -> ResponseMeta:
    """The facts in the headers, read in one pass (httpx looks each name up linearly)."""
    request_id = cost = None
    limits: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        if key == "x-request-id":
            request_id = value
        elif key == "x-aisa-customer-cost-micros-usd":
            cost = value
        elif key.startswith("x-ratelimit-"):
            limits[key] = value
    return ResponseMeta(
        request_id=request_id,
        cost_micros_usd=cost_micros_from(cost),
        rate_limit=rate_limit_from(limits) if limits else None,
        requested_model=requested,
    )


MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest non-streamed answer we read; a broken or hostile server gets an error, not our
memory."""


class BodyReader:
    """Collects a body up to ``MAX_BODY_BYTES`` (checked against ``Content-Length`` first)."""

    __slots__ = ("_deadline", "_limit", "_model", "_parts", "_size")

    def __init__(self, response: httpx.Response, model: str, total: float | None) -> None:
        self._limit = MAX_BODY_BYTES
        self._deadline = None if total is None else time.monotonic() + total
        self._model = model
        self._parts: list[bytes] = []
        self._size = 0
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._limit:
            self._too_big()

    def add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            self._too_big()
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise APITimeoutError(
                "the answer took longer than the total timeout to arrive", model=self._model
            )
        self._parts.append(data)

    def _too_big(self) -> None:
        raise MalformedResponseError(
            f"the answer is larger than {self._limit} bytes; refusing to read it",
            model=self._model,
        )

    def response(self, response: httpx.Response) -> httpx.Response:
        """The same answer, now with its (decoded) body in memory, as ``read()`` leaves it."""
        fill_content(response, b"".join(self._parts))
        return response


def raise_for_status(response: httpx.Response, model: str) -> None:
    """The gateway's error answer as a typed error (the body must already be read).

    Redirects are never followed (they would carry the Authorization header elsewhere)."""
    if 300 <= response.status_code < 400:
        raise APIError(
            f"the gateway answered {response.status_code} (a redirect), which is not followed",
            status_code=response.status_code,
            model=model,
            hint=f"Set AISA_BASE_URL to the final URL ({response.headers.get('location', '?')})",
        )
    if response.status_code >= 400:
        raise error_from_response(
            response.status_code, response.headers, response.content, model=model
        )


def parse_completion(response: httpx.Response, model: str) -> ChatCompletion:
    content = response.content
    try:
        completion = ChatCompletion.model_validate_json(content)
    except (ValidationError, ValueError) as exc:
        raise MalformedResponseError(
            f"the answer is not a chat completion: {content[:200]!r}",
            model=model,
            request_id=response.headers.get("x-request-id"),
        ) from exc
    if not completion.choices:
        extra = completion.model_extra or {}
        if "error" in extra:
            raise error_from_body(extra, model=model)
        raise MalformedResponseError("the answer has no choices", model=model)
    completion.meta = meta_from(response, model)
    return completion


def parse_json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedResponseError(f"{what}: the answer is not JSON") from exc


class ClientSettings:
    """Settings shared by ``AISAClient`` and ``AsyncAISAClient``. The key never shows in a repr."""

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        model: str | None = None,
        fallback_models: Sequence[str] = (),
        timeout: float | Timeouts | None = None,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        fallback_on: FallbackOn = default_fallback_on,
        retry_before_fallback: bool = True,
        default_headers: Mapping[str, str] | None = None,
        source: str | None = "aisa-llm-python",
        include_usage: bool = True,
        handlers: Sequence[StreamHandler] = (),
        allow_insecure: bool = False,
        seed: int | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url, allow_insecure=allow_insecure)
        self.model = normalize_model(model) if model else None
        self.fallback_models = tuple(normalize_model(m) for m in fallback_models)
        self.timeouts = Timeouts.of(timeout)
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {max_retries}")
        self.retry = retry_policy or RetryPolicy(max_retries=max_retries)
        self.fallback_on = fallback_on
        self.retry_before_fallback = retry_before_fallback
        self.include_usage = include_usage
        self.handlers = tuple(handlers)
        self.rate_limiter = rate_limiter
        self._rng = random.Random(seed)
        self.headers = self._build_headers(default_headers, source)

    def _build_headers(self, extra: Mapping[str, str] | None, source: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if source:
            headers["x-aisa-source"] = source
        for name, value in (extra or {}).items():
            if name.lower() == "authorization":
                raise ConfigurationError("set the key with api_key=, not an Authorization header")
            headers[name] = value
        return headers

    @property
    def api_key(self) -> Secret:
        return self._api_key

    # A pickle is a serialised object, so it never holds the key: the process that loads it
    # reads AISA_API_KEY again (worker processes inherit it). Copies in-process keep the key.

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_api_key"] = None
        state["headers"] = {k: v for k, v in self.headers.items() if k != "Authorization"}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        try:
            self._api_key = resolve_api_key(None)
        except ConfigurationError as exc:
            raise ConfigurationError(
                "an unpickled AIsa client needs a key, and pickles never carry it",
                hint=f"Set {API_KEY_ENV} in the process that loads it",
            ) from exc
        self.headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            **self.headers,
        }

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientSettings:
        clone = copy.copy(self)
        clone.headers = dict(self.headers)
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r})"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def root_url(self) -> str:
        return self.base_url[: -len("/v1")]

    def chain(self, model: str | None, fallback_models: Sequence[str] | None) -> list[str]:
        """The models to try, in order, without repeats."""
        primary = normalize_model(model) if model else self.model
        if not primary:
            raise ConfigurationError("no model given", hint="Pass model='gpt-4.1' (or any AIsa id)")
        rest = self.fallback_models if fallback_models is None else fallback_models
        chain = [primary]
        for m in rest:
            m = normalize_model(m)
            if m not in chain:
                chain.append(m)
        return chain

    def plan(self, chain: Sequence[str]) -> AttemptPlan:
        return AttemptPlan(
            models=chain,
            retry=self.retry,
            fallback_on=self.fallback_on,
            retry_before_fallback=self.retry_before_fallback,
            rng=self._rng,
        )

    def request_headers(self, extra: Mapping[str, str] | None, stream: bool) -> dict[str, str]:
        if not extra and not stream:
            return self.headers
        headers = dict(self.headers)
        if stream:
            headers["Accept"] = "text/event-stream"
        headers.update(extra or {})
        return headers

    def payload(
        self,
        messages: MessageLike | Iterable[MessageLike],
        *,
        stream: bool,
        tools: Sequence[ToolLike] | None = None,
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
            if self.include_usage:
                body["stream_options"] = {"include_usage": True}
        if extra_body:
            body.update(extra_body)  # unknown parameters pass through unchanged
        return body

    def body_for(self, payload: dict[str, Any], model: str) -> bytes:
        body = dict(payload, model=model)
        body["messages"] = [dict(m) for m in payload["messages"]]
        adapt_for_model(body, model)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def handlers_for(self, extra: Sequence[StreamHandler] | None) -> tuple[StreamHandler, ...]:
        return self.handlers + tuple(extra or ())


def dispatch(handlers: Sequence[StreamHandler], events: list[tuple[str, Any]]) -> list[Any]:
    """Call each handler for each event; returns what they returned (awaitables for async)."""
    results = []
    for name, arg in events:
        for handler in handlers:
            results.append(getattr(handler, f"on_{name}")(arg))
    return results
