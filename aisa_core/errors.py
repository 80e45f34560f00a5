"""Every error this package raises, as one tree.

::

    AISAError                          base; never raised bare
    ├── ConfigurationError (ValueError) bad settings: no API key, bad base URL (before any request)
    ├── InvalidInputError (ValueError)  bad call arguments: a message, tool or image we cannot send
    ├── APIError                        the gateway answered with an error
    │   ├── BadRequestError             400
    │   │   └── ContextWindowExceededError   400/422 about input or output length
    │   ├── AuthenticationError         401  → check AISA_API_KEY
    │   ├── InsufficientCreditsError    402  → top up credits or raise the key's limit
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   │   └── UnknownModelError       unknown model id, also 503 "No available channels"
    │   ├── ConflictError               409  idempotency
    │   ├── UnprocessableEntityError    422
    │   │   └── ContentPolicyError      content_policy_violation
    │   ├── RateLimitError              429  (retry_after set when the gateway said so)
    │   ├── ServerError                 5xx
    │   └── StreamError                 an ``error`` event inside a 200 stream, code not mapped
    ├── APIConnectionError              the request did not get an answer
    │   ├── APITimeoutError             connect, read or total timeout
    │   └── StreamInterruptedError      connection lost after the stream started
    ├── MalformedResponseError          the body or an event was not the JSON we expected
    ├── BudgetExceededError             a Budget would be exceeded (before sending)
    │   └── PriceCapExceededError       402 estimated_price_exceeds_max_price (also a 402 error)
    ├── StoreUnavailableError           the shared store (Redis) is away: on_store_error="raise"
    └── AllModelsFailedError            a fallback chain ran out; ``attempts`` has every failure

Error bodies come in several layouts; ``_error_bodies`` reads them all. ``retryable`` is decided by
the class unless the body carries its own boolean ``retryable``, which then decides retries of the
same model (falling back to another model still follows the class).

Each error carries ``status_code``, ``code``, ``message``, ``request_id``, ``retry_after``,
``model`` and ``body`` (raw text, capped), plus ``hint`` (what to do). ``retryable`` says whether
sending the same request again may help; ``error_from_response`` is the one place that maps an
HTTP answer to a class. No error ever contains the API key: messages are built from the body and
our own text only, ``redact`` scrubs anything shaped like an ``sk-`` key, and ``scrub`` removes
the client's own key, whatever its shape, from an error a call raises (``protocol.effects.Driver``
calls it at the one place a call's errors leave it; both live in ``aisa_core.redaction``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ._error_bodies import (
    message_from_mapping,
    parse_error_body,
    parse_retry_after,
    retryable_flag,
    safe_dumps,
)
from .redaction import redact, scrub

__all__ = [
    "AISAError",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AllModelsFailedError",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "InsufficientCreditsError",
    "InvalidInputError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PriceCapExceededError",
    "RateLimitError",
    "ServerError",
    "StoreUnavailableError",
    "StreamError",
    "StreamInterruptedError",
    "UnknownModelError",
    "UnprocessableEntityError",
    "error_from_body",
    "error_from_response",
    "parse_error_body",
    "redact",
    "scrub",
]

_BODY_CAP = 2000


class AISAError(Exception):
    """Base class: ``except AISAError`` catches everything this package raises on purpose."""

    retryable: bool = False  # per class; an error body's own ``retryable`` wins (see above)
    default_hint: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        model: str | None = None,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.model = model
        self.body = redact(body[:_BODY_CAP]) if body else body
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self.message)

    def __str__(self) -> str:
        facts = [
            f"{name}={value}"
            for name, value in (
                ("status", self.status_code),
                ("code", self.code),
                ("model", self.model),
                ("request_id", self.request_id),
                ("retry_after", self.retry_after),
            )
            if value is not None
        ]
        text = self.message + (f" ({', '.join(facts)})" if facts else "")
        return f"{text}. {self.hint}" if self.hint else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor: rebuild from state so errors survive pickling (process pools).
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[AISAError], state: dict[str, Any]) -> AISAError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class ConfigurationError(AISAError, ValueError):
    """Settings that cannot work, found before any request is sent."""


class InvalidInputError(AISAError, ValueError):
    """Arguments that cannot be sent, found before any request is sent."""


class APIError(AISAError):
    """The gateway (or the provider behind it) answered with an error."""


class BadRequestError(APIError):
    default_hint = "Fix the request; sending it again will fail the same way"


class ContextWindowExceededError(BadRequestError):
    default_hint = "Shorten the input or lower max_tokens, or choose a model with a larger context"


class AuthenticationError(APIError):
    default_hint = "Check AISA_API_KEY (or api_key=): it must be a valid, unrevoked AIsa key"


class InsufficientCreditsError(APIError):
    default_hint = "Top up credits at https://aisa.one or raise this key's spending limit"


class PermissionDeniedError(APIError):
    default_hint = "This key may not use this model or region; check its permissions"


class NotFoundError(APIError):
    pass


class UnknownModelError(NotFoundError):
    default_hint = "Check the model id against `aisa models` (GET /v1/models); ids are exact"


class ConflictError(APIError):
    pass


class UnprocessableEntityError(APIError):
    default_hint = "A parameter is not supported by this model; remove it or pick another model"


class ContentPolicyError(UnprocessableEntityError):
    default_hint = "The provider refused the content under its policy"


class RateLimitError(APIError):
    retryable = True
    default_hint = "Slow down, wait for Retry-After, or add fallback models"


class ServerError(APIError):
    retryable = True


class StreamError(APIError):
    """An in-band ``error`` event inside a 200 stream whose code maps to no narrower class."""

    retryable = True


class APIConnectionError(AISAError):
    retryable = True
    default_hint = "Check the network and AISA_BASE_URL"


class APITimeoutError(APIConnectionError):
    default_hint = "Raise timeout= or try a faster model"


class StreamInterruptedError(APIConnectionError):
    """The connection broke after tokens were delivered; tokens already sent are billed."""

    retryable = False
    default_hint = "The stream cannot be resumed; send the request again if you need the rest"


class MalformedResponseError(AISAError):
    retryable = True


class BudgetExceededError(AISAError):
    """A call would take a ``Budget`` past its limit (refused before anything is sent), or the
    gateway's estimate is above the per-call price cap (402 ``estimated_price_exceeds_max_price``).
    ``spent``, ``limit`` and ``estimate`` are USD when known."""

    default_hint = "Raise the budget or the price cap, lower max_tokens, or pick a cheaper model"

    def __init__(
        self,
        message: str,
        *,
        spent: float | None = None,
        limit: float | None = None,
        estimate: float | None = None,
        **facts: Any,
    ) -> None:
        super().__init__(message, **facts)
        self.spent = spent
        self.limit = limit
        self.estimate = estimate


class PriceCapExceededError(BudgetExceededError, InsufficientCreditsError):
    """The gateway refused: its estimate is above ``X-AISA-Max-Price-USD`` (402)."""

    default_hint = BudgetExceededError.default_hint


class StoreUnavailableError(AISAError):  # a RedisStore asked to raise (or check) got no answer
    default_hint = "Check Redis and AISA_REDIS_URL, or use on_store_error='local'"


@dataclass(frozen=True)
class Attempt:
    """One failed try in a fallback chain."""

    model: str
    error: AISAError


class AllModelsFailedError(AISAError):
    """Every model of a fallback chain failed; ``attempts`` lists each failure in order."""

    def __init__(self, attempts: Sequence[Attempt], *, skipped: Sequence[Any] = ()) -> None:
        self.attempts = tuple(attempts)
        self.skipped = tuple(skipped)
        """Models not tried (``aisa_core.attempts.SkippedModel``: cooling down)."""
        lines = "; ".join(
            [f"{a.model}: {type(a.error).__name__}: {a.error.message}" for a in self.attempts]
            + [f"{s.model}: skipped ({s.reason})" for s in self.skipped]
        )
        last = self.attempts[-1].error if self.attempts else None
        super().__init__(
            f"all {len(self.attempts)} attempts failed ({lines})",
            status_code=last.status_code if last else None,
            code=last.code if last else None,
            request_id=last.request_id if last else None,
            model=last.model if last else None,
        )

    @property
    def errors(self) -> tuple[AISAError, ...]:
        return tuple(a.error for a in self.attempts)


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_BY_CODE: dict[str, type[APIError]] = {
    "invalid_request": BadRequestError,
    "missing_parameter": BadRequestError,
    "json_parse_error": BadRequestError,
    "model_route_not_supported": BadRequestError,
    "missing_api_key": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "revoked_api_key": AuthenticationError,
    "insufficient_wallet_balance": InsufficientCreditsError,
    "insufficient_api_key_balance": InsufficientCreditsError,
    "estimated_price_exceeds_max_price": PriceCapExceededError,
    "insufficient_permissions": PermissionDeniedError,
    "model_not_allowed": PermissionDeniedError,
    "region_blocked": PermissionDeniedError,
    "unknown_model": UnknownModelError,
    "model_not_found": UnknownModelError,
    "resource_not_found": NotFoundError,
    "request_in_progress": ConflictError,
    "request_already_completed": ConflictError,
    "max_tokens_exceeded": ContextWindowExceededError,
    "context_length_exceeded": ContextWindowExceededError,
    "unsupported_parameter": UnprocessableEntityError,
    "content_policy_violation": ContentPolicyError,
    "rate_limit_exceeded": RateLimitError,
    "upstream_rate_limit": RateLimitError,
    "quota_exceeded": RateLimitError,
    "upstream_unavailable": ServerError,
    "upstream_timeout": ServerError,
    "provider_unavailable": ServerError,
}

_NO_CHANNEL = re.compile(r"no available channel", re.IGNORECASE)
_CONTEXT = re.compile(
    r"context (length|window)|maximum context|too many tokens|prompt is too long", re.IGNORECASE
)


def classify(status: int | None, code: str | None, message: str) -> type[AISAError]:
    """Pick the error class: a known ``code`` wins over the status, then message patterns."""
    if status == 503 and _NO_CHANNEL.search(message):
        return UnknownModelError
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status in (400, 413, 422) and _CONTEXT.search(message):
        return ContextWindowExceededError
    if status is None:
        return StreamError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: str | bytes | None,
    *,
    model: str | None = None,
) -> AISAError:
    """The one boundary from an HTTP error answer to a typed error."""
    message, code, body_request_id = parse_error_body(body)
    cls = classify(status, code, message)
    lowered = {k.lower(): v for k, v in headers.items()}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    error = cls(
        message,
        status_code=status,
        code=code,
        request_id=body_request_id or lowered.get("x-request-id"),
        retry_after=parse_retry_after(headers),
        model=model,
        body=text,
    )
    return _with_retryable(error, retryable_flag(text))


def _with_retryable(error: AISAError, flag: bool | None) -> AISAError:
    if flag is not None:
        error.retryable = flag
    return error


def error_from_body(data: Mapping[str, Any], *, model: str | None = None) -> AISAError:
    """An in-band ``error`` event: a 200 stream whose event has ``error`` and no ``choices``."""
    message, code, request_id = message_from_mapping(data)
    error = data.get("error")
    status: int | None = None
    if isinstance(error, Mapping) and isinstance(error.get("status"), int):
        status = error["status"]
    cls = classify(status, code, message)
    error = cls(
        message,
        status_code=status,
        code=code,
        request_id=request_id,
        model=model,
        body=safe_dumps(data)[:_BODY_CAP],
    )
    return _with_retryable(error, retryable_flag(data))
