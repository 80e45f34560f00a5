"""The core's errors as langchain-core's standard model errors, mapped in one place.

Each class below subclasses *both* the ``aisa_core`` error it stands for and the
``langchain_core.exceptions`` class LangChain code keys off (agent retry middleware, fallback
filters, ``is_retryable``), so ``except aisa_core.RateLimitError`` and
``except ModelRateLimitError`` both catch a 429::

    aisa_core error                    langchain-core error
    ContextWindowExceededError    ->   ContextOverflowError
    BadRequestError, ConflictError,
    UnprocessableEntityError,
    ContentPolicyError            ->   ModelInvalidRequestError
    AuthenticationError           ->   ModelAuthenticationError
    PermissionDeniedError,
    InsufficientCreditsError,
    BudgetExceededError,
    PriceCapExceededError         ->   ModelPermissionDeniedError (the key may not spend more)
    NotFoundError, UnknownModelError ->  ModelNotFoundError
    RateLimitError                ->   ModelRateLimitError
    ServerError, StreamError, APIError,
    MalformedResponseError,
    AllModelsFailedError,
    StoreUnavailableError         ->   ModelAPIError (not retryable: the shared store is away)
    APITimeoutError               ->   ModelTimeoutError
    APIConnectionError,
    StreamInterruptedError        ->   ModelConnectionError

``is_retryable`` always agrees with the core's ``retryable`` (a broken stream is not
retryable: its tokens were delivered and billed; an error body's own ``retryable`` field wins in
both). ``ConfigurationError`` and
``InvalidInputError`` are not mapped: they are local ``ValueError``s raised before any request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from aisa_core import errors as core

__all__ = [
    "AISAAPIError",
    "AISAAllModelsFailedError",
    "AISAAuthenticationError",
    "AISABadRequestError",
    "AISABudgetExceededError",
    "AISAConflictError",
    "AISAConnectionError",
    "AISAContentPolicyError",
    "AISAContextOverflowError",
    "AISAInsufficientCreditsError",
    "AISAMalformedResponseError",
    "AISANotFoundError",
    "AISAPermissionDeniedError",
    "AISAPriceCapExceededError",
    "AISARateLimitError",
    "AISAServerError",
    "AISAStoreUnavailableError",
    "AISAStreamError",
    "AISAStreamInterruptedError",
    "AISATimeoutError",
    "AISAUnknownModelError",
    "AISAUnprocessableEntityError",
    "map_error",
    "mapped_errors",
]


class AISABadRequestError(core.BadRequestError, ModelInvalidRequestError):
    """400: the request cannot succeed as sent."""


class AISAContextOverflowError(core.ContextWindowExceededError, ContextOverflowError):
    """The input (or ``max_tokens``) does not fit the model's context window."""


class AISAAuthenticationError(core.AuthenticationError, ModelAuthenticationError):
    """401: a missing, invalid or revoked AIsa key."""


class AISAInsufficientCreditsError(core.InsufficientCreditsError, ModelPermissionDeniedError):
    """402: the wallet or the key's spending limit is exhausted."""


class AISABudgetExceededError(core.BudgetExceededError, ModelPermissionDeniedError):
    """A ``Budget`` would be exceeded: refused before anything was sent."""


class AISAPriceCapExceededError(core.PriceCapExceededError, ModelPermissionDeniedError):
    """402: the gateway's estimate is above the per-call price cap."""


class AISAPermissionDeniedError(core.PermissionDeniedError, ModelPermissionDeniedError):
    """403: the key may not use this model or region."""


class AISANotFoundError(core.NotFoundError, ModelNotFoundError):
    """404."""


class AISAUnknownModelError(core.UnknownModelError, ModelNotFoundError):
    """An unknown or retired model id (also AIsa's 503 "No available channels")."""


class AISAConflictError(core.ConflictError, ModelInvalidRequestError):
    """409: an idempotency conflict."""


class AISAUnprocessableEntityError(core.UnprocessableEntityError, ModelInvalidRequestError):
    """422: a parameter this model does not support."""


class AISAContentPolicyError(core.ContentPolicyError, ModelInvalidRequestError):
    """422: the provider refused the content under its policy."""


class AISARateLimitError(core.RateLimitError, ModelRateLimitError):
    """429: rate limit or spend cap; ``retry_after`` is set when the gateway said so."""


class AISAServerError(core.ServerError, ModelAPIError):
    """5xx from the gateway or the provider behind it."""


class AISAStreamError(core.StreamError, ModelAPIError):
    """An in-band ``error`` event inside a 200 stream."""


class AISAAPIError(core.APIError, ModelAPIError):
    """Any other error status."""

    is_retryable = False


class AISAMalformedResponseError(core.MalformedResponseError, ModelAPIError):
    """The answer was not the JSON a chat completion should be."""


class AISAAllModelsFailedError(core.AllModelsFailedError, ModelAPIError):
    """Every model of ``fallback_models`` failed; ``attempts`` holds each failure in order."""

    is_retryable = False


class AISAStoreUnavailableError(core.StoreUnavailableError, ModelAPIError):
    """The shared store (Redis) is unreachable and ``on_store_error="raise"``: nothing was sent."""

    is_retryable = False


class AISATimeoutError(core.APITimeoutError, ModelTimeoutError):
    """Connect, read or total timeout."""


class AISAConnectionError(core.APIConnectionError, ModelConnectionError):
    """The request got no answer."""


class AISAStreamInterruptedError(core.StreamInterruptedError, ModelConnectionError):
    """The connection broke after tokens reached the caller (they are billed; no retry)."""

    is_retryable = False


# Most specific first is not needed: lookup walks the error's MRO, so a subclass the core adds
# later still maps to its nearest mapped ancestor.
_MAPPED: dict[type[core.AISAError], type[core.AISAError]] = {
    core.BadRequestError: AISABadRequestError,
    core.ContextWindowExceededError: AISAContextOverflowError,
    core.AuthenticationError: AISAAuthenticationError,
    core.InsufficientCreditsError: AISAInsufficientCreditsError,
    core.BudgetExceededError: AISABudgetExceededError,
    core.PriceCapExceededError: AISAPriceCapExceededError,
    core.PermissionDeniedError: AISAPermissionDeniedError,
    core.NotFoundError: AISANotFoundError,
    core.UnknownModelError: AISAUnknownModelError,
    core.ConflictError: AISAConflictError,
    core.UnprocessableEntityError: AISAUnprocessableEntityError,
    core.ContentPolicyError: AISAContentPolicyError,
    core.RateLimitError: AISARateLimitError,
    core.ServerError: AISAServerError,
    core.StreamError: AISAStreamError,
    core.APIError: AISAAPIError,
    core.MalformedResponseError: AISAMalformedResponseError,
    core.AllModelsFailedError: AISAAllModelsFailedError,
    core.StoreUnavailableError: AISAStoreUnavailableError,
    core.APITimeoutError: AISATimeoutError,
    core.APIConnectionError: AISAConnectionError,
    core.StreamInterruptedError: AISAStreamInterruptedError,
}
_TARGETS = frozenset(_MAPPED.values())


def map_error(error: core.AISAError) -> core.AISAError:
    """The LangChain-facing twin of ``error`` (same message and facts), or ``error`` itself
    when it is already mapped or is a local ``ValueError`` (configuration, invalid input)."""
    if type(error) in _TARGETS:
        return error
    target = next((_MAPPED[c] for c in type(error).__mro__ if c in _MAPPED), None)
    if target is None:
        return error
    mapped = target.__new__(target)
    Exception.__init__(mapped, error.message)
    mapped.__dict__.update(error.__dict__)
    if "retryable" in vars(error) and isinstance(mapped, ModelError):
        mapped.is_retryable = error.retryable  # the gateway's own word, from the error body
    return mapped


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    """Re-raise core errors as their mapped classes, chained to the original."""
    try:
        yield
    except core.AISAError as error:
        mapped = map_error(error)
        if mapped is error:
            raise
        raise mapped from error
