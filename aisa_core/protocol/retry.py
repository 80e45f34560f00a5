"""Retries and fallbacks as data, and the plan that combines them. Pure: nothing here sleeps.

The client asks an ``AttemptPlan`` what to do next after each failure and gets back either the
next ``Step`` (which model, how long to wait first) or the final error. The sync and async
clients share this plan and differ only in how they wait and send.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aisa_core.attempts import SkippedModel
from aisa_core.errors import (
    AISAError,
    AllModelsFailedError,
    APIConnectionError,
    Attempt,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    UnknownModelError,
)

__all__ = ["AttemptPlan", "FallbackOn", "RetryPolicy", "Step", "default_fallback_on"]

FallbackOn = Callable[[AISAError], bool]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending the same request to the same model again.

    AIsa's guidance: retry only 429, 5xx and connection failures; back off exponentially from
    ~1 s with ±25 % jitter, capped. ``Retry-After`` is honoured up to ``max_retry_after``; a
    longer demand is not waited out (the error goes to the fallback or the caller instead).
    """

    max_retries: int = 2
    initial_delay: float = 1.0
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 30.0
    max_total_wait: float = 60.0

    def should_retry(self, error: AISAError, retries_so_far: int) -> bool:
        if retries_so_far >= self.max_retries or not error.retryable:
            return False
        return error.retry_after is None or error.retry_after <= self.max_retry_after

    def delay(self, retries_so_far: int, error: AISAError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retries_so_far + 1``."""
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        base = min(self.max_delay, self.initial_delay * 2.0**retries_so_far)
        return max(0.0, base * (1 + rng.uniform(-self.jitter, self.jitter)))


NO_RETRY = RetryPolicy(max_retries=0)

_FALLBACK_CLASSES = (
    RateLimitError,
    ServerError,
    UnknownModelError,
    APIConnectionError,
    StreamError,
    MalformedResponseError,
)


def default_fallback_on(error: AISAError) -> bool:
    """Move on to the next model for 429, 5xx, unknown model / no channel, connection failures
    and timeouts, never for 400/401/402/403/422 (the next model would fail the same way)."""
    if isinstance(error, StreamInterruptedError):
        return False  # tokens already reached the caller
    return isinstance(error, _FALLBACK_CLASSES)


@dataclass(frozen=True, slots=True)
class Step:
    model: str
    wait: float = 0.0
    retry: int = 0  # 0 for the first try of this model
    route: int = 0  # which of the operation's routes (0 unless a route answered 404)
    force: bool = False  # every model was cooling down: try this one anyway


@dataclass
class AttemptPlan:
    """Walks ``models`` in order, retrying each per ``retry`` before falling back.

    ``retry_before_fallback=False`` skips retries while another model is left (fail over fast),
    and the total of all waits never exceeds ``retry.max_total_wait``. An operation served at
    several ``routes`` (Gemini's current and older paths) tries the next route of the same model
    when one answers a plain 404, before that counts as the model's failure.
    """

    models: Sequence[str]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    fallback_on: FallbackOn = default_fallback_on
    retry_before_fallback: bool = True
    rng: random.Random = field(default_factory=random.Random)
    routes: int = 1
    attempts: list[Attempt] = field(default_factory=list)
    skipped: list[SkippedModel] = field(default_factory=list)
    _position: int = 0
    _retries: int = 0
    _waited: float = 0.0
    _route: int = 0

    def first(self) -> Step:
        return Step(self.models[0])

    @property
    def model(self) -> str:
        return self.models[self._position]

    def after_failure(self, error: AISAError) -> Step:
        """The next step, or raise: the error itself for a single model, else one error with all.

        A failure that is survived stays only as a record (``attempts``), without its
        traceback: its frames hold the call that holds this plan, a reference cycle that would
        keep a dropped stream (and its connection) alive until the garbage collector runs."""
        step = self._next_step(error)
        error.__traceback__ = None
        return step

    def _next_step(self, error: AISAError) -> Step:
        if self._route + 1 < self.routes and _route_missing(error):
            self._route += 1
            return Step(self.model, 0.0, self._retries, self._route)
        self.attempts.append(Attempt(self.model, error))
        has_next = self._position + 1 < len(self.models)
        if self._may_retry(error, has_next):
            wait = self.retry.delay(self._retries, error, self.rng)
            if self._waited + wait <= self.retry.max_total_wait:
                self._retries += 1
                self._waited += wait
                return Step(self.model, wait, self._retries, self._route)
        if not self.fallback_on(error) or len(self.models) == 1:
            raise error  # e.g. a 401: every other model would fail the same way
        if has_next:
            self._position += 1
            self._retries = self._route = 0
            return Step(self.model)
        raise AllModelsFailedError(self.attempts, skipped=self.skipped) from error

    def skip(self, skipped: SkippedModel) -> Step:
        """The current model was not tried (its cooldown, see ``ModelHealth``): the next one;
        when every model of the chain was skipped and none tried, the one whose cooldown ends
        first, tried anyway; else raise, with every failure and skip."""
        self.skipped.append(skipped)
        if self._position + 1 < len(self.models):
            self._position += 1
            self._retries = self._route = 0
            return Step(self.model)
        if not self.attempts:
            first = min(self.skipped, key=lambda s: s.until or 0.0)
            self._position = list(self.models).index(first.model)
            return Step(first.model, force=True)
        if len(self.models) == 1 or (len(self.attempts) == 1 and not self.skipped):
            raise self.attempts[-1].error
        raise AllModelsFailedError(self.attempts, skipped=self.skipped)

    def _may_retry(self, error: AISAError, has_next: bool) -> bool:
        if has_next and not self.retry_before_fallback and self.fallback_on(error):
            return False
        return self.retry.should_retry(error, self._retries)

    @property
    def failures(self) -> tuple[Attempt, ...]:
        return tuple(self.attempts)


def _route_missing(error: AISAError) -> bool:
    """A plain 404 (the route is not there), not "unknown model"."""
    return isinstance(error, NotFoundError) and not isinstance(error, UnknownModelError)
